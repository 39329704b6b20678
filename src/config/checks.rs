//! Checks shared by several sections: URLs, header names, optional secrets.

use axum::http::HeaderName;
use url::Url;

use super::{ConfigError, Secret};

pub(super) fn check_http_url(key: &str, url: &Url) -> Result<(), ConfigError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::key(
            key,
            format!("`{url}` must be an http:// or https:// URL"),
        ));
    }
    if url.host_str().is_none() {
        return Err(ConfigError::key(key, format!("`{url}` has no host")));
    }
    Ok(())
}

pub(super) fn check_origin(key: &str, url: &Url) -> Result<(), ConfigError> {
    check_http_url(key, url)?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::key(
            key,
            format!("`{url}` must be an origin such as https://id.example.com, without a path"),
        ));
    }
    Ok(())
}

/// A URL that `required_when` makes mandatory, e.g. `sms.webhook.url` when
/// `sms.sender = "webhook"`.
pub(super) fn required_http_url(
    key: &str,
    url: Option<Url>,
    required_when: &str,
) -> Result<Url, ConfigError> {
    let url = url.ok_or_else(|| ConfigError::key(key, format!("required when {required_when}")))?;
    check_http_url(key, &url)?;
    Ok(url)
}

pub(super) fn header_name(key: &str, name: &str) -> Result<HeaderName, ConfigError> {
    HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| ConfigError::key(key, format!("`{name}` is not a valid header name")))
}

/// An optional secret is either unset or has a value.
pub(super) fn check_not_blank(key: &str, secret: Option<&Secret>) -> Result<(), ConfigError> {
    if secret.is_some_and(Secret::is_blank) {
        return Err(ConfigError::key(key, "must not be empty when set"));
    }
    Ok(())
}
