//! `gatehouse --version`: gatehouse's version and git commit, the pinned
//! Hydra version (the one the packages bundle), and what the configured
//! `hydra.binary` reports when it exists.

use std::time::Duration;

use crate::config::{Config, ConfigError, HydraMode};
use crate::hydra::version::{binary_version, BinaryVersionError};
use crate::hydra::PINNED_VERSION;

/// The commit gatehouse was built from (build.rs), or "unknown".
pub const GIT_COMMIT: &str = env!("BUILD_GIT_COMMIT");

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The lines `--version` prints. The configuration is only read for
/// `hydra.binary`; one that does not load is reported, not fatal.
pub async fn lines(config: Result<&Config, &ConfigError>) -> Vec<String> {
    let mut lines = vec![
        format!("gatehouse {}", env!("CARGO_PKG_VERSION")),
        format!("commit {GIT_COMMIT}"),
        format!("hydra {PINNED_VERSION} (pinned: the version gatehouse is built for and bundles)"),
    ];
    lines.push(match config {
        Err(e) => format!("hydra.binary: not checked, the configuration does not load: {e}"),
        Ok(config) if matches!(config.hydra.mode, HydraMode::External { .. }) => {
            "hydra.binary: not used (hydra.mode = \"external\")".to_string()
        }
        Ok(config) => {
            let binary = config.hydra.binary.display();
            match binary_version(&config.hydra.binary, PROBE_TIMEOUT).await {
                Ok(version) if version == PINNED_VERSION => {
                    format!("hydra.binary {binary}: {version}")
                }
                Ok(version) => format!(
                    "hydra.binary {binary}: {version} (not the pinned {PINNED_VERSION}; \
                     `gatehouse doctor` says what to do)"
                ),
                Err(BinaryVersionError::Missing(_)) => format!("hydra.binary {binary}: not found"),
                Err(e) => format!("hydra.binary: {e}"),
            }
        }
    });
    lines
}
