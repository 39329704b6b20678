//! The data dir's layout: every file name in it is written here and only
//! here, so that start-up, the store, the Hydra supervisor, `doctor` and
//! `backup` cannot disagree on where a file is.

use std::path::{Path, PathBuf};

/// Gatehouse's own database, relative to the data dir.
pub const DATABASE: &str = "gatehouse.sqlite";
/// Hydra's database in supervised mode, relative to the data dir.
pub const HYDRA_DATABASE: &str = "hydra/hydra.sqlite";
/// The directory of generated secrets (mode 0700), relative to the data dir.
pub const SECRETS: &str = "secrets";
const HYDRA: &str = "hydra";
const LOCK: &str = "gatehouse.lock";

/// A data dir (`data_dir` in the config) and the paths of what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Gatehouse's SQLite database.
    pub fn database(&self) -> PathBuf {
        self.root.join(DATABASE)
    }

    /// Held (flock) by the one process that may use this data dir.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join(LOCK)
    }

    pub fn secrets(&self) -> PathBuf {
        self.root.join(SECRETS)
    }

    /// Keys the hashes of sign-in codes.
    pub fn otp_secret(&self) -> PathBuf {
        self.secrets().join("otp.secret")
    }

    /// Keys the login pages' CSRF tokens.
    pub fn csrf_secret(&self) -> PathBuf {
        self.secrets().join("csrf.secret")
    }

    /// The supervised Hydra's own directory (its config file and database).
    pub fn hydra(&self) -> PathBuf {
        self.root.join(HYDRA)
    }

    pub fn hydra_database(&self) -> PathBuf {
        self.root.join(HYDRA_DATABASE)
    }

    pub fn hydra_config(&self) -> PathBuf {
        self.hydra().join("hydra.yaml")
    }

    pub fn hydra_system_secret(&self) -> PathBuf {
        self.secrets().join("hydra-system.secret")
    }

    pub fn hydra_cookie_secret(&self) -> PathBuf {
        self.secrets().join("hydra-cookie.secret")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names_match_the_paths() {
        let dir = DataDir::new("/var/lib/gatehouse");
        assert_eq!(dir.database(), dir.root().join(DATABASE));
        assert_eq!(dir.hydra_database(), dir.root().join(HYDRA_DATABASE));
        assert!(dir.hydra_database().starts_with(dir.hydra()));
        assert!(dir.otp_secret().starts_with(dir.root().join(SECRETS)));
    }
}
