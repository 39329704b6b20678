//! `[events]`: each audit event POSTed to the operator's own system.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use super::checks::{check_http_url, check_not_blank};
use super::{CaFile, ConfigError, Secret};
use crate::domain::EventKind;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    /// Where events are POSTed; unset = no events are sent.
    pub url: Option<Url>,
    /// Signs time and body: `X-Gatehouse-Signature: t=<unix>,v1=<hex>`.
    /// Required with `url`.
    pub hmac_secret: Option<Secret>,
    /// The kinds sent; all by default.
    pub kinds: EventKinds,
    /// Deadline for one attempt.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// An event not delivered within this long is given up (and logged).
    #[serde(with = "humantime_serde")]
    pub max_age: Duration,
    /// CA certificates (PEM) trusted for an https `url` besides the system's.
    #[serde(default, deserialize_with = "events_ca_file")]
    pub ca_file: Option<CaFile>,
}

fn events_ca_file<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<CaFile>, D::Error> {
    let path = Option::<std::path::PathBuf>::deserialize(deserializer)?;
    CaFile::load_optional("events.ca_file", path).map_err(ConfigError::into_de)
}

/// `events.kinds`: `["*"]` or a list of kinds, checked when read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKinds {
    All,
    Only(Vec<EventKind>),
}

impl EventKinds {
    pub fn wants(&self, kind: EventKind) -> bool {
        match self {
            EventKinds::All => true,
            EventKinds::Only(kinds) => kinds.contains(&kind),
        }
    }
}

impl<'de> Deserialize<'de> for EventKinds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        if names.iter().any(|name| name == "*") {
            return Ok(EventKinds::All);
        }
        let kinds = names
            .iter()
            .map(|name| {
                EventKind::parse(name).ok_or_else(|| {
                    ConfigError::key(
                        "events.kinds",
                        format!(
                            "unknown kind `{name}`; known: \"*\", {}",
                            EventKind::names()
                        ),
                    )
                    .into_de()
                })
            })
            .collect::<Result<Vec<_>, D::Error>>()?;
        Ok(EventKinds::Only(kinds))
    }
}

impl Serialize for EventKinds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let names: Vec<&str> = match self {
            EventKinds::All => vec!["*"],
            EventKinds::Only(kinds) => kinds.iter().map(|k| k.as_str()).collect(),
        };
        names.serialize(serializer)
    }
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            url: None,
            hmac_secret: None,
            kinds: EventKinds::All,
            timeout: Duration::from_secs(10),
            max_age: Duration::from_secs(7 * 86_400),
            ca_file: None,
        }
    }
}

impl EventsConfig {
    /// `retention`: `audit.retention`, which an undelivered event must not
    /// outlive (its row goes with it).
    pub(super) fn validate(&self, retention: Duration) -> Result<(), ConfigError> {
        if let Some(url) = &self.url {
            check_http_url("events.url", url)?;
            if self.hmac_secret.is_none() {
                return Err(ConfigError::key(
                    "events.hmac_secret",
                    "required when events.url is set: receivers check each event's signature",
                ));
            }
        }
        check_not_blank("events.hmac_secret", self.hmac_secret.as_ref())?;
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(60) {
            return Err(ConfigError::key(
                "events.timeout",
                "must be more than 0 and at most 1m",
            ));
        }
        if self.max_age < Duration::from_secs(3600) || self.max_age > retention {
            return Err(ConfigError::key(
                "events.max_age",
                "must be at least 1h and at most audit.retention",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::EventKinds;
    use crate::config::tests::{assert_names_key, from_toml};
    use crate::domain::EventKind;

    const URL: &str = "[events]\nurl = \"https://siem.example/gatehouse\"\n";

    #[test]
    fn events_settings_name_their_key() {
        for (toml, key) in [
            (URL.to_string(), "`events.hmac_secret`"),
            (
                "[events]\nurl = \"ftp://x\"\nhmac_secret = \"s\"\n".into(),
                "`events.url`",
            ),
            (
                format!("{URL}hmac_secret = \"s\"\nkinds = [\"signin\"]\n"),
                "`events.kinds`",
            ),
            (
                "[events]\nhmac_secret = \"  \"\n".into(),
                "`events.hmac_secret`",
            ),
            ("[events]\ntimeout = \"0s\"\n".into(), "`events.timeout`"),
            (
                "[events]\nmax_age = \"100days\"\n".into(),
                "`events.max_age`",
            ),
            (
                "[events]\nca_file = \"/nonexistent/ca.pem\"\n".into(),
                "`events.ca_file`",
            ),
        ] {
            assert_names_key(&toml, key);
        }
    }

    #[test]
    fn kinds_are_all_or_a_list() {
        let config = from_toml(&format!(
            "{URL}hmac_secret = \"s\"\nkinds = [\"signin_succeeded\", \"logout\"]\n"
        ))
        .unwrap();
        let kinds = &config.events.kinds;
        assert!(kinds.wants(EventKind::Logout));
        assert!(!kinds.wants(EventKind::CodeSent));
        let again = from_toml(&config.to_toml()).unwrap();
        assert_eq!(&again.events.kinds, kinds, "printed kinds read back");
        assert_eq!(from_toml("").unwrap().events.kinds, EventKinds::All);
    }
}
