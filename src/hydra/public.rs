//! A client for Hydra's public API that plays a browser and an OAuth2
//! client at once, for the headless sign-in: the authorization request with
//! PKCE, the redirect hops between login, consent and the client, and the
//! code exchange at `/oauth2/token`.
//!
//! Hydra's public API is called on its own URL, not through gatehouse's
//! proxy: Hydra's redirects name its issuer (gatehouse's public URL), which
//! may be a TLS-terminating proxy this process cannot reach, and the detour
//! would buy nothing. So each redirect's origin is swapped for Hydra's before
//! it is followed, and `X-Forwarded-Proto` carries the public scheme as the
//! proxy sends it (without it an https Hydra refuses plain-http requests).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use crate::config::CaFile;
use crate::infra::http::{self, Peer};
use crate::infra::metrics;
use crate::infra::random::random_hex;

/// Hydra's cookies for one flow, name -> value. Kept by hand rather than in
/// a browser-like jar: the flow is stored between two requests of the app,
/// and every hop goes to the same Hydra (see [`keep_cookie`]).
pub type Cookies = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum PublicError {
    /// Hydra said no to a request built from gatehouse's configuration
    /// (client not registered, wrong secret or redirect URI, ...).
    #[error("Hydra refused the sign-in: {error}: {description}")]
    Refused { error: String, description: String },
    /// Hydra's public API is down or answered something unexpected.
    #[error("Hydra's public API: {0}")]
    Unavailable(String),
}

/// Hydra's token response, handed to the app as it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Only with the `offline_access` scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    pub token_type: String,
    #[serde(default)]
    pub scope: String,
}

/// The OAuth2 client a flow runs as, as registered in Hydra.
pub struct OAuthClient<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
}

/// One authorization request made at Hydra in the app's place: the login
/// challenge to answer, what the end of the flow must match (state, nonce,
/// PKCE verifier) and Hydra's cookies for the hops between.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub login_challenge: String,
    pub state: String,
    pub nonce: String,
    pub code_verifier: String,
    pub cookies: Cookies,
}

#[derive(Clone)]
pub struct HydraPublic {
    /// Follows no redirects and keeps no cookies: every hop is done by hand.
    http: reqwest::Client,
    /// Hydra's public URL, where the requests go.
    base: Url,
    /// Gatehouse's public URL: Hydra's issuer, named in its redirects.
    issuer: Url,
}

impl HydraPublic {
    /// `ca_file`: for an external Hydra's https URL behind a private CA.
    pub fn new(base: Url, issuer: Url, ca_file: Option<&CaFile>) -> HydraPublic {
        HydraPublic {
            http: http::client(Peer::Hydra {
                timeout: Duration::from_secs(15),
                ca_file,
            }),
            base,
            issuer,
        }
    }

    /// Starts an authorization code flow with PKCE, up to Hydra's redirect
    /// to the login page.
    pub async fn authorize(
        &self,
        client: &OAuthClient<'_>,
        scope: &str,
    ) -> Result<Authorization, PublicError> {
        let code_verifier = random_hex(32);
        let state = random_hex(16);
        let nonce = random_hex(16);
        let mut authorize = self.url(&["oauth2", "auth"]);
        authorize.query_pairs_mut().extend_pairs([
            ("response_type", "code"),
            ("client_id", client.client_id),
            ("redirect_uri", client.redirect_uri),
            ("scope", scope),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", pkce_challenge(&code_verifier).as_str()),
            ("code_challenge_method", "S256"),
        ]);
        let mut cookies = Cookies::new();
        let to_login = self.hop(&authorize, &mut cookies).await?;
        let login_challenge = query_param(&to_login, "login_challenge")
            .ok_or_else(|| unexpected_redirect(&to_login, "login_challenge"))?;
        Ok(Authorization {
            login_challenge,
            state,
            nonce,
            code_verifier,
            cookies,
        })
    }

    /// Follows an accepted login (`redirect_to` from the admin API) to the
    /// consent challenge Hydra asks for next.
    pub async fn follow_to_consent(
        &self,
        redirect_to: &str,
        cookies: &mut Cookies,
    ) -> Result<String, PublicError> {
        let to_consent = self.hop(&self.to_hydra(redirect_to)?, cookies).await?;
        query_param(&to_consent, "consent_challenge")
            .ok_or_else(|| unexpected_redirect(&to_consent, "consent_challenge"))
    }

    /// Follows an accepted consent to the client's redirect URI and returns
    /// the authorization code, checking the endpoint and the state.
    pub async fn follow_to_client(
        &self,
        redirect_to: &str,
        cookies: &mut Cookies,
        client: &OAuthClient<'_>,
        authorization: &Authorization,
    ) -> Result<String, PublicError> {
        let to_app = self.hop(&self.to_hydra(redirect_to)?, cookies).await?;
        if !same_endpoint(&to_app, client.redirect_uri) {
            return Err(unexpected_redirect(&to_app, "the client's redirect_uri"));
        }
        let code =
            query_param(&to_app, "code").ok_or_else(|| unexpected_redirect(&to_app, "code"))?;
        if query_param(&to_app, "state").as_deref() != Some(authorization.state.as_str()) {
            return Err(PublicError::Unavailable(
                "Hydra's redirect carries another state".into(),
            ));
        }
        Ok(code)
    }

    /// Exchanges the authorization code, authenticating the way the client
    /// is registered in Hydra (`auth_method`), and checks the id_token's
    /// nonce against the authorization's.
    pub async fn exchange_code(
        &self,
        client: &OAuthClient<'_>,
        auth_method: &str,
        code: &str,
        authorization: &Authorization,
    ) -> Result<Tokens, PublicError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", client.redirect_uri),
            ("code_verifier", authorization.code_verifier.as_str()),
        ];
        let mut request = self
            .http
            .post(self.url(&["oauth2", "token"]))
            .header("x-forwarded-proto", self.forwarded_proto());
        match auth_method {
            "client_secret_post" => {
                form.push(("client_id", client.client_id));
                form.push(("client_secret", client.client_secret));
            }
            "none" => form.push(("client_id", client.client_id)),
            // Hydra's default. RFC 6749 2.3.1: both parts are form-encoded
            // before they go into the Basic header.
            _ => {
                request = request.basic_auth(
                    form_encode(client.client_id),
                    Some(form_encode(client.client_secret)),
                )
            }
        }
        let sent = async {
            let response = request.form(&form).send().await?;
            let status = response.status();
            Ok::<_, reqwest::Error>((status, response.bytes().await?))
        };
        let (status, body) = metrics::upstream(sent)
            .await
            .map_err(|e| PublicError::Unavailable(format!("POST /oauth2/token: {e}")))?;
        if status.is_client_error() {
            let error: Value = serde_json::from_slice(&body).unwrap_or_default();
            let text = |key: &str| error[key].as_str().unwrap_or_default().to_string();
            return Err(PublicError::Refused {
                error: text("error"),
                description: text("error_description"),
            });
        }
        if !status.is_success() {
            return Err(PublicError::Unavailable(format!(
                "POST /oauth2/token answered {status}"
            )));
        }
        let tokens: Tokens = serde_json::from_slice(&body).map_err(|e| {
            PublicError::Unavailable(format!("POST /oauth2/token: unexpected answer: {e}"))
        })?;
        if let Some(id_token) = &tokens.id_token {
            if id_token_nonce(id_token).as_deref() != Some(authorization.nonce.as_str()) {
                return Err(PublicError::Unavailable(
                    "the id_token carries another nonce".into(),
                ));
            }
        }
        Ok(tokens)
    }

    /// GETs `url` as a browser would: sends `cookies`, keeps those Hydra
    /// sets, and returns where Hydra redirects (an OAuth2 error in that
    /// redirect becomes [`PublicError::Refused`]).
    async fn hop(&self, url: &Url, cookies: &mut Cookies) -> Result<Url, PublicError> {
        // Paths only in errors: the queries carry verifiers.
        let path = url.path();
        let mut request = self
            .http
            .get(url.clone())
            .header("x-forwarded-proto", self.forwarded_proto());
        if !cookies.is_empty() {
            request = request.header(COOKIE, cookie_header(cookies));
        }
        let response = metrics::upstream(request.send())
            .await
            .map_err(|e| PublicError::Unavailable(format!("GET {path}: {e}")))?;
        for value in response.headers().get_all(SET_COOKIE) {
            if let Ok(value) = value.to_str() {
                keep_cookie(cookies, value);
            }
        }
        let status = response.status();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|location| url.join(location).ok());
        let location = match location {
            Some(location) if status.is_redirection() => location,
            _ => {
                return Err(PublicError::Unavailable(format!(
                    "GET {path} answered {status} without a redirect"
                )))
            }
        };
        if let Some(error) = query_param(&location, "error") {
            return Err(PublicError::Refused {
                error,
                description: query_param(&location, "error_description").unwrap_or_default(),
            });
        }
        Ok(location)
    }

    /// Where to follow a redirect Hydra named: its own public URL as it is,
    /// its issuer (gatehouse's public URL) moved onto Hydra's public URL.
    /// Any other origin never gets Hydra's cookies.
    fn to_hydra(&self, redirect_to: &str) -> Result<Url, PublicError> {
        let url = Url::parse(redirect_to)
            .map_err(|e| PublicError::Unavailable(format!("bad redirect from Hydra: {e}")))?;
        if url.origin() == self.base.origin() {
            return Ok(url);
        }
        if url.origin() != self.issuer.origin() {
            return Err(unexpected_redirect(&url, "Hydra's own URL"));
        }
        let mut target = self.base.clone();
        target.set_path(url.path());
        target.set_query(url.query());
        Ok(target)
    }

    /// Hydra's public URL with `segments` appended (keeping any base path).
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// The scheme clients use, as the proxy tells Hydra.
    fn forwarded_proto(&self) -> &str {
        self.issuer.scheme()
    }
}

/// RFC 7636 S256: BASE64URL(SHA256(verifier)).
fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// Same scheme, host, port and path: where the client's code is delivered.
fn same_endpoint(url: &Url, redirect_uri: &str) -> bool {
    Url::parse(redirect_uri).is_ok_and(|expected| {
        url.scheme() == expected.scheme()
            && url.host() == expected.host()
            && url.port_or_known_default() == expected.port_or_known_default()
            && url.path() == expected.path()
    })
}

fn unexpected_redirect(location: &Url, expected: &str) -> PublicError {
    PublicError::Unavailable(format!(
        "Hydra redirected to {}{} instead of {expected}",
        location.origin().ascii_serialization(),
        location.path()
    ))
}

/// `name=value; name=value`, as a browser sends them.
fn cookie_header(cookies: &Cookies) -> String {
    cookies
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Applies one `Set-Cookie` to `cookies`. Only name and value matter: every
/// hop goes to the same Hydra, and attributes such as `Secure` are kept out
/// of the decision on purpose: with an https issuer Hydra sets `Secure`
/// cookies, yet gatehouse may reach it over plain http on a host that is
/// not loopback (an external Hydra on a private network), where a
/// browser-like jar would drop them and the flow would fail its CSRF check.
fn keep_cookie(cookies: &mut Cookies, set_cookie: &str) {
    let mut parts = set_cookie.split(';');
    let Some((name, value)) = parts.next().and_then(|pair| pair.split_once('=')) else {
        return;
    };
    let name = name.trim();
    if name.is_empty() {
        return;
    }
    let deleted = parts.any(|attribute| match attribute.trim().split_once('=') {
        Some((key, age)) if key.trim().eq_ignore_ascii_case("max-age") => {
            age.trim().parse::<i64>().is_ok_and(|age| age <= 0)
        }
        _ => false,
    });
    if deleted || value.trim().is_empty() {
        cookies.remove(name);
    } else {
        cookies.insert(name.to_string(), value.trim().to_string());
    }
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The `nonce` claim of an id_token. The token comes straight from Hydra's
/// token endpoint, so its payload is read without checking the signature
/// (OIDC Core 3.1.3.7).
fn id_token_nonce(id_token: &str) -> Option<String> {
    let payload = id_token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["nonce"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_matches_rfc_7636_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn cookies_are_kept_replaced_and_deleted() {
        let mut cookies = Cookies::new();
        keep_cookie(
            &mut cookies,
            "ory_hydra_login_csrf_dev_123=abc==; Path=/; Expires=Mon, 01 Jan 2035 00:00:00 GMT; Max-Age=1800; HttpOnly; Secure; SameSite=Lax",
        );
        keep_cookie(&mut cookies, "other=1; Path=/");
        assert_eq!(cookies["ory_hydra_login_csrf_dev_123"], "abc==");
        keep_cookie(&mut cookies, "other=2");
        assert_eq!(cookies["other"], "2");
        keep_cookie(&mut cookies, "other=; Max-Age=0");
        keep_cookie(&mut cookies, "ory_hydra_login_csrf_dev_123=x; max-age=-1");
        assert!(cookies.is_empty(), "{cookies:?}");
        for garbage in ["", "=x", "novalue", ";;;"] {
            keep_cookie(&mut cookies, garbage);
        }
        assert!(cookies.is_empty(), "{cookies:?}");
        cookies.insert("a".into(), "1".into());
        cookies.insert("b".into(), "2".into());
        assert_eq!(cookie_header(&cookies), "a=1; b=2");
    }

    #[test]
    fn nonce_is_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"u","nonce":"n-1"}"#);
        assert_eq!(
            id_token_nonce(&format!("h.{payload}.s")).as_deref(),
            Some("n-1")
        );
        for garbage in ["", "a", "a.!!!.c", "a.e30.c"] {
            assert_eq!(id_token_nonce(garbage), None, "{garbage}");
        }
    }

    #[test]
    fn redirect_endpoint_ignores_the_query_only() {
        let registered = "https://app.example/cb";
        let ok = Url::parse("https://app.example/cb?code=1&state=2").unwrap();
        let other_path = Url::parse("https://app.example/cb2?code=1").unwrap();
        let other_host = Url::parse("https://evil.example/cb?code=1").unwrap();
        assert!(same_endpoint(&ok, registered));
        assert!(!same_endpoint(&other_path, registered));
        assert!(!same_endpoint(&other_host, registered));
        // Native apps often register a private-use scheme (RFC 8252 7.1).
        let native = Url::parse("com.example.app:/oauth2?code=1&state=2").unwrap();
        assert!(same_endpoint(&native, "com.example.app:/oauth2"));
    }

    #[test]
    fn basic_credentials_are_form_encoded() {
        assert_eq!(form_encode("my app:1/é"), "my+app%3A1%2F%C3%A9");
    }
}
