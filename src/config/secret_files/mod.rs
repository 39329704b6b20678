//! `<key>_file`: every secret setting may instead name a file holding its
//! value (a systemd credential, a mounted Kubernetes or Vault secret), so
//! that the configuration file holds no secret at all.
//!
//! How: before the settings are read into their types, [`resolve`] walks
//! the merged configuration (defaults, file and `GATEHOUSE_*` environment)
//! and, for each key in [`SECRET_KEYS`], replaces `<key>_file = "PATH"` by
//! `<key> = "<the file's text, trailing newline trimmed>"`. So the sections
//! never see `_file` keys, and an unknown `_file` key (a typo, or one for a
//! setting that is not a secret) is still refused by name.
//!
//! **A new secret setting** (an SMS provider's `auth_token`, say): give its
//! field the type [`Secret`](super::Secret) (or `Option<Secret>`) and add
//! its key to [`SECRET_KEYS`]; `<key>_file` then works, is checked and is
//! shown by `doctor` with nothing more to write. The unit test
//! `every_secret_field_is_listed` fails until the key is listed.

use std::io::Read;
use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Tag, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};

use super::ConfigError;

/// Every secret setting, as written in config.toml; `*` stands for an
/// array's index (`headless.clients.0.client_secret`).
pub(super) const SECRET_KEYS: &[&str] = &[
    "database.url",
    "hydra.dsn",
    "sms.webhook.bearer_token",
    "sms.webhook.hmac_secret",
    "sms.twilio.auth_token",
    "sms.vonage.api_secret",
    "sms.vonage.signature_secret",
    "sms.messagebird.access_key",
    "sms.aws_sns.secret_access_key",
    "directory.http.auth_value",
    "directory.sql.url",
    "otp.http.auth_token",
    "otp.twilio_verify.auth_token",
    "headless.clients.*.client_secret",
    "headless.token_exchange.bearer_token",
    "bot_challenge.secret_key",
];

/// What a secret's file key ends with.
const FILE_SUFFIX: &str = "_file";

/// A secret file larger than this is surely the wrong file.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Where the secrets came from, for `gatehouse doctor`; not a setting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretSources {
    /// Secrets read from a `<key>_file`.
    pub files: Vec<SecretFile>,
    /// Secrets written in a configuration file itself.
    pub inline: Vec<SecretFile>,
}

/// A secret setting (`sms.webhook.hmac_secret`, without `_file`) and the
/// file its value is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    pub key: String,
    pub path: PathBuf,
}

/// Reads every `<key>_file` of [`SECRET_KEYS`] into its `<key>`; refuses a
/// secret given both ways, and a file that is missing, unreadable or empty,
/// naming the key.
pub(super) fn resolve(figment: Figment) -> Result<(Figment, SecretSources), ConfigError> {
    let mut data = Provider::data(&figment)?;
    let mut walk = Walk {
        figment: &figment,
        sources: SecretSources::default(),
    };
    for dict in data.values_mut() {
        for pattern in SECRET_KEYS {
            let path: Vec<&str> = pattern.split('.').collect();
            walk.dict(dict, &path, "")?;
        }
    }
    let sources = walk.sources;
    Ok((Figment::from(Resolved { data, figment }), sources))
}

struct Walk<'a> {
    /// For the metadata of each value: which file or variable it came from.
    figment: &'a Figment,
    sources: SecretSources,
}

impl Walk<'_> {
    /// Follows `path` (a key split at its dots) down from `dict`, which is
    /// at the key `at`.
    fn dict(&mut self, dict: &mut Dict, path: &[&str], at: &str) -> Result<(), ConfigError> {
        let join = |name: &str| match at {
            "" => name.to_string(),
            _ => format!("{at}.{name}"),
        };
        match path {
            [] => Ok(()),
            [name] => self.secret(dict, name, &join(name)),
            [name, "*", rest @ ..] => {
                let Some(Value::Array(_, items)) = dict.get_mut(*name) else {
                    return Ok(());
                };
                for (i, item) in items.iter_mut().enumerate() {
                    if let Value::Dict(_, inner) = item {
                        self.dict(inner, rest, &format!("{}.{i}", join(name)))?;
                    }
                }
                Ok(())
            }
            [name, rest @ ..] => match dict.get_mut(*name) {
                Some(Value::Dict(_, inner)) => self.dict(inner, rest, &join(name)),
                _ => Ok(()),
            },
        }
    }

    /// The secret `name` (at `key`) of `dict`: read from its file, or noted
    /// as written inline.
    fn secret(&mut self, dict: &mut Dict, name: &str, key: &str) -> Result<(), ConfigError> {
        let file_key = format!("{key}{FILE_SUFFIX}");
        let from_file = dict
            .remove(&format!("{name}{FILE_SUFFIX}"))
            .filter(|value| !is_unset(value));
        let inline = dict.get(name).filter(|value| !is_unset(value));
        match (inline, from_file) {
            (Some(_), Some(_)) => Err(ConfigError::key(
                key,
                format!("is set twice, as `{key}` and as `{file_key}`: keep one"),
            )),
            (Some(value), None) => {
                if let Some(path) = self.config_file_of(value) {
                    let key = key.to_string();
                    self.sources.inline.push(SecretFile { key, path });
                }
                Ok(())
            }
            (None, Some(Value::String(tag, path))) => {
                let path = PathBuf::from(path);
                let secret = read_secret_file(&file_key, &path)?;
                // The file key's tag: a later error names where it was set.
                dict.insert(name.to_string(), Value::String(tag, secret));
                let key = key.to_string();
                self.sources.files.push(SecretFile { key, path });
                Ok(())
            }
            (None, Some(_)) => Err(ConfigError::key(
                &file_key,
                "must be the path of a file that holds the secret",
            )),
            (None, None) => Ok(()),
        }
    }

    /// The configuration file `value` was written in, if any (not a
    /// default, not an environment variable).
    fn config_file_of(&self, value: &Value) -> Option<PathBuf> {
        match &self.figment.get_metadata(value.tag())?.source {
            Some(Source::File(path)) => Some(path.clone()),
            _ => None,
        }
    }
}

/// A default of `None`, or a key given no value.
fn is_unset(value: &Value) -> bool {
    matches!(value, Value::Empty(..))
}

/// The secret in `path`, for the setting `key`: UTF-8 text without its
/// trailing newline (as `echo` and most editors leave one), not empty.
fn read_secret_file(key: &str, path: &Path) -> Result<String, ConfigError> {
    let fail = |problem: String| ConfigError::key(key, problem);
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot read {shown}: {e}")))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(fail(format!("{shown} is not a regular file")));
    }
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot read {shown}: {e}")))?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(fail(format!(
            "{shown} is larger than {} KiB: not a secret's file",
            MAX_SECRET_FILE / 1024
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| fail(format!("{shown} is not UTF-8 text")))?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.trim().is_empty() {
        return Err(fail(format!("{shown} is empty")));
    }
    Ok(value.to_string())
}

/// The configuration with the secrets read in, keeping where every other
/// value came from (its metadata), so errors still name the file or the
/// environment variable.
struct Resolved {
    data: Map<Profile, Dict>,
    figment: Figment,
}

impl Provider for Resolved {
    fn metadata(&self) -> Metadata {
        Metadata::named("secret files")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(self.data.clone())
    }

    fn profile(&self) -> Option<Profile> {
        Provider::profile(&self.figment)
    }

    // figment's hidden hook, as `impl Provider for Figment` uses it: the
    // values keep their tags, and this carries the metadata they point to.
    fn __metadata_map(&self) -> Option<Map<Tag, Metadata>> {
        self.figment.__metadata_map()
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closures return figment::Error
mod tests;
