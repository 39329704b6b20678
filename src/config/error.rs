//! `ConfigError`: a configuration problem, worded for the operator.

use std::fmt::Display;

/// How every message that names a key begins.
const KEY_PREFIX: &str = "configuration key `";

/// A configuration problem, worded for the operator: it names the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    pub(super) fn key(key: &str, problem: impl Display) -> Self {
        ConfigError(format!("{KEY_PREFIX}{key}`: {problem}"))
    }

    /// What is wrong, without the key it is about.
    pub(super) fn problem(&self) -> &str {
        self.0
            .split_once("`: ")
            .map_or(&self.0, |(_, problem)| problem)
    }

    pub(super) fn missing_file(path: &std::path::Path) -> Self {
        ConfigError(format!(
            "configuration file {} does not exist",
            path.display()
        ))
    }

    /// The same problem as a deserialization error, for a setting parsed
    /// while the configuration is read; `From<figment::Error>` passes it on
    /// word for word.
    pub(super) fn into_de<E: serde::de::Error>(self) -> E {
        E::custom(self.0)
    }
}

impl From<figment::Error> for ConfigError {
    fn from(error: figment::Error) -> Self {
        use figment::error::Kind;
        // figment may collect several errors; the first one is enough to act on.
        let error = error
            .into_iter()
            .next()
            .expect("figment error has one entry");
        let source = error
            .metadata
            .as_ref()
            .map(|m| match &m.source {
                Some(source) => format!(" (from {} {source})", m.name),
                None => format!(" (from {})", m.name),
            })
            .unwrap_or_default();
        let mut path: Vec<String> = error.path.clone();
        let problem = match &error.kind {
            // A setting's own check (`ConfigError::into_de`): it names its key.
            Kind::Message(message) if message.starts_with(KEY_PREFIX) => {
                return ConfigError(message.clone())
            }
            Kind::UnknownField(field, expected) => {
                if path.last() != Some(field) {
                    path.push(field.clone());
                }
                format!("unknown key; expected one of {}", expected.join(", "))
            }
            Kind::MissingField(field) => {
                path.push(field.to_string());
                "missing".to_string()
            }
            other => other.to_string(),
        };
        let key = if path.is_empty() {
            "(top level)".to_string()
        } else {
            path.join(".")
        };
        ConfigError::key(&key, format!("{problem}{source}"))
    }
}
