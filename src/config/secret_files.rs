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
    "sms.webhook.bearer_token",
    "sms.webhook.hmac_secret",
    "sms.twilio.auth_token",
    "sms.vonage.api_secret",
    "sms.messagebird.access_key",
    "sms.aws_sns.secret_access_key",
    "directory.http.auth_value",
    "directory.sql.url",
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
mod tests {
    use super::*;
    use crate::config::tests::{error_for, from_toml};
    use crate::config::{Config, DirectoryKind, SmsSenderKind};

    /// A config.toml that sets one secret through `<key>_file = PATH`.
    fn with_file(key: &str, path: &Path) -> String {
        let path = path.display();
        let webhook = "[sms]\nsender = \"webhook\"\n[sms.policy]\nallowed_countries = [\"*\"]\n\
                       [sms.webhook]\nurl = \"http://127.0.0.1:9/sms\"\n";
        let closed = "[users]\nsignup = \"closed\"\n";
        let provider = key.split('.').nth(1).unwrap_or_default();
        let policy =
            format!("[sms]\nsender = \"{provider}\"\n[sms.policy]\nallowed_countries = [\"*\"]\n");
        let client = "[[headless.clients]]\nclient_id = \"app\"\n\
                      redirect_uri = \"https://app.example/cb\"\nscope = \"openid\"\n";
        match key {
            "sms.webhook.bearer_token" => format!("{webhook}bearer_token_file = \"{path}\"\n"),
            "sms.webhook.hmac_secret" => format!("{webhook}hmac_secret_file = \"{path}\"\n"),
            "sms.twilio.auth_token" => format!(
                "{policy}[sms.twilio]\naccount_sid = \"AC0123\"\nfrom = \"+15005550006\"\n\
                 auth_token_file = \"{path}\"\n"
            ),
            "sms.vonage.api_secret" => format!(
                "{policy}[sms.vonage]\napi_key = \"k\"\nfrom = \"Gatehouse\"\n\
                 api_secret_file = \"{path}\"\n"
            ),
            "sms.messagebird.access_key" => format!(
                "{policy}[sms.messagebird]\noriginator = \"Gatehouse\"\n\
                 access_key_file = \"{path}\"\n"
            ),
            "sms.aws_sns.secret_access_key" => format!(
                "{policy}[sms.aws_sns]\nregion = \"eu-west-1\"\naccess_key_id = \"AKID\"\n\
                 secret_access_key_file = \"{path}\"\n"
            ),
            "directory.http.auth_value" => format!(
                "{closed}[directory]\nkind = \"http\"\n[directory.http]\n\
                 base_url = \"http://u/\"\nauth_header = \"X-Key\"\nauth_value_file = \"{path}\"\n"
            ),
            "database.url" => format!("[database]\nurl_file = \"{path}\"\n"),
            "directory.sql.url" => format!(
                "{closed}[directory]\nkind = \"sql\"\n[directory.sql]\nurl_file = \"{path}\"\n\
                 by_phone = \"SELECT 1 WHERE $1 = ''\"\nby_id = \"SELECT 1 WHERE $1 = ''\"\n"
            ),
            "headless.clients.*.client_secret" => {
                format!("{client}client_secret_file = \"{path}\"\n")
            }
            "headless.token_exchange.bearer_token" => {
                format!("[headless.token_exchange]\nbearer_token_file = \"{path}\"\n")
            }
            "bot_challenge.secret_key" => format!(
                "[bot_challenge]\nkind = \"turnstile\"\nsite_key = \"site\"\n\
                 secret_key_file = \"{path}\"\n"
            ),
            other => panic!("no test configuration for {other}: add one"),
        }
    }

    /// The value `config` holds for the secret `key`.
    fn secret_of(config: &Config, key: &str) -> String {
        let webhook = &config.sms.webhook;
        let exposed = |s: &Option<crate::config::Secret>| s.as_ref().unwrap().expose().to_string();
        match (key, &config.directory.kind) {
            ("sms.webhook.bearer_token", _) => exposed(&webhook.bearer_token),
            ("sms.webhook.hmac_secret", _) => exposed(&webhook.hmac_secret),
            ("sms.twilio.auth_token", _)
            | ("sms.vonage.api_secret", _)
            | ("sms.messagebird.access_key", _)
            | ("sms.aws_sns.secret_access_key", _) => match &config.sms.sender {
                SmsSenderKind::Twilio(c) => c.auth_token.expose().to_string(),
                SmsSenderKind::Vonage(c) => c.api_secret.expose().to_string(),
                SmsSenderKind::MessageBird(c) => c.access_key.expose().to_string(),
                SmsSenderKind::AwsSns(c) => c.secret_access_key.expose().to_string(),
                other => panic!("not a provider: {other:?}"),
            },
            ("directory.http.auth_value", DirectoryKind::Http(service)) => {
                let auth = service.auth.as_ref().unwrap();
                auth.value.to_str().unwrap().to_string()
            }
            ("database.url", _) => exposed(&config.database.url),
            ("directory.sql.url", DirectoryKind::Sql(database)) => {
                database.url.expose().to_string()
            }
            ("headless.clients.*.client_secret", _) => config.headless.clients[0]
                .client_secret
                .expose()
                .to_string(),
            ("headless.token_exchange.bearer_token", _) => {
                exposed(&config.headless.token_exchange.bearer_token)
            }
            ("bot_challenge.secret_key", _) => match &config.bot_challenge.kind {
                crate::config::BotChallengeKind::Captcha(captcha) => {
                    captcha.secret_key.expose().to_string()
                }
                other => panic!("not a captcha: {other:?}"),
            },
            (other, _) => panic!("no reader for {other}"),
        }
    }

    #[test]
    fn every_secret_key_is_read_from_its_file() {
        let dir = tempfile::tempdir().unwrap();
        for (i, key) in SECRET_KEYS.iter().enumerate() {
            let value = match *key {
                "directory.sql.url" => format!("sqlite:///tmp/users-{i}.db"),
                "database.url" => format!("postgres://g:pw-SECRET-{i}@db.example/g"),
                _ => format!("value-SECRET-{i}"),
            };
            let path = dir.path().join(format!("secret-{i}"));
            std::fs::write(&path, format!("{value}\n")).unwrap();
            let config = from_toml(&with_file(key, &path)).unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(secret_of(&config, key), value, "{key}");
            let named = key.replace('*', "0");
            assert_eq!(
                config.secrets.files,
                [SecretFile { key: named, path }],
                "{key}"
            );
            let printed = config.to_toml();
            assert!(!printed.contains(&value), "{key} printed: {printed}");
        }
    }

    #[test]
    fn a_secret_given_both_ways_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "from-file").unwrap();
        let toml = format!(
            "[sms.webhook]\nbearer_token = \"inline\"\nbearer_token_file = \"{}\"\n",
            path.display()
        );
        let err = error_for(&toml);
        assert!(err.contains("`sms.webhook.bearer_token`"), "{err}");
        assert!(err.contains("sms.webhook.bearer_token_file"), "{err}");

        let client = format!(
            "[[headless.clients]]\nclient_id = \"a\"\nclient_secret = \"x\"\n\
             client_secret_file = \"{}\"\nredirect_uri = \"https://a/cb\"\nscope = \"openid\"\n",
            path.display()
        );
        let err = error_for(&client);
        assert!(err.contains("`headless.clients.0.client_secret`"), "{err}");

        // One way in the file, the other in the environment: still twice.
        figment::Jail::expect_with(|jail| {
            jail.create_file("config.toml", "[sms.webhook]\nhmac_secret = \"inline\"\n")?;
            jail.set_env("GATEHOUSE_SMS__WEBHOOK__HMAC_SECRET_FILE", path.display());
            let err = Config::load(None).unwrap_err().to_string();
            assert!(err.contains("`sms.webhook.hmac_secret`"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn a_bad_secret_file_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let missing = dir.path().join("missing");
        for (path, problem) in [
            (missing.display().to_string(), "cannot read"),
            (empty.display().to_string(), "is empty"),
            (dir.path().display().to_string(), "not a regular file"),
        ] {
            let toml = format!("[sms.webhook]\nhmac_secret_file = \"{path}\"\n");
            let err = error_for(&toml);
            assert!(err.contains("`sms.webhook.hmac_secret_file`"), "{err}");
            assert!(err.contains(problem), "{problem}: {err}");
        }
        let err = error_for("[sms.webhook]\nhmac_secret_file = 5\n");
        assert!(err.contains("`sms.webhook.hmac_secret_file`"), "{err}");
        // Only secrets have a `_file` form; anything else is a typo.
        let err = error_for("[sms.webhook]\nurl_file = \"/etc/hostname\"\n");
        assert!(err.contains("`sms.webhook.url_file`"), "{err}");
        assert!(err.contains("unknown key"), "{err}");
    }

    #[test]
    fn only_the_trailing_newline_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        for (written, read) in [
            ("abc\n", "abc"),
            ("abc\r\n", "abc"),
            ("abc", "abc"),
            (" a b \n\n", " a b "),
            ("line1\nline2\n", "line1\nline2"),
        ] {
            std::fs::write(&path, written).unwrap();
            assert_eq!(read_secret_file("k", &path).unwrap(), read, "{written:?}");
        }
    }

    #[test]
    fn secrets_come_from_the_environment_and_inline_ones_are_traced_to_their_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("hmac", "mac-SECRET\n")?;
            jail.create_file(
                "config.toml",
                "[sms.webhook]\nbearer_token = \"tok-SECRET\"\n",
            )?;
            jail.set_env("GATEHOUSE_SMS__WEBHOOK__HMAC_SECRET_FILE", "hmac");
            let config = Config::load(None).map_err(|e| e.to_string())?;
            let webhook = &config.sms.webhook;
            assert_eq!(webhook.hmac_secret.as_ref().unwrap().expose(), "mac-SECRET");
            let files = &config.secrets.files;
            assert_eq!(files.len(), 1);
            assert_eq!(files[0].key, "sms.webhook.hmac_secret");
            let inline = &config.secrets.inline;
            assert_eq!(inline.len(), 1, "{inline:?}");
            assert_eq!(inline[0].key, "sms.webhook.bearer_token");
            assert!(inline[0].path.ends_with("config.toml"), "{inline:?}");
            Ok(())
        });
    }

    /// Every field of type `Secret` in src/config has its key listed (so
    /// its `_file` form works); the test reads the sources.
    #[test]
    fn every_secret_field_is_listed() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config");
        let listed: Vec<&str> = SECRET_KEYS
            .iter()
            .map(|key| key.rsplit('.').next().unwrap())
            .collect();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                let Some((field, ty)) = line.trim().split_once(": ") else {
                    continue;
                };
                // Without `pub`, `pub(super)`, ...
                let field = field.rsplit(' ').next().unwrap_or(field);
                let secret = matches!(ty, "Secret," | "Option<Secret>,");
                assert!(
                    !secret || listed.contains(&field),
                    "{}: `{field}` is a Secret: add its key to SECRET_KEYS",
                    path.display()
                );
            }
        }
    }
}
