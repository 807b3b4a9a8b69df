//! Plan files for tests: a temporary directory to write them in, the fixture corpus, and
//! loading helpers that come in pairs (`check_ok` / `check_err`) so that a test cannot pass
//! without having checked something.

use std::path::{Path, PathBuf};

use bellows::plan::load::{load_path, Loaded};
use bellows::plan::render::render_with;

/// A directory of plan files for one test.
pub struct Plans {
    pub dir: tempfile::TempDir,
}

impl Plans {
    pub fn new() -> Plans {
        Plans {
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    pub fn write(&self, file: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(file);
        std::fs::write(&path, text).expect("write plan");
        path
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Loads a plan by its path relative to the crate root (so paths in messages are relative).
pub fn load(path: &Path) -> Loaded {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let relative = path.strip_prefix(root).unwrap_or(path);
    assert_eq!(
        std::env::current_dir().unwrap(),
        root,
        "integration tests run from the crate root"
    );
    load_path(relative)
}

/// Loads a plan that must have no error (warnings allowed); returns it for further checks.
pub fn check_ok(path: &Path) -> Loaded {
    let loaded = load(path);
    assert!(
        !loaded.has_errors(),
        "{} should load without errors, but:\n{}",
        path.display(),
        rendered(&loaded)
    );
    assert!(loaded.plan.is_some(), "{} gave no plan", path.display());
    loaded
}

/// Loads a plan that must have at least one error.
pub fn check_err(path: &Path) -> Loaded {
    let loaded = load(path);
    assert!(
        loaded.has_errors(),
        "{} should have errors, but:\n{}",
        path.display(),
        rendered(&loaded)
    );
    assert!(
        loaded.plan.is_none(),
        "{} has errors but gave a plan",
        path.display()
    );
    loaded
}

/// Every diagnostic of a plan as a person reads it, colour off; "clean" when there is none.
pub fn rendered(loaded: &Loaded) -> String {
    if loaded.diagnostics.is_empty() {
        return "clean\n".to_string();
    }
    loaded
        .diagnostics
        .iter()
        .map(|d| render_with(&loaded.source, d, false))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `*.toml` files of a fixture directory (relative to the crate root), in name order;
/// never empty.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

/// A fixture's file stem, for snapshot names.
pub fn stem(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}
