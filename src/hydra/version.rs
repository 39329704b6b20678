//! Which Hydra: the version gatehouse is built and tested against (the one
//! scripts/install-hydra builds and the packages bundle), and the version a
//! Hydra executable reports.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// The Hydra version gatehouse is designed and tested against; the default
/// `HYDRA_VERSION` of scripts/install-hydra (a test keeps the two equal).
pub const PINNED_VERSION: &str = "v2.3.0";

#[derive(Debug, thiserror::Error)]
pub enum BinaryVersionError {
    #[error("{0} is missing or not an executable file")]
    Missing(String),
    #[error("cannot run `{binary} version`: {source}")]
    Run {
        binary: String,
        source: std::io::Error,
    },
    #[error("`{binary} version` did not answer within {timeout:?}")]
    Timeout { binary: String, timeout: Duration },
}

/// The version `binary version` prints on its `Version:` line ("unknown"
/// when there is none), run with an empty environment.
pub async fn binary_version(
    binary: &Path,
    timeout: Duration,
) -> Result<String, BinaryVersionError> {
    let name = binary.display().to_string();
    let executable = std::fs::metadata(binary)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false);
    if !executable {
        return Err(BinaryVersionError::Missing(name));
    }
    let mut command = tokio::process::Command::new(binary);
    command
        .arg("version")
        .env_clear()
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let output = match tokio::time::timeout(timeout, command.output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(source)) => {
            return Err(BinaryVersionError::Run {
                binary: name,
                source,
            })
        }
        Err(_) => {
            return Err(BinaryVersionError::Timeout {
                binary: name,
                timeout,
            })
        }
    };
    Ok(version_line(&String::from_utf8_lossy(&output.stdout)))
}

/// `Version:    v2.3.0` in `hydra version`'s output.
fn version_line(text: &str) -> String {
    text.lines()
        .find_map(|line| line.trim().strip_prefix("Version:"))
        .map(str::trim)
        .filter(|version| !version.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_line() {
        let text = "Version:    v2.3.0\nGit Hash:   undefined\nBuild Time: undefined\n";
        assert_eq!(version_line(text), "v2.3.0");
        assert_eq!(version_line("something else\n"), "unknown");
    }

    #[test]
    fn the_pin_is_install_hydras_default() {
        let script = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/install-hydra"
        ))
        .unwrap();
        let default = format!("HYDRA_VERSION=\"${{HYDRA_VERSION:-{PINNED_VERSION}}}\"");
        assert!(
            script.lines().any(|line| line.trim() == default),
            "scripts/install-hydra must pin {PINNED_VERSION} as `{default}`"
        );
    }

    #[tokio::test]
    async fn a_missing_binary_is_named() {
        let err = binary_version(Path::new("/nonexistent/hydra"), Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/hydra"), "{err}");
    }
}
