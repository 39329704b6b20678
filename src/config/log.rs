//! `[log]`: what gatehouse logs, and in which format.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tracing_subscriber::EnvFilter;

use super::ConfigError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter, e.g. "info" or "gatehouse=debug,info".
    #[serde(deserialize_with = "log_level")]
    pub level: LogFilter,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".parse().expect("static filter"),
            format: LogFormat::Text,
        }
    }
}

/// A tracing filter, parsed when the configuration is read; printed as written.
#[derive(Clone)]
pub struct LogFilter {
    text: String,
    filter: EnvFilter,
}

impl LogFilter {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn to_env_filter(&self) -> EnvFilter {
        self.filter.clone()
    }
}

impl FromStr for LogFilter {
    type Err = tracing_subscriber::filter::ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(LogFilter {
            text: text.to_string(),
            filter: EnvFilter::try_new(text)?,
        })
    }
}

impl fmt::Debug for LogFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.text, f)
    }
}

impl Serialize for LogFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

fn log_level<'de, D: Deserializer<'de>>(deserializer: D) -> Result<LogFilter, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse()
        .map_err(|e| ConfigError::key("log.level", e).into_de())
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{assert_names_key, from_toml};

    #[test]
    fn the_log_filter_is_parsed_once_and_printed_as_written() {
        let config = from_toml("[log]\nlevel = \"gatehouse=debug,info\"\n").unwrap();
        assert_eq!(config.log.level.as_str(), "gatehouse=debug,info");
        assert!(config
            .to_toml()
            .contains("level = \"gatehouse=debug,info\""));
        assert_names_key("[log]\nlevel = \"gatehouse=loud\"\n", "`log.level`");
    }
}
