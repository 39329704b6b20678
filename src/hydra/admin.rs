//! A typed client for the parts of Hydra's admin API gatehouse uses.
//!
//! Every method returns a [`HydraError`] that tells the cases callers treat
//! differently apart: unknown (404), already handled (410, with where to send
//! the browser), conflict (409), refused (400, with Hydra's OAuth2 error), and
//! Hydra being down.

use std::time::Duration;

use reqwest::header::LINK;
use reqwest::RequestBuilder;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::CaFile;
use crate::infra::http::{self, Peer};

use super::error::{decode, error_from_answer, HydraError};
use super::types::{
    AcceptConsent, AcceptLogin, ConsentRequest, Introspection, LoginRequest, LogoutRequest,
    NewClient, OAuth2Client, PreviousConsent, Redirect, Reject,
};

/// Clients asked for per page; any further pages are found through the
/// `Link` header, so this is no cap.
const CLIENT_PAGE_SIZE: u32 = 500;

#[derive(Clone)]
pub struct HydraClient {
    http: reqwest::Client,
    admin_url: Url,
}

impl HydraClient {
    /// `ca_file`: for an external Hydra's https URL behind a private CA.
    pub fn new(admin_url: Url, ca_file: Option<&CaFile>) -> HydraClient {
        let http = http::client(Peer::Hydra {
            timeout: Duration::from_secs(15),
            ca_file,
        });
        HydraClient { http, admin_url }
    }

    pub fn admin_url(&self) -> &Url {
        &self.admin_url
    }

    /// `GET /health/ready` on the admin port, with a short timeout.
    pub async fn ready(&self) -> Result<(), HydraError> {
        let url = self.url(&["health", "ready"], &[]);
        let request = self.http.get(url.clone()).timeout(Duration::from_secs(2));
        self.send(request, &url).await.map(drop)
    }

    /// `GET /version` on the admin port: the version the running Hydra reports.
    pub async fn version(&self) -> Result<String, HydraError> {
        #[derive(serde::Deserialize)]
        struct Version {
            version: String,
        }
        let url = self.url(&["version"], &[]);
        let request = self.http.get(url.clone()).timeout(Duration::from_secs(2));
        let answer: Version = self.json(request, &url).await?;
        Ok(answer.version)
    }

    // --- login ---------------------------------------------------------------

    pub async fn login_request(&self, challenge: &str) -> Result<LoginRequest, HydraError> {
        let url = self.flow_url("login", None, "login_challenge", challenge);
        self.json(self.http.get(url.clone()), &url).await
    }

    pub async fn accept_login(
        &self,
        challenge: &str,
        accept: &AcceptLogin,
    ) -> Result<Redirect, HydraError> {
        let url = self.flow_url("login", Some("accept"), "login_challenge", challenge);
        self.json(self.http.put(url.clone()).json(accept), &url)
            .await
    }

    pub async fn reject_login(
        &self,
        challenge: &str,
        reject: &Reject,
    ) -> Result<Redirect, HydraError> {
        let url = self.flow_url("login", Some("reject"), "login_challenge", challenge);
        self.json(self.http.put(url.clone()).json(reject), &url)
            .await
    }

    // --- consent -------------------------------------------------------------

    pub async fn consent_request(&self, challenge: &str) -> Result<ConsentRequest, HydraError> {
        let url = self.flow_url("consent", None, "consent_challenge", challenge);
        self.json(self.http.get(url.clone()), &url).await
    }

    pub async fn accept_consent(
        &self,
        challenge: &str,
        accept: &AcceptConsent,
    ) -> Result<Redirect, HydraError> {
        let url = self.flow_url("consent", Some("accept"), "consent_challenge", challenge);
        self.json(self.http.put(url.clone()).json(accept), &url)
            .await
    }

    pub async fn reject_consent(
        &self,
        challenge: &str,
        reject: &Reject,
    ) -> Result<Redirect, HydraError> {
        let url = self.flow_url("consent", Some("reject"), "consent_challenge", challenge);
        self.json(self.http.put(url.clone()).json(reject), &url)
            .await
    }

    // --- logout --------------------------------------------------------------

    pub async fn logout_request(&self, challenge: &str) -> Result<LogoutRequest, HydraError> {
        let url = self.flow_url("logout", None, "logout_challenge", challenge);
        self.json(self.http.get(url.clone()), &url).await
    }

    pub async fn accept_logout(&self, challenge: &str) -> Result<Redirect, HydraError> {
        let url = self.flow_url("logout", Some("accept"), "logout_challenge", challenge);
        self.json(self.http.put(url.clone()), &url).await
    }

    /// Hydra answers 204 without a body (the logout page decides what to
    /// show) and forgets the request: fetching it again is `NotFound`.
    pub async fn reject_logout(&self, challenge: &str) -> Result<(), HydraError> {
        let url = self.flow_url("logout", Some("reject"), "logout_challenge", challenge);
        self.send(self.http.put(url.clone()), &url).await.map(drop)
    }

    // --- tokens and sessions -------------------------------------------------

    /// RFC 7662 introspection; `scope` makes Hydra also check the token has it.
    pub async fn introspect(
        &self,
        token: &str,
        scope: Option<&str>,
    ) -> Result<Introspection, HydraError> {
        let url = self.url(&["admin", "oauth2", "introspect"], &[]);
        let mut form = vec![("token", token)];
        if let Some(scope) = scope {
            form.push(("scope", scope));
        }
        self.json(self.http.post(url.clone()).form(&form), &url)
            .await
    }

    /// Forgets every remembered login of `subject`: the next login asks again.
    /// Tokens already issued stay valid.
    pub async fn revoke_login_sessions(&self, subject: &str) -> Result<(), HydraError> {
        let url = self.url(
            &["admin", "oauth2", "auth", "sessions", "login"],
            &[("subject", subject)],
        );
        self.send(self.http.delete(url.clone()), &url)
            .await
            .map(drop)
    }

    /// The consents `subject` gave that Hydra remembers (one page of up to
    /// 500: one person's apps).
    pub async fn consent_sessions(
        &self,
        subject: &str,
    ) -> Result<Vec<PreviousConsent>, HydraError> {
        let url = self.url(
            &["admin", "oauth2", "auth", "sessions", "consent"],
            &[("subject", subject), ("page_size", "500")],
        );
        self.json(self.http.get(url.clone()), &url).await
    }

    /// Revokes the consents `subject` gave (to one client, or to all) and the
    /// tokens issued under them.
    pub async fn revoke_consent_sessions(
        &self,
        subject: &str,
        client_id: Option<&str>,
    ) -> Result<(), HydraError> {
        let scope = match client_id {
            Some(client_id) => ("client", client_id),
            None => ("all", "true"),
        };
        let url = self.url(
            &["admin", "oauth2", "auth", "sessions", "consent"],
            &[("subject", subject), scope],
        );
        self.send(self.http.delete(url.clone()), &url)
            .await
            .map(drop)
    }

    // --- clients -------------------------------------------------------------

    /// Registers a client. The answer carries `client_secret`, the only time
    /// Hydra ever shows it.
    pub async fn create_client(&self, client: &NewClient) -> Result<OAuth2Client, HydraError> {
        let url = self.url(&["admin", "clients"], &[]);
        self.json(self.http.post(url.clone()).json(client), &url)
            .await
    }

    /// Every client, however many pages Hydra splits them into.
    pub async fn list_clients(&self) -> Result<Vec<OAuth2Client>, HydraError> {
        self.list_clients_paged(CLIENT_PAGE_SIZE).await
    }

    /// Like [`HydraClient::list_clients`], asking for `page_size` per page.
    pub async fn list_clients_paged(
        &self,
        page_size: u32,
    ) -> Result<Vec<OAuth2Client>, HydraError> {
        let page_size = page_size.to_string();
        let mut clients = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let mut query = vec![("page_size", page_size.as_str())];
            if let Some(token) = page_token.as_deref() {
                query.push(("page_token", token));
            }
            let url = self.url(&["admin", "clients"], &query);
            let response = self.send(self.http.get(url.clone()), &url).await?;
            let next = response
                .headers()
                .get_all(LINK)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .find_map(next_page_token);
            let page: Vec<OAuth2Client> = decode(response, &url).await?;
            let page_was_empty = page.is_empty();
            clients.extend(page);
            match next {
                None => return Ok(clients),
                // An empty page ends the list even if Hydra offers another link.
                Some(_) if page_was_empty => return Ok(clients),
                Some(token) if page_token.as_deref() == Some(token.as_str()) => {
                    return Err(HydraError::Decode {
                        url: url.to_string(),
                        message: "the next-page link points at the same page".into(),
                    })
                }
                Some(token) => page_token = Some(token),
            }
        }
    }

    pub async fn get_client(&self, client_id: &str) -> Result<OAuth2Client, HydraError> {
        let url = self.client_url(client_id)?;
        self.json(self.http.get(url.clone()), &url).await
    }

    pub async fn delete_client(&self, client_id: &str) -> Result<(), HydraError> {
        let url = self.client_url(client_id)?;
        self.send(self.http.delete(url.clone()), &url)
            .await
            .map(drop)
    }

    // --- keys ------------------------------------------------------------------

    /// The keys of the JSON Web Key Set `set`, newest (the signing one)
    /// first; none for a set Hydra never had (it answers 404). Private
    /// parts included: callers print only public ones.
    pub async fn key_set(&self, set: &str) -> Result<Vec<serde_json::Value>, HydraError> {
        #[derive(serde::Deserialize)]
        struct KeySet {
            #[serde(default)]
            keys: Vec<serde_json::Value>,
        }
        let url = self.url(&["admin", "keys", set], &[]);
        match self.json::<KeySet>(self.http.get(url.clone()), &url).await {
            Ok(found) => Ok(found.keys),
            Err(HydraError::NotFound { .. }) => Ok(Vec::new()),
            Err(other) => Err(other),
        }
    }

    /// `PUT /admin/keys/{set}/{kid}`: adds `key` (a private JWK) to the
    /// set, as its newest key.
    pub async fn put_key(&self, set: &str, key: &serde_json::Value) -> Result<(), HydraError> {
        let kid = key["kid"].as_str().unwrap_or_default();
        let url = self.url(&["admin", "keys", set, kid], &[]);
        self.send(self.http.put(url.clone()).json(key), &url)
            .await
            .map(drop)
    }

    /// `DELETE /admin/keys/{set}/{kid}`.
    pub async fn delete_key(&self, set: &str, kid: &str) -> Result<(), HydraError> {
        let url = self.url(&["admin", "keys", set, kid], &[]);
        self.send(self.http.delete(url.clone()), &url)
            .await
            .map(drop)
    }

    /// `PUT /admin/keys/{set}`: the set becomes `keys` (JWKs, private keys
    /// included; Hydra encrypts them with its system secret).
    pub async fn put_key_set(
        &self,
        set: &str,
        keys: &[serde_json::Value],
    ) -> Result<(), HydraError> {
        let url = self.url(&["admin", "keys", set], &[]);
        let body = serde_json::json!({ "keys": keys });
        self.send(self.http.put(url.clone()).json(&body), &url)
            .await
            .map(drop)
    }

    /// `/admin/clients/{id}`. Some ids cannot be addressed: URLs cannot carry
    /// `.` or `..` as a segment (they would address `/admin/clients` itself),
    /// and Hydra's router decodes `%2F` before routing.
    fn client_url(&self, client_id: &str) -> Result<Url, HydraError> {
        let url = self.url(&["admin", "clients", client_id], &[]);
        if matches!(client_id, "" | "." | "..") || client_id.contains('/') {
            return Err(HydraError::NotFound {
                url: url.to_string(),
                description: format!("{client_id:?} cannot be addressed as a client id"),
            });
        }
        Ok(url)
    }

    // --- plumbing ------------------------------------------------------------

    /// The admin URL with `segments` appended (each percent-encoded as one
    /// segment) and `query` set.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.admin_url.clone();
        // Only cannot-be-a-base URLs (mailto:, data:) have no path segments;
        // the configuration accepts http(s) URLs only.
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url.set_query(None);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    /// `/admin/oauth2/auth/requests/{flow}[/{action}]?{param}={challenge}`.
    fn flow_url(&self, flow: &str, action: Option<&str>, param: &str, challenge: &str) -> Url {
        let mut segments = vec!["admin", "oauth2", "auth", "requests", flow];
        segments.extend(action);
        self.url(&segments, &[(param, challenge)])
    }

    /// Sends the request; any answer but 2xx becomes the matching error.
    async fn send(
        &self,
        request: RequestBuilder,
        url: &Url,
    ) -> Result<reqwest::Response, HydraError> {
        let response = crate::infra::metrics::upstream(request.send())
            .await
            .map_err(|source| HydraError::Unreachable {
                url: url.to_string(),
                source,
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        // A body that cannot be read still leaves the status to go by.
        let body = response.bytes().await.unwrap_or_default();
        Err(error_from_answer(url, status, &body))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
        url: &Url,
    ) -> Result<T, HydraError> {
        let response = self.send(request, url).await?;
        decode(response, url).await
    }
}

/// The `page_token` of the `rel="next"` target in an RFC 8288 `Link` header
/// such as `</admin/clients?page_size=2&page_token=abc>; rel="next", <...>; rel="first"`.
fn next_page_token(link: &str) -> Option<String> {
    let mut rest = link;
    while let Some(open) = rest.find('<') {
        let after_open = &rest[open + 1..];
        let close = after_open.find('>')?;
        let target = &after_open[..close];
        rest = &after_open[close + 1..];
        let params = rest.split('<').next().unwrap_or_default();
        let is_next = params.split([';', ',']).any(|param| {
            let param = param.trim().replace(' ', "");
            param.eq_ignore_ascii_case("rel=\"next\"") || param.eq_ignore_ascii_case("rel=next")
        });
        if is_next {
            // The target may be relative; only its query matters.
            let base = Url::parse("http://link.invalid/").ok()?;
            let url = base.join(target).ok()?;
            return url
                .query_pairs()
                .find(|(key, _)| key == "page_token")
                .map(|(_, value)| value.into_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(admin: &str) -> HydraClient {
        HydraClient::new(Url::parse(admin).unwrap(), None)
    }

    #[test]
    fn challenges_and_ids_are_percent_encoded() {
        let hydra = client("http://127.0.0.1:4445/");
        let url = hydra.flow_url("login", Some("accept"), "login_challenge", "a&b=c d/é");
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:4445/admin/oauth2/auth/requests/login/accept?login_challenge=a%26b%3Dc+d%2F%C3%A9"
        );
        let url = hydra.client_url("a b?c#d%").unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:4445/admin/clients/a%20b%3Fc%23d%25"
        );
        for unaddressable in ["", ".", "..", "../x", "a/b"] {
            let error = hydra.client_url(unaddressable).unwrap_err();
            assert!(matches!(error, HydraError::NotFound { .. }), "{error:?}");
        }
    }

    #[test]
    fn admin_url_with_a_path_prefix_is_kept() {
        let hydra = client("https://hydra.internal/admin-api/");
        let url = hydra.url(&["health", "ready"], &[]);
        assert_eq!(
            url.as_str(),
            "https://hydra.internal/admin-api/health/ready"
        );
    }

    #[test]
    fn next_page_token_comes_from_the_next_link() {
        let header = r#"<http://127.0.0.1:4445/admin/clients?page_size=2&page_token=abc%3D>; rel="next", </admin/clients?page_size=2>; rel="first""#;
        assert_eq!(next_page_token(header).as_deref(), Some("abc="));
        let first_only = r#"</admin/clients?page_size=2&page_token=zzz>; rel="first""#;
        assert_eq!(next_page_token(first_only), None);
        let relative = r#"</admin/clients?page_token=p2&page_size=2>;rel=next"#;
        assert_eq!(next_page_token(relative).as_deref(), Some("p2"));
        assert_eq!(next_page_token("garbage <unclosed"), None);
        assert_eq!(next_page_token(""), None);
    }
}
