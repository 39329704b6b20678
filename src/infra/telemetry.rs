//! Logging set-up: one subscriber for gatehouse and the forwarded Hydra lines.

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber; logs go to stderr (journald picks them up).
pub fn init(log: &LogConfig) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log.level.to_env_filter())
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
