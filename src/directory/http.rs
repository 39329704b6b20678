//! `kind = "http"`: an existing user service.
//!
//! `GET {base_url}/users/by-phone/{e164}` and `GET {base_url}/users/{id}`
//! answer a JSON object (200) or "no such user" (404). Anything else is an
//! outage: the person is told to try again later and nothing is counted
//! against them.

use reqwest::header::{HeaderName, HeaderValue, ACCEPT};
use serde_json::{Map, Value};
use url::Url;

use super::{DirectoryError, Key};
use crate::config::{HttpDirectoryConfig, HttpService};
use crate::infra::http::{self, AnswerError, Peer};

/// A user record is small; refuse to buffer a runaway answer.
const MAX_BODY_BYTES: usize = 256 * 1024;

pub struct HttpDirectory {
    client: reqwest::Client,
    base_url: Url,
    auth: Option<(HeaderName, HeaderValue)>,
}

impl HttpDirectory {
    pub fn new(
        service: &HttpService,
        config: &HttpDirectoryConfig,
    ) -> Result<HttpDirectory, DirectoryError> {
        let auth = service
            .auth
            .as_ref()
            .map(|auth| (auth.header.clone(), auth.value.clone()));
        let client = http::client(Peer::Service {
            timeout: Some(config.timeout),
            ca_file: config.ca_file.as_ref(),
        });
        Ok(HttpDirectory {
            client,
            base_url: service.base_url.clone(),
            auth,
        })
    }

    pub(super) async fn fetch(
        &self,
        key: Key<'_>,
    ) -> Result<Option<Map<String, Value>>, DirectoryError> {
        let url = self.url_for(key)?;
        let mut request = self.client.get(url).header(ACCEPT, "application/json");
        if let Some((name, value)) = &self.auth {
            request = request.header(name.clone(), value.clone());
        }
        let outage = |problem: String| {
            tracing::warn!(%problem, "user directory lookup failed");
            DirectoryError::Unavailable(problem)
        };
        let response = request
            .send()
            .await
            .map_err(|e| outage(format!("user service: {}", without_url(e))))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(outage(format!("user service answered {status}")));
        }
        match http::json_object(response, MAX_BODY_BYTES).await {
            Ok(record) => Ok(Some(record)),
            Err(AnswerError::Transport(e)) => {
                Err(outage(format!("user service: {}", without_url(e))))
            }
            Err(AnswerError::TooLarge { .. }) => {
                Err(outage("user service answered over 256 KiB".into()))
            }
            Err(AnswerError::NotAnObject) => Err(outage(
                "user service answered something other than a JSON object".into(),
            )),
        }
    }

    fn url_for(&self, key: Key<'_>) -> Result<Url, DirectoryError> {
        let mut url = self.base_url.clone();
        {
            let mut segments = url.path_segments_mut().map_err(|_| {
                DirectoryError::Unavailable("directory.http.base_url cannot take a path".into())
            })?;
            segments.pop_if_empty().push("users");
            match key {
                Key::Phone(phone) => segments.push("by-phone").push(phone.as_str()),
                // Pushed as one segment: an id with '/' cannot reach another path.
                Key::Id(id) => segments.push(id),
            };
        }
        Ok(url)
    }
}

/// reqwest's messages include the URL, which holds a phone number.
fn without_url(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    kind.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PhoneNumber;
    use std::time::Duration;

    fn directory(base: &str) -> HttpDirectory {
        let service = HttpService {
            base_url: Url::parse(base).unwrap(),
            auth: None,
        };
        HttpDirectory::new(
            &service,
            &HttpDirectoryConfig {
                timeout: Duration::from_secs(1),
                ca_file: None,
            },
        )
        .unwrap()
    }

    #[test]
    fn lookup_urls_keep_the_base_path_and_escape_ids() {
        let phone = PhoneNumber::parse("+12015550123", None).unwrap();
        for base in ["http://users.internal/api", "http://users.internal/api/"] {
            let dir = directory(base);
            assert_eq!(
                dir.url_for(Key::Phone(&phone)).unwrap().as_str(),
                "http://users.internal/api/users/by-phone/+12015550123"
            );
            assert_eq!(
                dir.url_for(Key::Id("a/../b c")).unwrap().as_str(),
                "http://users.internal/api/users/a%2F..%2Fb%20c"
            );
        }
    }
}
