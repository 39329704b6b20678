//! `[consent]`: which apps skip the consent page, and for how long a
//! decision is remembered.

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentConfig {
    /// Client ids whose consent is given without asking (first-party apps).
    pub trusted_clients: Vec<String>,
    /// How long "remember this decision" lasts.
    #[serde(with = "humantime_serde")]
    pub remember_for: Duration,
}

impl Default for ConsentConfig {
    fn default() -> Self {
        ConsentConfig {
            trusted_clients: Vec::new(),
            remember_for: Duration::from_secs(180 * 24 * 3600),
        }
    }
}
