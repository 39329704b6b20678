//! `[audit]`: the audit trail in gatehouse's database.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// How long a row is kept; the clean-up job removes older ones.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            retention: Duration::from_secs(90 * 86_400),
        }
    }
}

impl AuditConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.retention < Duration::from_secs(3600) {
            return Err(ConfigError::key("audit.retention", "must be at least 1h"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{assert_names_key, from_toml};

    #[test]
    fn retention_is_checked() {
        assert_names_key("[audit]\nretention = \"5m\"\n", "`audit.retention`");
        assert_names_key("[audit]\nretention = \"soon\"\n", "`audit.retention`");
        let config = from_toml("[audit]\nretention = \"30days\"\n").unwrap();
        assert_eq!(config.audit.retention.as_secs(), 30 * 86_400);
    }
}
