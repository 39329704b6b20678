//! `[login]`: "keep me signed in".

use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginConfig {
    /// How long "keep me signed in" lasts.
    #[serde(with = "humantime_serde")]
    pub remember_for: Duration,
}

impl Default for LoginConfig {
    fn default() -> Self {
        LoginConfig {
            remember_for: Duration::from_secs(30 * 24 * 3600),
        }
    }
}
