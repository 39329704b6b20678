//! `gatehouse backup DIR` and `gatehouse restore DIR`.
//!
//! A backup is a directory laid out like the data dir: `gatehouse.sqlite`,
//! `hydra/hydra.sqlite` (supervised mode) and `secrets/*`, plus a
//! `manifest.json` with versions, time and a SHA-256 of every file. The
//! databases are copied with SQLite's online backup API, so gatehouse and
//! Hydra keep serving while it runs. The manifest is written last: a
//! directory without one is not a finished backup.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::{Config, HydraMode};
use crate::hydra::config_file::HydraPaths;
use crate::infra::data_dir::{DataDir, DATABASE, HYDRA_DATABASE, SECRETS};
use crate::infra::lock::{self, LockError};
use crate::infra::secrets::{create_data_dir, create_private_dir};
use crate::store;
use crate::store::file::{copy_database, FileError};

pub const MANIFEST: &str = "manifest.json";
const FORMAT: u32 = 1;
/// How long a copy waits for a database that stays locked.
const BUSY_PATIENCE: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("nothing to back up: {0} does not exist (is `data_dir` right?)")]
    MissingDatabase(PathBuf),
    #[error("{0} exists and is not empty; give a new directory for the backup")]
    TargetNotEmpty(PathBuf),
    #[error("{dir}/manifest.json: {problem}")]
    Manifest { dir: PathBuf, problem: String },
    #[error("backup {dir} is damaged: {file} does not match its checksum in manifest.json")]
    Checksum { dir: PathBuf, file: String },
    #[error(
        "backup {dir} was made by a newer gatehouse (schema version {found}, this binary \
         knows up to {known}); restore it with that version"
    )]
    TooNew {
        dir: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "data dir {0} is not empty; add --force to replace its databases and secrets with the backup"
    )]
    DataDirNotEmpty(PathBuf),
    #[error(
        "gatehouse's database is on PostgreSQL (database.url): `gatehouse {0}` copies SQLite \
         files only; use pg_dump and pg_restore (of Hydra's database too when it is there), and \
         keep a copy of data_dir/secrets/"
    )]
    OnPostgres(&'static str),
    #[error(
        "the supervised Hydra's database is on PostgreSQL (hydra.dsn): `gatehouse {0}` copies \
         SQLite files only; use pg_dump and pg_restore for Hydra's database, sqlite3's .backup \
         for gatehouse's own file, and keep a copy of data_dir/secrets/"
    )]
    HydraOnPostgres(&'static str),
    #[error(transparent)]
    Database(#[from] FileError),
    #[error(transparent)]
    Lock(#[from] LockError),
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub gatehouse_version: String,
    /// Gatehouse's database schema (its newest applied migration).
    pub schema_version: i64,
    /// Hydra's newest applied migration, when Hydra's database is included.
    pub hydra_schema_version: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the backup (and data) directory.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Manifest {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// Backups of files say so when the database is not a file.
fn refuse_postgres(config: &Config, command: &'static str) -> Result<(), BackupError> {
    match crate::store::database_location(config) {
        Ok(location) if location.is_postgres() => Err(BackupError::OnPostgres(command)),
        _ if config.hydra.dsn.is_some() => Err(BackupError::HydraOnPostgres(command)),
        _ => Ok(()),
    }
}

/// Copies the data dir's databases and secrets into `target` (new or empty).
pub fn backup(config: &Config, target: &Path) -> Result<Manifest, BackupError> {
    refuse_postgres(config, "backup")?;
    let data_dir = &config.data_dir;
    let gatehouse_db = data_dir.join(DATABASE);
    if !gatehouse_db.is_file() {
        return Err(BackupError::MissingDatabase(gatehouse_db));
    }
    let hydra_db = match config.hydra.mode {
        HydraMode::Supervised => Some(HydraPaths::new(data_dir).database),
        // Hydra's database belongs to whoever runs that Hydra.
        HydraMode::External { .. } => None,
    };
    if let Some(hydra_db) = hydra_db.as_ref().filter(|p| !p.is_file()) {
        return Err(BackupError::MissingDatabase(hydra_db.clone()));
    }
    if is_non_empty_dir(target).map_err(io_error(target))? {
        return Err(BackupError::TargetNotEmpty(target.to_path_buf()));
    }
    create_private_dir(target).map_err(io_error(target))?;

    let mut files = Vec::new();
    let copy = copy_database(&gatehouse_db, &target.join(DATABASE), BUSY_PATIENCE)?;
    let schema_version = copy
        .schema_version()
        .map_err(|e| BackupError::Manifest {
            dir: target.to_path_buf(),
            problem: e.to_string(),
        })?
        .unwrap_or(0);
    drop(copy);
    files.push(DATABASE.to_string());

    let mut hydra_schema_version = None;
    if let Some(hydra_db) = hydra_db {
        let dir = target.join("hydra");
        create_private_dir(&dir).map_err(io_error(&dir))?;
        let copy = copy_database(&hydra_db, &target.join(HYDRA_DATABASE), BUSY_PATIENCE)?;
        hydra_schema_version = copy.hydra_migration();
        files.push(HYDRA_DATABASE.to_string());
    }

    let secrets = data_dir.join(SECRETS);
    if secrets.is_dir() {
        let dir = target.join(SECRETS);
        create_private_dir(&dir).map_err(io_error(&dir))?;
        for name in secret_names(&secrets)? {
            copy_new_private(&secrets.join(&name), &dir.join(&name))?;
            files.push(format!("{SECRETS}/{name}"));
        }
    }

    let files = files
        .into_iter()
        .map(|path| describe_file(target, path))
        .collect::<Result<Vec<_>, _>>()?;
    let manifest = Manifest {
        format: FORMAT,
        gatehouse_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version,
        hydra_schema_version,
        created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        files,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| BackupError::Manifest {
        dir: target.to_path_buf(),
        problem: e.to_string(),
    })?;
    let path = target.join(MANIFEST);
    write_new_private(&path, text.as_bytes()).map_err(io_error(&path))?;
    sync_dir(target)?;
    Ok(manifest)
}

/// Regular files in the secrets dir, leaving out half-written `*.tmp` files.
fn secret_names(dir: &Path) -> Result<Vec<String>, BackupError> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let file_type = entry.file_type().map_err(io_error(&entry.path()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if file_type.is_file() && !name.ends_with(".tmp") && valid_secret_name(&name) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

fn describe_file(dir: &Path, path: String) -> Result<FileEntry, BackupError> {
    let full = dir.join(&path);
    let (bytes, sha256) = sha256_file(&full).map_err(io_error(&full))?;
    Ok(FileEntry {
        path,
        bytes,
        sha256,
    })
}

fn sha256_file(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// Reads `dir/manifest.json` and checks every file against it.
pub fn verify(dir: &Path) -> Result<Manifest, BackupError> {
    let manifest_error = |problem: String| BackupError::Manifest {
        dir: dir.to_path_buf(),
        problem,
    };
    let path = dir.join(MANIFEST);
    let text = fs::read_to_string(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => {
            manifest_error("missing; this is not a finished gatehouse backup".into())
        }
        _ => manifest_error(e.to_string()),
    })?;
    let manifest: Manifest =
        serde_json::from_str(&text).map_err(|e| manifest_error(e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(manifest_error(format!(
            "format {} is not supported (expected {FORMAT})",
            manifest.format
        )));
    }
    if !manifest.files.iter().any(|f| f.path == DATABASE) {
        return Err(manifest_error(format!("does not list {DATABASE}")));
    }
    if let Some(file) = manifest.files.iter().find(|f| !valid_backup_path(&f.path)) {
        return Err(manifest_error(format!(
            "lists `{}`, which is not a file gatehouse backs up",
            file.path
        )));
    }
    for file in &manifest.files {
        let full = dir.join(&file.path);
        let (bytes, sha256) = sha256_file(&full).map_err(io_error(&full))?;
        if bytes != file.bytes || sha256 != file.sha256 {
            return Err(BackupError::Checksum {
                dir: dir.to_path_buf(),
                file: file.path.clone(),
            });
        }
    }
    let known = store::known_schema_version();
    if manifest.schema_version > known {
        return Err(BackupError::TooNew {
            dir: dir.to_path_buf(),
            found: manifest.schema_version,
            known,
        });
    }
    Ok(manifest)
}

/// The manifest is input: only the files a backup contains may be written,
/// and only inside the data dir.
fn valid_backup_path(path: &str) -> bool {
    if path == DATABASE || path == HYDRA_DATABASE {
        return true;
    }
    match path.split_once('/') {
        Some((SECRETS, name)) => valid_secret_name(name),
        _ => false,
    }
}

fn valid_secret_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains('/')
}

/// Puts a verified backup in place in the configured data dir.
pub fn restore(config: &Config, source: &Path, force: bool) -> Result<Manifest, BackupError> {
    refuse_postgres(config, "restore")?;
    let manifest = verify(source)?;
    let data_dir = &config.data_dir;
    create_data_dir(data_dir).map_err(io_error(data_dir))?;
    // Held until the files are in place: a `serve` starting meanwhile refuses.
    let _lock = lock::acquire(data_dir)?;
    let lock_file = DataDir::new(data_dir).lock_file();
    let has_content = fs::read_dir(data_dir)
        .map_err(io_error(data_dir))?
        .filter_map(Result::ok)
        .any(|entry| entry.path() != lock_file);
    if has_content && !force {
        return Err(BackupError::DataDirNotEmpty(data_dir.to_path_buf()));
    }
    let owner = restored_owner(data_dir)?;
    if force {
        // Old secrets must not outlive the databases they belong to.
        let secrets = data_dir.join(SECRETS);
        if secrets.is_dir() {
            fs::remove_dir_all(&secrets).map_err(io_error(&secrets))?;
        }
    }
    for file in &manifest.files {
        let target = data_dir.join(&file.path);
        if let Some(parent) = target.parent().filter(|p| *p != data_dir.as_path()) {
            create_private_dir(parent).map_err(io_error(parent))?;
            chown(parent, owner)?;
        }
        place(&source.join(&file.path), &target, owner)?;
    }
    sync_dir(data_dir)?;
    Ok(manifest)
}

/// When root restores into a dir owned by the service user, the files must
/// belong to that user too, or the service cannot open them.
fn restored_owner(data_dir: &Path) -> Result<Option<(u32, u32)>, BackupError> {
    let metadata = fs::metadata(data_dir).map_err(io_error(data_dir))?;
    let root = rustix::process::geteuid().is_root();
    Ok((root && metadata.uid() != 0).then(|| (metadata.uid(), metadata.gid())))
}

fn chown(path: &Path, owner: Option<(u32, u32)>) -> Result<(), BackupError> {
    match owner {
        Some((uid, gid)) => {
            // lchown: a link is handed over as a link, never what it names.
            std::os::unix::fs::lchown(path, Some(uid), Some(gid)).map_err(io_error(path))
        }
        None => Ok(()),
    }
}

/// Copies one file to `target` atomically with mode 0600. A database's old
/// `-wal`/`-shm` files go first: SQLite would replay them onto the copy.
fn place(from: &Path, target: &Path, owner: Option<(u32, u32)>) -> Result<(), BackupError> {
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = target.with_file_name(format!(".{file_name}.restoring"));
    let _ = fs::remove_file(&tmp);
    copy_new_private(from, &tmp)?;
    chown(&tmp, owner)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let stale = target.with_file_name(format!("{file_name}{suffix}"));
        match fs::remove_file(&stale) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&stale)(e)),
        }
    }
    fs::rename(&tmp, target).map_err(io_error(target))
}

/// Streams `from` into a new 0600 file (databases may be large).
fn copy_new_private(from: &Path, to: &Path) -> Result<(), BackupError> {
    let mut source = File::open(from).map_err(io_error(from))?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(io_error(to))?;
    io::copy(&mut source, &mut file).map_err(io_error(to))?;
    file.sync_all().map_err(io_error(to))
}

fn write_new_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

fn is_non_empty_dir(path: &Path) -> io::Result<bool> {
    match fs::read_dir(path) {
        Ok(mut entries) => Ok(entries.next().is_some()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_files_may_be_restored() {
        for ok in [
            "gatehouse.sqlite",
            "hydra/hydra.sqlite",
            "secrets/otp.secret",
        ] {
            assert!(valid_backup_path(ok), "{ok}");
        }
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "secrets/../../x",
            "secrets/",
            "secrets/.hidden",
            "hydra/hydra.yaml",
            "other.sqlite",
        ] {
            assert!(!valid_backup_path(bad), "{bad}");
        }
    }

    fn config_for(data_dir: &Path) -> Config {
        let mut config = Config {
            data_dir: data_dir.to_path_buf(),
            ..Config::default()
        };
        config.hydra.mode = HydraMode::External {
            admin_url: "http://127.0.0.1:9/".parse().unwrap(),
            public_url: "http://127.0.0.1:9/".parse().unwrap(),
            ca_file: None,
        };
        config
    }

    #[test]
    fn backup_verify_restore_round_trip_without_hydra() {
        let data = tempfile::tempdir().unwrap();
        let store = store::Store::open(&data.path().join(DATABASE)).unwrap();
        drop(store);
        create_private_dir(&data.path().join(SECRETS)).unwrap();
        crate::infra::secrets::load_or_create(&data.path().join("secrets/otp.secret")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let target = out.path().join("b");
        let made = backup(&config_for(data.path()), &target).unwrap();
        assert_eq!(made.files.len(), 2, "{made:?}");
        assert_eq!(made.schema_version, store::known_schema_version());

        // A second backup into the same directory is refused.
        let err = backup(&config_for(data.path()), &target).unwrap_err();
        assert!(matches!(err, BackupError::TargetNotEmpty(_)), "{err}");

        let fresh = tempfile::tempdir().unwrap();
        let restored_dir = fresh.path().join("data");
        restore(&config_for(&restored_dir), &target, false).unwrap();
        assert_eq!(
            fs::read(restored_dir.join("secrets/otp.secret")).unwrap(),
            fs::read(data.path().join("secrets/otp.secret")).unwrap()
        );
        // Now non-empty: refused without --force, accepted with it.
        let err = restore(&config_for(&restored_dir), &target, false).unwrap_err();
        assert!(matches!(err, BackupError::DataDirNotEmpty(_)), "{err}");
        restore(&config_for(&restored_dir), &target, true).unwrap();
    }

    #[test]
    fn a_tampered_manifest_path_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = serde_json::json!({
            "format": 1, "gatehouse_version": "0", "schema_version": 1,
            "hydra_schema_version": null, "created_at": "2024-01-01T00:00:00Z",
            "files": [
                {"path": "gatehouse.sqlite", "bytes": 0, "sha256": ""},
                {"path": "../escape", "bytes": 0, "sha256": ""}
            ]
        });
        fs::write(dir.path().join(MANIFEST), manifest.to_string()).unwrap();
        let err = verify(dir.path()).unwrap_err().to_string();
        assert!(err.contains("../escape"), "{err}");
    }
}
