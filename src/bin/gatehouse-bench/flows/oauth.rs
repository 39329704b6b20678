//! The OAuth client's part of the code flow, as the benchmark's browser
//! client plays it against gatehouse's proxy or straight against Hydra: the
//! authorization request with PKCE, the callback check, the token endpoint.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::http::{api_call, param};
use super::Ctx;
use crate::server::{BROWSER_CLIENT, CLIENT_SECRET, SCOPE};

/// An authorization request with PKCE: the URL on `base`, state, verifier.
pub fn authorization(base: &Url, redirect_uri: &str) -> (Url, String, String) {
    let state = gatehouse::infra::random::random_hex(16);
    let verifier = gatehouse::infra::random::random_hex(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = base.join("/oauth2/auth").expect("a path");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", BROWSER_CLIENT)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPE)
        .append_pair("state", &state)
        .append_pair("nonce", &gatehouse::infra::random::random_hex(16))
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    (url, state, verifier)
}

/// Checks the callback's state and returns its code.
pub fn callback_code(callback: &Url, expected_base: &str, state: &str) -> Result<String, String> {
    if !callback.as_str().starts_with(expected_base) {
        return Err(format!("expected the callback, was sent to {callback}"));
    }
    if param(callback, "state").as_deref() != Some(state) {
        return Err("the callback carries another state".into());
    }
    param(callback, "code").ok_or_else(|| "no code in the callback".into())
}

/// Exchanges a code or a refresh token at `base`'s token endpoint; returns
/// the token response.
pub async fn token(ctx: &Ctx, base: &Url, form: &[(&str, &str)]) -> Result<Value, String> {
    let mut form = form.to_vec();
    form.extend([
        ("client_id", BROWSER_CLIENT),
        ("client_secret", CLIENT_SECRET),
    ]);
    let request = ctx.http.post(base.join("/oauth2/token").expect("a path"));
    let tokens = api_call(request.form(&form), "token").await?;
    if tokens["access_token"].as_str().is_none() {
        return Err(format!("token: no access_token in {tokens}"));
    }
    Ok(tokens)
}

/// Exchanges the callback's authorization code (with the PKCE verifier) at
/// `base`'s token endpoint.
pub async fn exchange_code(
    ctx: &Ctx,
    base: &Url,
    code: &str,
    verifier: &str,
) -> Result<Value, String> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &ctx.callback),
        ("code_verifier", verifier),
    ];
    token(ctx, base, &form).await
}
