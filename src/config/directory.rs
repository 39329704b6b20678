//! `[directory]` and `[claims]`: where users live, how their fields become
//! gatehouse's profile, and which extra claims go into the tokens.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::{check_http_url, ConfigError, Secret, Signup};

/// Which user directory login and claims look people up in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectoryKind {
    /// Gatehouse's own SQLite user table (`gatehouse users ...`).
    Embedded,
    /// An existing user service over HTTP.
    Http,
    /// An existing database, read-only (SQLite or PostgreSQL).
    Sql,
}

impl DirectoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DirectoryKind::Embedded => "embedded",
            DirectoryKind::Http => "http",
            DirectoryKind::Sql => "sql",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryConfig {
    pub kind: DirectoryKind,
    /// How long an answer from an `http` or `sql` directory is reused
    /// (found or not found); 0s asks every time.
    #[serde(with = "humantime_serde")]
    pub cache_ttl: Duration,
    pub http: HttpDirectoryConfig,
    pub sql: SqlDirectoryConfig,
    pub fields: FieldMapping,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpDirectoryConfig {
    /// `GET {base_url}/users/by-phone/{e164}` and `GET {base_url}/users/{id}`.
    pub base_url: Option<Url>,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// A header sent with every lookup, e.g. "Authorization".
    pub auth_header: Option<String>,
    /// That header's value, e.g. "Bearer ...".
    pub auth_value: Option<Secret>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlDirectoryConfig {
    /// `postgres://user:password@host/db` or `sqlite:///path/to/file.db`.
    pub url: Option<Secret>,
    /// A query returning at most one row for the E.164 phone in `$1`.
    pub by_phone: Option<String>,
    /// A query returning at most one row for the subject id in `$1`.
    pub by_id: Option<String>,
    /// Connections kept open to the database.
    pub pool_size: u32,
    /// How long one lookup may take.
    #[serde(with = "humantime_serde")]
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
                base_url: None,
                timeout: Duration::from_secs(2),
                auth_header: None,
                auth_value: None,
            },
            sql: SqlDirectoryConfig {
                url: None,
                by_phone: None,
                by_id: None,
                pool_size: 4,
                timeout: Duration::from_secs(2),
            },
            fields: FieldMapping::default(),
        }
    }
}

/// `[claims]`: claims added to the tokens from directory fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsConfig {
    pub custom: Vec<CustomClaim>,
}

/// Which token a custom claim goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimTarget {
    /// The id_token (and `/userinfo`).
    IdToken,
    /// The access token: a JWT access token's claims, or `ext` in introspection.
    AccessToken,
    Both,
}

impl ClaimTarget {
    pub fn id_token(self) -> bool {
        matches!(self, ClaimTarget::IdToken | ClaimTarget::Both)
    }

    pub fn access_token(self) -> bool {
        matches!(self, ClaimTarget::AccessToken | ClaimTarget::Both)
    }
}

/// One claim filled from a directory field when `scope` is granted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomClaim {
    /// The granted scope that adds this claim, e.g. "roles".
    pub scope: String,
    /// The claim's name in the token, e.g. "roles".
    pub claim: String,
    /// The directory field it comes from (same syntax as `[directory.fields]`).
    pub field: String,
    #[serde(default = "default_claim_target")]
    pub into: ClaimTarget,
}

fn default_claim_target() -> ClaimTarget {
    ClaimTarget::IdToken
}

/// Claims Hydra sets itself, or that the standard scopes own.
const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "scp",
    "client_id",
    "ext",
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
    "address",
];

pub(super) fn validate(
    directory: &DirectoryConfig,
    claims: &ClaimsConfig,
    signup: Signup,
) -> Result<(), ConfigError> {
    if directory.kind != DirectoryKind::Embedded && signup == Signup::Auto {
        return Err(ConfigError::key(
            "users.signup",
            format!(
                "must be \"closed\" with directory.kind = \"{}\": gatehouse cannot create users \
                 in a directory it does not own",
                directory.kind.as_str()
            ),
        ));
    }
    match directory.kind {
        DirectoryKind::Embedded => {}
        DirectoryKind::Http => {
            let http = &directory.http;
            let url = http.base_url.as_ref().ok_or_else(|| {
                ConfigError::key(
                    "directory.http.base_url",
                    "required when directory.kind = \"http\"",
                )
            })?;
            check_http_url("directory.http.base_url", url)?;
            if http.timeout.is_zero() {
                return Err(ConfigError::key(
                    "directory.http.timeout",
                    "must be more than 0",
                ));
            }
            match (&http.auth_header, &http.auth_value) {
                (Some(name), Some(_)) => {
                    if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        return Err(ConfigError::key(
                            "directory.http.auth_header",
                            format!("`{name}` is not a valid header name"),
                        ));
                    }
                }
                (None, None) => {}
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
            }
            if http
                .auth_value
                .as_ref()
                .is_some_and(|value| axum::http::HeaderValue::from_str(value.expose()).is_err())
            {
                return Err(ConfigError::key(
                    "directory.http.auth_value",
                    "is not a valid header value",
                ));
            }
        }
        DirectoryKind::Sql => {
            let sql = &directory.sql;
            let url = sql.url.as_ref().ok_or_else(|| {
                ConfigError::key(
                    "directory.sql.url",
                    "required when directory.kind = \"sql\"",
                )
            })?;
            let url = url.expose();
            if !(url.starts_with("postgres://")
                || url.starts_with("postgresql://")
                || url.starts_with("sqlite://"))
            {
                return Err(ConfigError::key(
                    "directory.sql.url",
                    "must start with postgres:// or sqlite:// (e.g. sqlite:///var/lib/app/users.db)",
                ));
            }
            for (key, query) in [
                ("directory.sql.by_phone", &sql.by_phone),
                ("directory.sql.by_id", &sql.by_id),
            ] {
                match query {
                    Some(query) if query.contains("$1") => {}
                    Some(_) => {
                        return Err(ConfigError::key(
                            key,
                            "must use $1 where the looked-up value goes",
                        ))
                    }
                    None => {
                        return Err(ConfigError::key(
                            key,
                            "required when directory.kind = \"sql\"",
                        ))
                    }
                }
            }
            if !(1..=64).contains(&sql.pool_size) {
                return Err(ConfigError::key(
                    "directory.sql.pool_size",
                    "must be between 1 and 64",
                ));
            }
            if sql.timeout.is_zero() {
                return Err(ConfigError::key(
                    "directory.sql.timeout",
                    "must be more than 0",
                ));
            }
        }
    }
    if directory.fields.subject.trim().is_empty() {
        return Err(ConfigError::key(
            "directory.fields.subject",
            "must name the field that holds the user id",
        ));
    }
    for (i, custom) in claims.custom.iter().enumerate() {
        let key = |field: &str| format!("claims.custom.{i}.{field}");
        for (field, value) in [
            ("scope", &custom.scope),
            ("claim", &custom.claim),
            ("field", &custom.field),
        ] {
            if value.trim().is_empty() || value.contains(char::is_whitespace) {
                return Err(ConfigError::key(
                    &key(field),
                    "must be one word, without spaces",
                ));
            }
        }
        if RESERVED_CLAIMS.contains(&custom.claim.as_str()) {
            return Err(ConfigError::key(
                &key("claim"),
                format!(
                    "`{}` is set by Hydra or by a standard scope; choose another name",
                    custom.claim
                ),
            ));
        }
    }
    Ok(())
}
