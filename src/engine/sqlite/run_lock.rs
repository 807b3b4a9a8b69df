//! The SQLite run lock: an exclusive OS file lock on `<database>.bellows-lock`, next to the
//! database file, so that two bellows runs against one database never interleave.
//!
//! The operating system drops the lock when the process ends in any way (including `kill -9`),
//! so a crashed run never leaves the database locked. The holder writes its pid and command into
//! the file, which a second run reads to name it. A lock row inside the database would not
//! vanish with a killed process; this does.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The lock file of the database at `database`: `app.db` → `app.db.bellows-lock`.
pub fn lock_path(database: &Path) -> PathBuf {
    let mut path = database.as_os_str().to_owned();
    path.push(".bellows-lock");
    PathBuf::from(path)
}

/// A held run lock. Released by [`HeldLock::release`] or when dropped.
#[derive(Debug)]
pub struct HeldLock {
    file: File,
    path: PathBuf,
}

/// What one try at the lock found.
#[derive(Debug)]
pub enum TryLock {
    Acquired(HeldLock),
    /// Another process holds it; what it wrote about itself.
    HeldBy(String),
}

/// Tries once (without waiting) to take the lock at `path`, writing `holder` into it.
pub fn try_lock(path: &Path, holder: &str) -> io::Result<TryLock> {
    // NOTE: the holder deletes the file when it releases the lock. A run that opened the old
    // file just before and locks it just after would hold a lock on a deleted file while a third
    // run locks the new one; so after locking, check that the path still names the locked file,
    // and start over when it does not.
    for _ in 0..8 {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(TryLock::HeldBy(read_holder(&mut file))),
            Err(TryLockError::Error(error)) => return Err(error),
        }
        if !still_at(&file, path) {
            continue;
        }
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(holder.as_bytes())?;
        file.flush()?;
        return Ok(TryLock::Acquired(HeldLock {
            file,
            path: path.to_path_buf(),
        }));
    }
    Err(io::Error::other(format!(
        "the lock file {} kept being replaced while bellows tried to lock it",
        path.display()
    )))
}

/// Whether another process holds the lock at `path`, without taking it: a shared lock is
/// refused while a run holds its exclusive one, and released at once.
pub fn is_held(path: &Path) -> io::Result<bool> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    match file.try_lock_shared() {
        Ok(()) => {
            file.unlock()?;
            Ok(false)
        }
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(error)) => Err(error),
    }
}

/// "pid 4242 (bellows apply users_email_verified), started 2026-05-01T10:00:00Z".
pub fn describe_holder(command: &str) -> String {
    let started = humantime::format_rfc3339_seconds(SystemTime::now());
    let command = if command.is_empty() {
        "bellows"
    } else {
        command
    };
    format!("pid {} ({command}), started {started}", std::process::id())
}

fn read_holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.read_to_string(&mut text);
    let text = text.trim();
    if text.is_empty() {
        // It locked the file a moment ago and has not written its name yet.
        "a bellows run that has just started".to_string()
    } else {
        text.to_string()
    }
}

#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(locked), Ok(current)) => locked.dev() == current.dev() && locked.ino() == current.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at(_file: &File, _path: &Path) -> bool {
    true
}

impl HeldLock {
    /// Removes the lock file (while still holding the lock, see [`try_lock`]) and unlocks.
    pub fn release(self) -> io::Result<()> {
        // NOTE: Windows cannot delete an open file; there the empty file stays, which is
        // harmless (an unlocked lock file is free).
        if cfg!(unix) {
            match std::fs::remove_file(&self.path) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        } else {
            let _ = self.file.set_len(0);
        }
        self.file.unlock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_sits_next_to_the_database() {
        assert_eq!(
            lock_path(Path::new("data/app.db")),
            PathBuf::from("data/app.db.bellows-lock")
        );
    }

    #[test]
    fn a_second_try_is_refused_and_names_the_holder_until_release() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.db.bellows-lock");
        let TryLock::Acquired(held) = try_lock(&path, "pid 1 (bellows apply a)").unwrap() else {
            panic!("the first try must get the lock");
        };
        match try_lock(&path, "pid 2 (bellows apply b)").unwrap() {
            TryLock::HeldBy(holder) => assert_eq!(holder, "pid 1 (bellows apply a)"),
            TryLock::Acquired(_) => panic!("the lock was taken twice"),
        }
        assert!(is_held(&path).unwrap(), "a held lock is seen as held");
        held.release().unwrap();
        assert!(!is_held(&path).unwrap(), "a released lock is free");
        assert!(!path.exists(), "release removes the lock file");
        let TryLock::Acquired(again) = try_lock(&path, "pid 3").unwrap() else {
            panic!("a released lock is free");
        };
        again.release().unwrap();
    }

    #[test]
    fn dropping_the_handle_frees_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.bellows-lock");
        let first = try_lock(&path, "one").unwrap();
        assert!(matches!(first, TryLock::Acquired(_)));
        drop(first);
        let second = try_lock(&path, "two").unwrap();
        assert!(matches!(second, TryLock::Acquired(_)));
    }

    #[test]
    fn holder_text_names_this_process() {
        let text = describe_holder("bellows apply users");
        assert!(
            text.starts_with(&format!("pid {} (bellows apply users)", std::process::id())),
            "{text}"
        );
    }
}
