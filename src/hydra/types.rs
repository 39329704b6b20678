//! The JSON documents of Hydra v2's admin API that gatehouse reads and writes.
//!
//! Field names follow Hydra v2.3.0 (`flow/consent_types.go`, `client/client.go`).
//! What Hydra sends is parsed leniently: every field has a default, `null` reads
//! as the default, and unknown fields are ignored (or kept, for clients), so a
//! Hydra that adds or omits a field never breaks a login.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// Reads `null` as the type's default; Hydra writes `null` for empty lists
/// and absent objects in several places.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads `""` as absent: Hydra writes empty strings for unset optional values.
fn empty_as_none<'de, D>(deserializer: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(Option::<String>::deserialize(deserializer)?.filter(|s| !s.is_empty()))
}

/// An OAuth2 client as Hydra stores it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OAuth2Client {
    #[serde(deserialize_with = "null_as_default")]
    pub client_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub client_name: String,
    /// The client's logo, shown on the consent page when it is plain https.
    #[serde(deserialize_with = "null_as_default")]
    pub logo_uri: String,
    /// Only in the answer to `create_client`; Hydra keeps just a hash.
    #[serde(
        deserialize_with = "empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub client_secret: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub redirect_uris: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub grant_types: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub response_types: Vec<String>,
    /// Space-separated scopes the client may request.
    #[serde(deserialize_with = "null_as_default")]
    pub scope: String,
    #[serde(deserialize_with = "null_as_default")]
    pub audience: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub token_endpoint_auth_method: String,
    #[serde(deserialize_with = "null_as_default")]
    pub skip_consent: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub post_logout_redirect_uris: Vec<String>,
    pub metadata: Value,
    /// Everything else Hydra sends (owner, created_at, jwks, ...), kept so
    /// that `gatehouse clients show` prints the whole client.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl OAuth2Client {
    /// The name people see: the client's name, or its id when it has none.
    pub fn display_name(&self) -> &str {
        match self.client_name.trim().is_empty() {
            true => &self.client_id,
            false => &self.client_name,
        }
    }
}

/// What `create_client` sends. Hydra fills in what is left empty (for
/// example `response_types` defaults to `["code"]`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewClient {
    /// Hydra generates an id when this is `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    pub client_name: String,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_types: Vec<String>,
    pub scope: String,
    pub audience: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, or `none` for public clients.
    pub token_endpoint_auth_method: String,
    pub skip_consent: bool,
    pub post_logout_redirect_uris: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// Optional OpenID Connect parameters of the authorization request.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct OidcContext {
    #[serde(deserialize_with = "empty_as_none")]
    pub login_hint: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub ui_locales: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub acr_values: Vec<String>,
    #[serde(deserialize_with = "empty_as_none")]
    pub display: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub id_token_hint_claims: Map<String, Value>,
}

/// `GET /admin/oauth2/auth/requests/login`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LoginRequest {
    #[serde(deserialize_with = "null_as_default")]
    pub challenge: String,
    /// The user has a remembered session: accept without asking again,
    /// with this `subject`.
    #[serde(deserialize_with = "null_as_default")]
    pub skip: bool,
    /// Empty unless `skip`.
    #[serde(deserialize_with = "null_as_default")]
    pub subject: String,
    #[serde(deserialize_with = "null_as_default")]
    pub client: OAuth2Client,
    #[serde(deserialize_with = "null_as_default")]
    pub requested_scope: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub requested_access_token_audience: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub request_url: String,
    #[serde(deserialize_with = "null_as_default")]
    pub oidc_context: OidcContext,
    #[serde(deserialize_with = "empty_as_none")]
    pub session_id: Option<String>,
}

/// Body of `PUT /admin/oauth2/auth/requests/login/accept`. Hydra rejects
/// unknown fields here, so only its own names appear.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AcceptLogin {
    pub subject: String,
    pub remember: bool,
    /// Seconds; 0 means for the browser session.
    pub remember_for: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    pub amr: Vec<String>,
    /// Data handed on to the consent request.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub context: Value,
    /// Only allowed when the login request had `skip`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub extend_session_lifespan: bool,
}

/// Body of every `.../reject` call: an OAuth2 error for the client.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Reject {
    /// An OAuth2 error code such as `access_denied` or `login_required`.
    pub error: String,
    pub error_description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_hint: Option<String>,
    /// Hydra defaults to 400.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
}

/// Where to send the browser next.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Redirect {
    pub redirect_to: String,
}

/// A consent Hydra remembers (`GET /admin/oauth2/auth/sessions/consent`):
/// what the client asked for then, and what the person granted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PreviousConsent {
    #[serde(deserialize_with = "null_as_default")]
    pub consent_request: PreviousConsentRequest,
    #[serde(deserialize_with = "null_as_default")]
    pub grant_scope: Vec<String>,
    /// RFC 3339, in UTC.
    #[serde(deserialize_with = "null_as_default")]
    pub handled_at: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PreviousConsentRequest {
    #[serde(deserialize_with = "null_as_default")]
    pub client: OAuth2Client,
    #[serde(deserialize_with = "null_as_default")]
    pub requested_scope: Vec<String>,
}

/// `GET /admin/oauth2/auth/requests/consent`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct ConsentRequest {
    #[serde(deserialize_with = "null_as_default")]
    pub challenge: String,
    /// The user granted these scopes to this client before.
    #[serde(deserialize_with = "null_as_default")]
    pub skip: bool,
    #[serde(deserialize_with = "null_as_default")]
    pub subject: String,
    #[serde(deserialize_with = "null_as_default")]
    pub client: OAuth2Client,
    #[serde(deserialize_with = "null_as_default")]
    pub requested_scope: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub requested_access_token_audience: Vec<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub request_url: String,
    #[serde(deserialize_with = "empty_as_none")]
    pub login_challenge: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    pub login_session_id: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub oidc_context: OidcContext,
    /// What the login step put in `AcceptLogin::context` (null when nothing).
    pub context: Value,
    #[serde(deserialize_with = "empty_as_none")]
    pub acr: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub amr: Vec<String>,
}

/// Body of `PUT /admin/oauth2/auth/requests/consent/accept`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AcceptConsent {
    pub grant_scope: Vec<String>,
    pub grant_access_token_audience: Vec<String>,
    pub remember: bool,
    /// Seconds; 0 means forever.
    pub remember_for: u64,
    pub session: ConsentSession,
}

/// Extra claims Hydra puts into the tokens it issues for this consent.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConsentSession {
    pub id_token: Map<String, Value>,
    pub access_token: Map<String, Value>,
}

/// `GET /admin/oauth2/auth/requests/logout`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct LogoutRequest {
    #[serde(deserialize_with = "null_as_default")]
    pub challenge: String,
    #[serde(deserialize_with = "null_as_default")]
    pub subject: String,
    #[serde(deserialize_with = "empty_as_none")]
    pub sid: Option<String>,
    /// The client that asked for the logout (RP-initiated logout only).
    pub client: Option<OAuth2Client>,
    #[serde(deserialize_with = "null_as_default")]
    pub request_url: String,
    #[serde(deserialize_with = "null_as_default")]
    pub rp_initiated: bool,
}

/// `POST /admin/oauth2/introspect` (RFC 7662). Only `active` is always there.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Introspection {
    #[serde(deserialize_with = "null_as_default")]
    pub active: bool,
    pub sub: Option<String>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub nbf: Option<i64>,
    pub iss: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub aud: Vec<String>,
    /// `access_token` or `refresh_token`.
    pub token_use: Option<String>,
    pub token_type: Option<String>,
    pub username: Option<String>,
    /// Claims from `ConsentSession::access_token`.
    #[serde(deserialize_with = "null_as_default")]
    pub ext: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nulls_and_missing_fields_read_as_defaults() {
        let request: LoginRequest = serde_json::from_value(json!({
            "challenge": "abc",
            "client": null,
            "oidc_context": null,
            "requested_scope": null,
            "session_id": "",
            "something_new": {"nested": true},
        }))
        .unwrap();
        assert_eq!(request.challenge, "abc");
        assert_eq!(request.client, OAuth2Client::default());
        assert!(request.requested_scope.is_empty());
        assert_eq!(request.session_id, None);
        assert!(!request.skip);
    }

    #[test]
    fn a_client_without_a_name_is_shown_by_its_id() {
        let client = |name: &str| OAuth2Client {
            client_id: "app-id".into(),
            client_name: name.into(),
            ..OAuth2Client::default()
        };
        assert_eq!(client("Shop").display_name(), "Shop");
        assert_eq!(client("").display_name(), "app-id");
        assert_eq!(client(" \t").display_name(), "app-id");
    }

    #[test]
    fn client_keeps_unknown_fields_and_hides_empty_secret() {
        let client: OAuth2Client = serde_json::from_value(json!({
            "client_id": "id",
            "client_secret": "",
            "redirect_uris": null,
            "owner": "ops",
            "created_at": "2025-01-01T00:00:00Z",
        }))
        .unwrap();
        assert_eq!(client.client_secret, None);
        assert!(client.redirect_uris.is_empty());
        assert_eq!(client.other["owner"], "ops");
        let back = serde_json::to_value(&client).unwrap();
        assert_eq!(back["owner"], "ops");
        assert!(back.get("client_secret").is_none());
    }

    #[test]
    fn accept_login_sends_only_hydra_field_names() {
        let body = serde_json::to_value(AcceptLogin {
            subject: "user-1".into(),
            remember: true,
            remember_for: 3600,
            amr: vec!["sms".into()],
            ..AcceptLogin::default()
        })
        .unwrap();
        assert_eq!(
            body,
            json!({"subject": "user-1", "remember": true, "remember_for": 3600, "amr": ["sms"]})
        );
    }

    #[test]
    fn introspection_of_an_inactive_token() {
        let inactive: Introspection = serde_json::from_value(json!({"active": false})).unwrap();
        assert!(!inactive.active);
        assert_eq!(inactive.sub, None);
    }
}
