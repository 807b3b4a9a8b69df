//! Which plan files a list of command-line paths means: files as given, directories expanded
//! to the `*.toml` files directly inside them, in name order.

use std::io;
use std::path::{Path, PathBuf};

/// A path argument that names no plan.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{}: no such file or directory", .path.display())]
    NotFound { path: PathBuf },
    #[error("{}: the directory holds no plan files (`*.toml`)", .path.display())]
    EmptyDirectory { path: PathBuf },
    #[error("cannot read {}: {source}", .path.display())]
    Unreadable { path: PathBuf, source: io::Error },
}

/// Expands `paths` to plan files: a file stands for itself (whatever its extension), a
/// directory for every `*.toml` file directly inside it, sorted by name. A file named twice is
/// kept once, where it first appears.
pub fn plan_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, DiscoverError> {
    let mut files: Vec<PathBuf> = Vec::new();
    for path in paths {
        let found = if path.is_dir() {
            let inside = toml_files_in(path)?;
            if inside.is_empty() {
                return Err(DiscoverError::EmptyDirectory { path: path.clone() });
            }
            inside
        } else if path.exists() {
            vec![path.clone()]
        } else {
            return Err(DiscoverError::NotFound { path: path.clone() });
        };
        for file in found {
            if !files.contains(&file) {
                files.push(file);
            }
        }
    }
    Ok(files)
}

fn toml_files_in(dir: &Path) -> Result<Vec<PathBuf>, DiscoverError> {
    let unreadable = |source| DiscoverError::Unreadable {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        let is_toml = path.extension().is_some_and(|ext| ext == "toml");
        if is_toml && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_means_its_toml_files_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["0002_b.toml", "0001_a.toml", "notes.md", "0010_c.toml"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.toml")).unwrap();
        let files = plan_files(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["0001_a.toml", "0002_b.toml", "0010_c.toml"]);
    }

    #[test]
    fn files_are_kept_as_given_and_once() {
        let dir = tempfile::tempdir().unwrap();
        let plan = dir.path().join("plan.txt");
        std::fs::write(&plan, "").unwrap();
        let files = plan_files(&[plan.clone(), plan.clone()]).unwrap();
        assert_eq!(files, [plan]);
    }

    #[test]
    fn missing_paths_and_empty_directories_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.toml");
        let error = plan_files(&[missing]).unwrap_err();
        assert!(matches!(error, DiscoverError::NotFound { .. }), "{error}");
        assert!(error.to_string().contains("no such file or directory"));
        let error = plan_files(&[dir.path().to_path_buf()]).unwrap_err();
        assert!(
            matches!(error, DiscoverError::EmptyDirectory { .. }),
            "{error}"
        );
    }
}
