//! The secrets the configuration names: a `<key>_file` that other users
//! can read is a warning (it may be meant: a group shared on purpose); a
//! configuration file that holds secrets and every user can read is a
//! problem.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{ok, problem, warning, Finding};
use crate::config::SecretSources;

/// One finding per loose file, or one `ok` for all; nothing when no secret
/// is read from a file or written in one.
pub(super) fn findings(sources: &SecretSources) -> Vec<Finding> {
    let mut findings: Vec<Finding> = sources.files.iter().filter_map(loose_file).collect();
    findings.extend(config_files(sources).into_iter().filter_map(world_readable));
    if findings.is_empty() {
        let mut fine = Vec::new();
        if !sources.files.is_empty() {
            fine.push("the secret files are readable by their owner only");
        }
        if !sources.inline.is_empty() {
            fine.push("the configuration file that holds secrets is not readable by every user");
        }
        if !fine.is_empty() {
            findings.push(ok(fine.join("; ")));
        }
    }
    findings
}

/// The permission bits of `path`, if it can be read.
fn mode(path: &Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o777)
}

fn loose_file(file: &crate::config::SecretFile) -> Option<Finding> {
    let mode = mode(&file.path)?;
    (mode & 0o077 != 0).then(|| {
        let path = file.path.display();
        warning(
            format!(
                "{path} ({}_file) has mode {mode:04o}: other users can read the secret",
                file.key
            ),
            format!(
                "chmod 600 {path} and chown it to the service user, or hand it over with \
                 systemd's LoadCredential="
            ),
        )
    })
}

/// Each configuration file holding secrets, with the keys it holds.
fn config_files(sources: &SecretSources) -> BTreeMap<PathBuf, Vec<String>> {
    let mut files: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for secret in &sources.inline {
        files
            .entry(secret.path.clone())
            .or_default()
            .push(secret.key.clone());
    }
    files
}

fn world_readable((path, keys): (PathBuf, Vec<String>)) -> Option<Finding> {
    let mode = mode(&path)?;
    (mode & 0o004 != 0).then(|| {
        let path = path.display();
        problem(
            format!(
                "{path} holds secrets ({}) and every user on this host can read it (mode {mode:04o})",
                keys.join(", ")
            ),
            format!(
                "chmod 640 {path} (owner root, group of the service), or move the secrets into \
                 files named by their `_file` keys (systemd's LoadCredential=)"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SecretFile;

    #[test]
    fn loose_secret_files_warn_and_a_world_readable_config_with_secrets_is_a_problem() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, mode: u32| {
            let path = dir.path().join(name);
            std::fs::write(&path, "x").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        };
        let secret = |key: &str, path: &Path| SecretFile {
            key: key.into(),
            path: path.to_path_buf(),
        };
        let private = file("private", 0o600);
        let shared = file("shared", 0o640);
        let config = file("config.toml", 0o644);
        let tidy = SecretSources {
            files: vec![secret("sms.webhook.hmac_secret", &private)],
            inline: vec![],
        };
        assert!(matches!(findings(&tidy)[..], [Finding::Ok(_)]));
        assert!(findings(&SecretSources::default()).is_empty());

        let loose = SecretSources {
            files: vec![
                secret("sms.webhook.hmac_secret", &private),
                secret("directory.sql.url", &shared),
            ],
            inline: vec![
                secret("sms.webhook.bearer_token", &config),
                secret("headless.clients.0.client_secret", &config),
            ],
        };
        let found = findings(&loose);
        let [Finding::Warning { what, .. }, Finding::Problem { what: world, fix }] = &found[..]
        else {
            panic!("{found:?}");
        };
        assert!(what.contains("directory.sql.url_file"), "{what}");
        assert!(what.contains("0640"), "{what}");
        assert!(
            world.contains("sms.webhook.bearer_token, headless.clients.0.client_secret"),
            "{world}"
        );
        assert!(fix.contains("chmod 640"), "{fix}");

        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o640)).unwrap();
        let found = findings(&loose);
        assert!(matches!(found[..], [Finding::Warning { .. }]), "{found:?}");
    }
}
