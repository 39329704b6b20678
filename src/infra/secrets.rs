//! Secrets generated on first start and kept in the data dir with mode 0600.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use rand::RngCore;

/// Returns the secret stored at `path`, creating it (32 random bytes, hex) on
/// first use. An existing file with loose permissions is tightened to 0600.
pub fn load_or_create(path: &Path) -> io::Result<String> {
    refuse_symlink(path)?;
    match fs::read_to_string(path) {
        Ok(secret) => {
            let secret = secret.trim().to_string();
            if secret.len() < 32 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "secret file {} is shorter than 32 characters; remove it to generate a new one",
                        path.display()
                    ),
                ));
            }
            if fs::metadata(path)?.permissions().mode() & 0o077 != 0 {
                fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
            }
            Ok(secret)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let secret = hex::encode(bytes);
            write_private(path, secret.as_bytes())?;
            Ok(secret)
        }
        Err(e) => Err(e),
    }
}

/// Writes a file readable by its owner only, replacing it atomically.
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    fs::rename(&tmp, path)
}

/// Creates a directory inside the data dir readable by its owner only (or
/// tightens an existing one). A symlink there is refused, never followed:
/// gatehouse (or root running `restore`) must not chmod a directory
/// elsewhere.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    refuse_symlink(path)?;
    create_data_dir(path)
}

/// [`create_private_dir`] for the data dir itself, which may be a link the
/// operator made (e.g. /var/lib/gatehouse -> /srv/gatehouse).
pub fn create_data_dir(path: &Path) -> io::Result<()> {
    fs::create_dir_all(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
}

/// An error when `path` is a symbolic link (nothing there is fine).
fn refuse_symlink(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is a symbolic link; gatehouse does not follow links inside its data dir: \
                 replace it with the file or directory itself",
                path.display()
            ),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("system.secret");
        let first = load_or_create(&path).unwrap();
        assert_eq!(first.len(), 64);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create(&path).unwrap(), first);
        let other = load_or_create(&dir.path().join("cookie.secret")).unwrap();
        assert_ne!(other, first);
    }

    #[test]
    fn loose_permissions_are_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.secret");
        fs::write(&path, "x".repeat(64)).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        load_or_create(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn symlinks_in_the_data_dir_are_refused_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("elsewhere");
        fs::write(&target, "x".repeat(64)).unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).unwrap();
        let data = tempfile::tempdir().unwrap();
        let link = data.path().join("otp.secret");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = load_or_create(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "the file behind the link is untouched");

        let dir_link = data.path().join("secrets");
        std::os::unix::fs::symlink(outside.path(), &dir_link).unwrap();
        let before = fs::metadata(outside.path()).unwrap().permissions().mode();
        let err = create_private_dir(&dir_link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(
            fs::metadata(outside.path()).unwrap().permissions().mode(),
            before
        );

        // The data dir itself may be a link the operator made.
        let root_link = outside.path().join("data-link");
        std::os::unix::fs::symlink(data.path(), &root_link).unwrap();
        create_data_dir(&root_link).unwrap();
    }

    #[test]
    fn truncated_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.secret");
        fs::write(&path, "short").unwrap();
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("shorter than 32"), "{err}");
    }
}
