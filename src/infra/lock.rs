//! One gatehouse per data dir: `serve` (and `restore`) hold an exclusive
//! flock(2) (std's `File::try_lock`) on `data_dir/gatehouse.lock` for as
//! long as they run.
//!
//! The kernel drops the lock when the process dies, however it dies, so a
//! stale lock file never blocks a restart. The holder's pid is written into
//! the file for messages only; the lock itself is the truth.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::data_dir::DataDir;

/// `doctor` and `restore` probe the lock briefly; a `serve` starting at that
/// very moment retries for this long before calling the dir busy.
const ACQUIRE_PATIENCE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "data dir {dir} is in use by a running gatehouse{}; stop it first \
         (e.g. systemctl stop gatehouse)",
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Held { dir: PathBuf, pid: Option<u32> },
    #[error("cannot lock {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// The exclusive lock on a data dir; released when dropped.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Takes the exclusive lock on `data_dir` (which must exist), or says who holds it.
pub fn acquire(data_dir: &Path) -> Result<DataDirLock, LockError> {
    let path = DataDir::new(data_dir).lock_file();
    let io_error = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    // No truncate on open: the pid of a current holder must stay readable.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io_error)?;
    let deadline = std::time::Instant::now() + ACQUIRE_PATIENCE;
    loop {
        match held(file.try_lock()) {
            Ok(true) => break,
            Ok(false) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Ok(false) => {
                return Err(LockError::Held {
                    dir: data_dir.to_path_buf(),
                    pid: read_pid(&mut file),
                })
            }
            Err(source) => return Err(io_error(source)),
        }
    }
    file.set_len(0).map_err(io_error)?;
    file.rewind().map_err(io_error)?;
    writeln!(file, "{}", std::process::id()).map_err(io_error)?;
    Ok(DataDirLock { _file: file })
}

/// Whether a gatehouse holds the lock on `data_dir`: `Some(pid)` (pid when
/// known, else 0) or None. Never creates anything.
pub fn holder(data_dir: &Path) -> Result<Option<u32>, LockError> {
    let path = DataDir::new(data_dir).lock_file();
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(LockError::Io { path, source }),
    };
    // A shared lock succeeds exactly when nobody holds the exclusive one.
    match held(file.try_lock_shared()) {
        Ok(true) => Ok(None),
        Ok(false) => Ok(Some(read_pid(&mut file).unwrap_or(0))),
        Err(source) => Err(LockError::Io { path, source }),
    }
}

/// A try-lock's answer: Ok(false) when another open file holds a
/// conflicting lock.
fn held(attempt: Result<(), TryLockError>) -> io::Result<bool> {
    match attempt {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(error)) => Err(error),
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.rewind().ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()).unwrap(), None);
        let lock = acquire(dir.path()).unwrap();
        assert_eq!(holder(dir.path()).unwrap(), Some(std::process::id()));
        let err = acquire(dir.path()).unwrap_err();
        assert!(matches!(err, LockError::Held { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("in use by a running gatehouse"), "{text}");
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(lock);
        assert_eq!(holder(dir.path()).unwrap(), None);
        let _again = acquire(dir.path()).unwrap();
    }
}
