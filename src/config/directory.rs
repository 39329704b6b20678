//! `[directory]`: where users live, and how their fields become
//! gatehouse's profile.

use std::path::PathBuf;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use url::Url;

use super::checks::{header_name, required_http_url};
use super::directory_sql::{sql_database, SqlFile};
use super::grpc::{GrpcFile, GrpcSettings};
use super::{CaFile, ConfigError, Secret, Signup, SqlDatabase};

/// Which user directory login and claims look people up in, with what
/// reaching it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryKind {
    /// Gatehouse's own SQLite user table (`gatehouse users ...`).
    Embedded,
    /// An existing user service over HTTP.
    Http(HttpService),
    /// An existing database, read-only (SQLite or PostgreSQL).
    Sql(SqlDatabase),
    /// An existing user service over gRPC (`gatehouse.directory.v1`), at
    /// this `https://` (or plaintext `http://`) URL.
    Grpc(Url),
}

impl DirectoryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            DirectoryKind::Embedded => "embedded",
            DirectoryKind::Http(_) => "http",
            DirectoryKind::Sql(_) => "sql",
            DirectoryKind::Grpc(_) => "grpc",
        }
    }
}

/// `kind = "http"`: the user service `[directory.http]` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpService {
    /// `GET {base_url}/users/by-phone/{e164}` and `GET {base_url}/users/{id}`.
    pub base_url: Url,
    /// `auth_header` and `auth_value`: sent with every lookup.
    pub auth: Option<HttpAuth>,
}

/// A header sent with every lookup, e.g. `Authorization: Bearer ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAuth {
    pub header: HeaderName,
    /// Marked sensitive: never printed.
    pub value: HeaderValue,
}

impl HttpAuth {
    /// `directory.http.auth_header` and `directory.http.auth_value`.
    pub fn new(header: &str, value: &str) -> Result<HttpAuth, ConfigError> {
        let header = header_name("directory.http.auth_header", header)?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            ConfigError::key("directory.http.auth_value", "is not a valid header value")
        })?;
        value.set_sensitive(true);
        Ok(HttpAuth { header, value })
    }
}

/// Read from and printed as [`DirectoryFile`], where the kind and what it
/// needs are separate keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "DirectoryFile", into = "DirectoryFile")]
pub struct DirectoryConfig {
    pub kind: DirectoryKind,
    /// How long an answer from an `http` or `sql` directory is reused
    /// (found or not found); 0s asks every time.
    pub cache_ttl: Duration,
    pub http: HttpDirectoryConfig,
    pub sql: SqlDirectoryConfig,
    /// How a `grpc` directory is asked (where is in [`DirectoryKind::Grpc`]).
    pub grpc: GrpcSettings,
    pub fields: FieldMapping,
}

/// How an `http` directory is asked (where is in [`HttpService`]).
#[derive(Debug, Clone)]
pub struct HttpDirectoryConfig {
    pub timeout: Duration,
    /// CA certificates (PEM) trusted for an https `base_url` besides the system's.
    pub ca_file: Option<CaFile>,
}

/// How an `sql` directory is asked (what is in [`SqlDatabase`]).
#[derive(Debug, Clone)]
pub struct SqlDirectoryConfig {
    /// Connections kept open to the database.
    pub pool_size: u32,
    /// How long one lookup may take.
    pub timeout: Duration,
}

/// Where each profile field comes from in a directory's record: a JSON
/// field of the user service's answer (dots go into nested objects, e.g.
/// "profile.first_name") or a column of the SQL query. A field missing from
/// the record is simply absent from the profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMapping {
    /// The stable user id that becomes the token's `sub`; required in every record.
    pub subject: String,
    pub phone: String,
    /// When the record has no such field, a phone counts as verified: people
    /// only sign in with a code sent to it.
    pub phone_verified: String,
    pub given_name: String,
    pub family_name: String,
    pub email: String,
    pub email_verified: String,
    pub street_address: String,
    pub locality: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    /// A true value refuses sign-in.
    pub disabled: String,
}

impl Default for FieldMapping {
    fn default() -> Self {
        FieldMapping {
            subject: "id".into(),
            phone: "phone".into(),
            phone_verified: "phone_verified".into(),
            given_name: "given_name".into(),
            family_name: "family_name".into(),
            email: "email".into(),
            email_verified: "email_verified".into(),
            street_address: "street_address".into(),
            locality: "locality".into(),
            region: "region".into(),
            postal_code: "postal_code".into(),
            country: "country".into(),
            disabled: "disabled".into(),
        }
    }
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        DirectoryConfig {
            kind: DirectoryKind::Embedded,
            cache_ttl: Duration::from_secs(10),
            http: HttpDirectoryConfig {
                ca_file: None,
                timeout: Duration::from_secs(2),
            },
            sql: SqlDirectoryConfig {
                pool_size: 4,
                timeout: Duration::from_secs(2),
            },
            grpc: GrpcSettings::default_settings(),
            fields: FieldMapping::default(),
        }
    }
}

impl DirectoryConfig {
    /// `signup`: `users.signup`, which must be closed for a directory
    /// gatehouse does not own.
    pub(super) fn validate(&self, signup: Signup) -> Result<(), ConfigError> {
        if self.kind != DirectoryKind::Embedded && signup == Signup::Auto {
            return Err(ConfigError::key(
                "users.signup",
                format!(
                    "must be \"closed\" with directory.kind = \"{}\": gatehouse cannot create users \
                     in a directory it does not own",
                    self.kind.as_str()
                ),
            ));
        }
        match self.kind {
            DirectoryKind::Embedded | DirectoryKind::Grpc(_) => {}
            DirectoryKind::Http(_) => {
                if self.http.timeout.is_zero() {
                    return Err(ConfigError::key(
                        "directory.http.timeout",
                        "must be more than 0",
                    ));
                }
            }
            DirectoryKind::Sql(_) => {
                if !(1..=64).contains(&self.sql.pool_size) {
                    return Err(ConfigError::key(
                        "directory.sql.pool_size",
                        "must be between 1 and 64",
                    ));
                }
                if self.sql.timeout.is_zero() {
                    return Err(ConfigError::key(
                        "directory.sql.timeout",
                        "must be more than 0",
                    ));
                }
            }
        }
        if self.fields.subject.trim().is_empty() {
            return Err(ConfigError::key(
                "directory.fields.subject",
                "must name the field that holds the user id",
            ));
        }
        Ok(())
    }
}

/// `[directory]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    kind: KindName,
    #[serde(with = "humantime_serde")]
    cache_ttl: Duration,
    http: HttpFile,
    sql: SqlFile,
    grpc: GrpcFile,
    fields: FieldMapping,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum KindName {
    Embedded,
    Http,
    Sql,
    Grpc,
}

/// `[directory.http]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    base_url: Option<Url>,
    #[serde(with = "humantime_serde")]
    timeout: Duration,
    auth_header: Option<String>,
    auth_value: Option<Secret>,
    ca_file: Option<PathBuf>,
}

impl TryFrom<DirectoryFile> for DirectoryConfig {
    type Error = ConfigError;

    fn try_from(file: DirectoryFile) -> Result<Self, ConfigError> {
        let kind = match file.kind {
            KindName::Embedded => DirectoryKind::Embedded,
            KindName::Http => DirectoryKind::Http(http_service(&file.http)?),
            KindName::Sql => DirectoryKind::Sql(sql_database(&file.sql)?),
            KindName::Grpc => DirectoryKind::Grpc(
                file.grpc
                    .required_url("directory.grpc", "directory.kind = \"grpc\"")?,
            ),
        };
        Ok(DirectoryConfig {
            kind,
            cache_ttl: file.cache_ttl,
            http: HttpDirectoryConfig {
                timeout: file.http.timeout,
                ca_file: CaFile::load_optional("directory.http.ca_file", file.http.ca_file)?,
            },
            sql: SqlDirectoryConfig {
                pool_size: file.sql.pool_size,
                timeout: file.sql.timeout,
            },
            grpc: file.grpc.settings("directory.grpc")?,
            fields: file.fields,
        })
    }
}

fn http_service(http: &HttpFile) -> Result<HttpService, ConfigError> {
    let when = "directory.kind = \"http\"";
    let base_url = required_http_url("directory.http.base_url", http.base_url.clone(), when)?;
    let auth = match (&http.auth_header, &http.auth_value) {
        (Some(header), Some(value)) => Some(HttpAuth::new(header, value.expose())?),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::key(
                "directory.http.auth_value",
                "required when directory.http.auth_header is set",
            ))
        }
        (None, Some(_)) => {
            return Err(ConfigError::key(
                "directory.http.auth_header",
                "required when directory.http.auth_value is set",
            ))
        }
    };
    Ok(HttpService { base_url, auth })
}

impl From<DirectoryConfig> for DirectoryFile {
    fn from(config: DirectoryConfig) -> Self {
        let mut http = HttpFile {
            base_url: None,
            timeout: config.http.timeout,
            auth_header: None,
            auth_value: None,
            ca_file: config.http.ca_file.map(|ca| ca.path().to_path_buf()),
        };
        let mut sql = SqlFile {
            url: None,
            by_phone: None,
            by_id: None,
            pool_size: config.sql.pool_size,
            timeout: config.sql.timeout,
        };
        let mut grpc_url = None;
        let kind = match config.kind {
            DirectoryKind::Embedded => KindName::Embedded,
            DirectoryKind::Grpc(url) => {
                grpc_url = Some(url);
                KindName::Grpc
            }
            DirectoryKind::Http(service) => {
                http.base_url = Some(service.base_url);
                if let Some(auth) = service.auth {
                    http.auth_header = Some(auth.header.as_str().to_string());
                    let value = String::from_utf8_lossy(auth.value.as_bytes());
                    http.auth_value = Some(Secret::new(value));
                }
                KindName::Http
            }
            DirectoryKind::Sql(database) => {
                sql.url = Some(database.url);
                sql.by_phone = Some(database.by_phone);
                sql.by_id = Some(database.by_id);
                KindName::Sql
            }
        };
        DirectoryFile {
            kind,
            cache_ttl: config.cache_ttl,
            http,
            sql,
            grpc: GrpcFile::new(grpc_url, config.grpc),
            fields: config.fields,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{DirectoryKind, HttpAuth, HttpService};
    use crate::config::tests::{assert_names_key, from_toml};

    #[test]
    fn directory_settings_are_checked() {
        let http = "[users]\nsignup = \"closed\"\n[directory]\nkind = \"http\"\n";
        let config =
            from_toml(&format!("{http}[directory.http]\nbase_url = \"http://users.internal/api\"\nauth_header = \"Authorization\"\nauth_value = \"Bearer s3cret-VALUE\"\n")).unwrap();
        let DirectoryKind::Http(HttpService { base_url, auth }) = &config.directory.kind else {
            panic!("{:?}", config.directory.kind);
        };
        assert_eq!(base_url.as_str(), "http://users.internal/api");
        let auth = auth.as_ref().expect("the auth header");
        assert_eq!(
            auth,
            &HttpAuth::new("authorization", "Bearer s3cret-VALUE").unwrap()
        );
        for printed in [config.to_toml(), format!("{config:?}")] {
            assert!(
                !printed.contains("s3cret"),
                "the auth value is redacted: {printed}"
            );
        }
        let sql = "[users]\nsignup = \"closed\"\n[directory]\nkind = \"sql\"\n[directory.sql]\nurl = \"sqlite:///tmp/u.db\"\n";
        let queries = "by_phone = \"SELECT * FROM u WHERE phone = $1\"\nby_id = \"SELECT * FROM u WHERE id = $1\"\n";
        let config = from_toml(&format!("{sql}{queries}")).unwrap();
        let DirectoryKind::Sql(database) = &config.directory.kind else {
            panic!("{:?}", config.directory.kind);
        };
        assert_eq!(database.by_id, "SELECT * FROM u WHERE id = $1");
        let again = from_toml(&config.to_toml().replace("(redacted)", "sqlite:///tmp/u.db"));
        assert_eq!(again.unwrap().directory.kind, config.directory.kind);
        for (toml, key) in [
            (
                "[directory]\nkind = \"http\"\n[directory.http]\nbase_url = \"http://u/\"\n"
                    .to_string(),
                "`users.signup`",
            ),
            (http.to_string(), "`directory.http.base_url`"),
            (
                format!(
                    "{http}[directory.http]\nbase_url = \"http://u/\"\nauth_header = \"X-Key\"\n"
                ),
                "`directory.http.auth_value`",
            ),
            (sql.to_string(), "`directory.sql.by_phone`"),
            (
                format!("{sql}by_phone = \"SELECT * FROM u WHERE phone = ?\"\n"),
                "`directory.sql.by_phone`",
            ),
            (
                format!("{sql}{queries}").replace("sqlite://", "mysql://"),
                "`directory.sql.url`",
            ),
            (
                "[directory]\nkind = \"ldap\"\n".to_string(),
                "`directory.kind`",
            ),
            (
                "[directory.http]\nca_file = \"/nonexistent/ca.pem\"\n".to_string(),
                "`directory.http.ca_file`",
            ),
        ] {
            assert_names_key(&toml, key);
        }
    }

    #[test]
    fn grpc_directory_settings_are_checked() {
        let grpc = "[users]\nsignup = \"closed\"\n[directory]\nkind = \"grpc\"\n\
                    [directory.grpc]\nurl = \"https://users.internal:50051\"\ntimeout = \"750ms\"\n";
        let config = from_toml(grpc).unwrap();
        let url = "https://users.internal:50051/".parse().unwrap();
        assert_eq!(config.directory.kind, DirectoryKind::Grpc(url));
        let again = from_toml(&config.to_toml()).unwrap();
        assert_eq!(again.directory.kind, config.directory.kind);
        assert_eq!(again.directory.grpc.timeout.as_millis(), 750);
        for (toml, key) in [
            (
                "[users]\nsignup = \"closed\"\n[directory]\nkind = \"grpc\"\n".to_string(),
                "`directory.grpc.url`",
            ),
            (
                "[directory.grpc]\ntimeout = \"0s\"\n".to_string(),
                "`directory.grpc.timeout`",
            ),
            (
                "[directory.grpc]\nclient_cert = \"/nonexistent/c.pem\"\n".to_string(),
                "`directory.grpc.client_key`",
            ),
            (
                "[directory.grpc]\nclient_key = \"/nonexistent/c.key\"\n".to_string(),
                "`directory.grpc.client_cert`",
            ),
            (
                "[directory.grpc]\nclient_cert = \"/nonexistent/c.pem\"\nclient_key = \"/nonexistent/c.key\"\n"
                    .to_string(),
                "`directory.grpc.client_cert`",
            ),
            (
                "[directory.grpc]\nca_file = \"/nonexistent/ca.pem\"\n".to_string(),
                "`directory.grpc.ca_file`",
            ),
        ] {
            assert_names_key(&toml, key);
        }
    }
}
