//! `[metrics]`: the Prometheus endpoint, off the public port.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Where `GET /metrics` (Prometheus text) is served; unset = off.
    pub listen: Option<SocketAddr>,
}

impl MetricsConfig {
    /// `server_listen`: the public listener, which metrics must not share.
    pub(super) fn validate(&self, server_listen: SocketAddr) -> Result<(), ConfigError> {
        if self.listen == Some(server_listen) {
            return Err(ConfigError::key(
                "metrics.listen",
                "must differ from server.listen (metrics stay off the public port)",
            ));
        }
        Ok(())
    }
}
