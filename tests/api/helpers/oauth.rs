//! An OAuth2 client of the Authorization Code + PKCE flow through gatehouse
//! and the real Hydra, and checks of the JWTs it gets.

use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;

use super::{TestApp, WebhookSink};

/// A registered client and its callback.
#[derive(Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub redirect_uri: String,
}

/// The user-held parts of one authorization request.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

pub fn random_token() -> String {
    gatehouse::infra::random::random_hex(16)
}

/// Registers a confidential client for the code flow. `callback` receives
/// the browser at the end (a sink that records the query).
pub async fn register_client(app: &TestApp, callback: &WebhookSink, extra: Value) -> Client {
    let mut body = json!({
        "client_name": "Test App",
        "redirect_uris": [callback.url],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "scope": "openid offline_access profile email phone address",
        "token_endpoint_auth_method": "client_secret_post",
        "post_logout_redirect_uris": [callback.url],
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            body.insert(k.clone(), v.clone());
        }
    }
    let created = app.create_client(body).await;
    Client {
        id: created["client_id"].as_str().unwrap().to_string(),
        secret: created["client_secret"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        redirect_uri: callback.url.clone(),
    }
}

impl Client {
    pub fn authorize(&self, app: &TestApp, scope: &str) -> Authorization {
        self.authorize_with(app, scope, &[])
    }

    pub fn authorize_with(
        &self,
        app: &TestApp,
        scope: &str,
        extra: &[(&str, &str)],
    ) -> Authorization {
        let (state, nonce, verifier) = (
            random_token(),
            random_token(),
            random_token() + &random_token(),
        );
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        let mut url = Url::parse(&app.url("/oauth2/auth")).unwrap();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", scope)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        for (k, v) in extra {
            url.query_pairs_mut().append_pair(k, v);
        }
        Authorization {
            url: url.to_string(),
            state,
            nonce,
            verifier,
        }
    }

    /// Exchanges a code (with the PKCE verifier) at the token endpoint.
    pub async fn exchange(&self, app: &TestApp, code: &str, verifier: &str) -> (u16, Value) {
        self.token_request(
            app,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    pub async fn refresh(&self, app: &TestApp, refresh_token: &str) -> (u16, Value) {
        self.token_request(
            app,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// Revokes `token` at the revocation endpoint; returns the status.
    pub async fn revoke(&self, app: &TestApp, token: &str) -> u16 {
        let (status, _) = self.post(app, "/oauth2/revoke", &[("token", token)]).await;
        status
    }

    async fn token_request(&self, app: &TestApp, form: &[(&str, &str)]) -> (u16, Value) {
        self.post(app, "/oauth2/token", form).await
    }

    /// POSTs `form` with the client's credentials (client_secret_post) to
    /// `path` on the public port; returns the status and the JSON answer.
    async fn post(&self, app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let mut form: Vec<(&str, &str)> = form.to_vec();
        form.push(("client_id", &self.id));
        form.push(("client_secret", &self.secret));
        let response = app
            .http
            .post(app.url(path))
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Decodes a JWT's payload without checking it (for claims only).
pub fn jwt_payload(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON payload")
}

/// Verifies a JWT's RS256 signature against the app's JWKS and returns its claims.
pub async fn verify_jwt(app: &TestApp, token: &str, audience: Option<&str>) -> Value {
    let jwks: JwkSet = app.get_json("/.well-known/jwks.json").await;
    verify_jwt_with(&jwks, token, &issuer(app).await, audience)
}

/// Verifies a JWT (RS256 with a key of `jwks`, `issuer`, `audience` when
/// given, expiry) and returns its claims.
pub fn verify_jwt_with(jwks: &JwkSet, token: &str, issuer: &str, audience: Option<&str>) -> Value {
    let header = decode_header(token).expect("JWT header");
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.expect("kid in header");
    let jwk = jwks.find(&kid).expect("signing key in the JWKS");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    match audience {
        Some(aud) => validation.set_audience(&[aud]),
        None => validation.validate_aud = false,
    }
    validation.set_issuer(&[issuer]);
    decode::<Value>(token, &key, &validation)
        .expect("signature, issuer, audience and expiry verify")
        .claims
}

/// The verified claims of the id_token in a token answer, issued to `client_id`.
pub async fn id_token_claims(app: &TestApp, tokens: &Value, client_id: &str) -> Value {
    let id_token = tokens["id_token"].as_str().expect("an id_token");
    verify_jwt(app, id_token, Some(client_id)).await
}

pub async fn issuer(app: &TestApp) -> String {
    let discovery: Value = app.get_json("/.well-known/openid-configuration").await;
    discovery["issuer"].as_str().unwrap().to_string()
}
