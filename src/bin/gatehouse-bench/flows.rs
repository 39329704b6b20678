//! One flow of each scenario, timed step by step. A flow returns its steps'
//! durations or the first thing that went wrong, in words.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use gatehouse::sms::error_chain;
use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{RequestBuilder, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;

use crate::server::{Server, BROWSER_CLIENT, CLIENT_SECRET, HEADLESS_CLIENT, SCOPE};
use gatehouse::domain::{OtpCode, PhoneNumber};
use gatehouse::signin::otp::OtpService;
use gatehouse::sms::MemoryOutbox;

pub type Steps = Vec<(&'static str, Duration)>;
pub type FlowResult = Result<Steps, String>;

/// Who answers a step: gatehouse itself, or Hydra (through gatehouse's
/// proxy, or directly in `bare-hydra`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Owner {
    Gatehouse,
    Hydra,
    /// In-process library calls (the `otp` scenario).
    Library,
}

/// A step's name, owner, and which gatehouse route (method, status class)
/// carries it, to find its own time in the metrics.
pub struct StepInfo {
    pub name: &'static str,
    pub owner: Owner,
    pub route: Option<(&'static str, &'static str, &'static str)>,
}

const fn step(
    name: &'static str,
    owner: Owner,
    route: Option<(&'static str, &'static str, &'static str)>,
) -> StepInfo {
    StepInfo { name, owner, route }
}

const PROXY: &str = "/oauth2/{*rest}";

pub const BROWSER_STEPS: &[StepInfo] = &[
    step("authorize", Owner::Hydra, Some((PROXY, "GET", "3"))),
    step("login page", Owner::Gatehouse, Some(("/login", "GET", "2"))),
    step("send code", Owner::Gatehouse, Some(("/login", "POST", "2"))),
    step(
        "verify code",
        Owner::Gatehouse,
        Some(("/login", "POST", "3")),
    ),
    step("login verifier", Owner::Hydra, None),
    step("consent", Owner::Gatehouse, Some(("/consent", "GET", "3"))),
    step("consent verifier", Owner::Hydra, None),
    step("token", Owner::Hydra, Some((PROXY, "POST", "2"))),
];

pub const HEADLESS_STEPS: &[StepInfo] = &[
    step(
        "request-otp",
        Owner::Gatehouse,
        Some(("/api/headless/request-otp", "POST", "2")),
    ),
    step(
        "verify-otp",
        Owner::Gatehouse,
        Some(("/api/headless/verify-otp", "POST", "2")),
    ),
];

pub const BARE_STEPS: &[StepInfo] = &[
    step("authorize", Owner::Hydra, None),
    step("accept login", Owner::Hydra, None),
    step("login verifier", Owner::Hydra, None),
    step("accept consent", Owner::Hydra, None),
    step("consent verifier", Owner::Hydra, None),
    step("token", Owner::Hydra, None),
];

pub const REFRESH_STEPS: &[StepInfo] = &[step("refresh", Owner::Hydra, Some((PROXY, "POST", "2")))];

pub const OTP_STEPS: &[StepInfo] = &[
    step("issue", Owner::Library, None),
    step("verify", Owner::Library, None),
];

/// Distinct phone numbers and client addresses for every flow of a run, so
/// that no abuse limit is reached at its default setting.
pub struct Identities(AtomicU64);

impl Identities {
    pub fn new() -> Identities {
        Identities(AtomicU64::new(0))
    }

    /// A valid US number in E.164 and an address from 198.18.0.0/15, the
    /// range reserved for benchmarks (RFC 2544): the per-IP limit counts it
    /// through X-Forwarded-For, which gatehouse believes from loopback.
    pub fn next(&self) -> (String, String) {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        const AREAS: [u32; 8] = [201, 212, 305, 312, 415, 617, 718, 808];
        let area = AREAS[(n / 8_000_000 % 8) as usize];
        let exchange = 200 + n / 10_000 % 800;
        let phone = format!("+1{area}{exchange}{:04}", n % 10_000);
        let ip = format!("198.{}.{}.{}", 18 + (n >> 16) % 2, (n >> 8) % 256, n % 256);
        (phone, ip)
    }
}

/// What every HTTP flow needs.
pub struct Ctx {
    pub http: reqwest::Client,
    pub public: Url,
    pub hydra_public: Url,
    pub hydra_admin: String,
    pub callback: String,
    pub sms: crate::server::SmsSink,
    pub ids: Identities,
}

impl Ctx {
    pub fn new(server: &Server) -> Arc<Ctx> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client with static settings");
        Arc::new(Ctx {
            http,
            public: Url::parse(&server.public).expect("a URL"),
            hydra_public: Url::parse(&server.hydra_public).expect("a URL"),
            hydra_admin: server.hydra_admin.clone(),
            callback: server.callback.clone(),
            sms: server.sms.clone(),
            ids: Identities::new(),
        })
    }
}

/// A browser's cookies for one origin; Hydra's CSRF cookies and gatehouse's.
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn keep(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let mut parts = value.split(';');
            let Some((name, val)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
                continue;
            };
            let expired = parts.any(|attr| {
                let attr = attr.trim().to_ascii_lowercase();
                attr.strip_prefix("max-age=")
                    .is_some_and(|age| age.parse::<i64>().is_ok_and(|a| a <= 0))
            });
            self.0.retain(|(n, _)| n != name);
            if !expired && !val.is_empty() {
                self.0.push((name.to_string(), val.to_string()));
            }
        }
    }

    fn apply(&self, request: RequestBuilder) -> RequestBuilder {
        if self.0.is_empty() {
            return request;
        }
        let header: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}={v}")).collect();
        request.header(COOKIE, header.join("; "))
    }
}

/// One hop as a browser sees it.
struct Hop {
    status: u16,
    location: Option<Url>,
    body: String,
}

async fn hop(
    request: RequestBuilder,
    base: &Url,
    jar: &mut Jar,
    what: &str,
) -> Result<Hop, String> {
    let response: Response = jar
        .apply(request)
        .send()
        .await
        .map_err(|e| format!("{what}: {}", error_chain(&e)))?;
    jar.keep(response.headers());
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| base.join(l).ok());
    let body = response
        .text()
        .await
        .map_err(|e| format!("{what}: reading the body: {e}"))?;
    Ok(Hop {
        status,
        location,
        body,
    })
}

fn excerpt(text: &str) -> String {
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    text.chars().take(300).collect()
}

impl Hop {
    fn expect_redirect(self, what: &str) -> Result<Url, String> {
        match self.location {
            Some(location) if (300..400).contains(&self.status) => {
                if let Some(error) = param(&location, "error") {
                    let description = param(&location, "error_description").unwrap_or_default();
                    return Err(format!("{what}: redirected with {error}: {description}"));
                }
                Ok(location)
            }
            _ => Err(format!(
                "{what}: expected a redirect, got {}: {}",
                self.status,
                excerpt(&self.body)
            )),
        }
    }

    fn expect_page(self, what: &str) -> Result<String, String> {
        if self.status == 200 {
            Ok(self.body)
        } else {
            Err(format!(
                "{what}: expected 200, got {} {:?}: {}",
                self.status,
                self.location.map(String::from),
                excerpt(&self.body)
            ))
        }
    }
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `name="..." value="..."` of the page's hidden inputs (maud's markup).
fn hidden(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("type=\"hidden\" name=\"{name}\" value=\""))?;
    let rest = &html[start..];
    let value = &rest[rest.find("value=\"")? + 7..];
    Some(value[..value.find('"')?].replace("&amp;", "&"))
}

/// An authorization request with PKCE: the URL on `base`, state, verifier.
fn authorization(base: &Url, redirect_uri: &str) -> (Url, String, String) {
    let state = gatehouse::store::random_hex(16);
    let verifier = gatehouse::store::random_hex(32);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = base.join("/oauth2/auth").expect("a path");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", BROWSER_CLIENT)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPE)
        .append_pair("state", &state)
        .append_pair("nonce", &gatehouse::store::random_hex(16))
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    (url, state, verifier)
}

/// Checks the callback's state and returns its code.
fn callback_code(callback: &Url, expected_base: &str, state: &str) -> Result<String, String> {
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
async fn token(ctx: &Ctx, base: &Url, form: &[(&str, &str)]) -> Result<Value, String> {
    let mut form = form.to_vec();
    form.extend([
        ("client_id", BROWSER_CLIENT),
        ("client_secret", CLIENT_SECRET),
    ]);
    let response = ctx
        .http
        .post(base.join("/oauth2/token").expect("a path"))
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("token: {}", error_chain(&e)))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status != 200 {
        return Err(format!("token: {status}: {}", excerpt(&body)));
    }
    let tokens: Value = serde_json::from_str(&body).map_err(|e| format!("token: {e}"))?;
    if tokens["access_token"].as_str().is_none() {
        return Err(format!("token: no access_token in {}", excerpt(&body)));
    }
    Ok(tokens)
}

/// Times one step.
macro_rules! timed {
    ($steps:ident, $name:expr, $work:expr) => {{
        let started = Instant::now();
        let output = $work;
        $steps.push(($name, started.elapsed()));
        output
    }};
}

/// `browser`: the authorization code flow with PKCE through gatehouse's
/// pages and proxy, as a browser with a fresh cookie jar does it.
pub async fn browser(ctx: Arc<Ctx>) -> FlowResult {
    let (phone, ip) = ctx.ids.next();
    let mut jar = Jar::default();
    let mut steps = Steps::with_capacity(8);
    let base = &ctx.public;
    let get = |url: Url| ctx.http.get(url).header("x-forwarded-for", &ip);
    let (auth, state, verifier) = authorization(base, &ctx.callback);

    let login = timed!(
        steps,
        "authorize",
        hop(get(auth), base, &mut jar, "authorize").await?
    )
    .expect_redirect("authorize")?;
    let page = timed!(
        steps,
        "login page",
        hop(get(login), base, &mut jar, "login page").await?
    )
    .expect_page("login page")?;
    let challenge = hidden(&page, "login_challenge").ok_or("login page: no login_challenge")?;
    let csrf = hidden(&page, "csrf").ok_or("login page: no csrf token")?;

    let login_url = base.join("/login").expect("a path");
    let form = [
        ("login_challenge", challenge.as_str()),
        ("csrf", &csrf),
        ("action", "send"),
        ("phone", &phone),
    ];
    let post = ctx
        .http
        .post(login_url.clone())
        .header("x-forwarded-for", &ip);
    let code_page = timed!(
        steps,
        "send code",
        hop(post.form(&form), base, &mut jar, "send code").await?
    )
    .expect_page("send code")?;
    if !code_page.contains("one-time-code") {
        return Err(format!("send code: no code form: {}", excerpt(&code_page)));
    }
    let code = ctx
        .sms
        .take(&phone)
        .ok_or_else(|| format!("send code: no SMS reached the sink for {phone}"))?;

    let form = [
        ("login_challenge", challenge.as_str()),
        ("csrf", &csrf),
        ("action", "verify"),
        ("phone", &phone),
        ("code", &code),
    ];
    let post = ctx.http.post(login_url).header("x-forwarded-for", &ip);
    let accepted = timed!(
        steps,
        "verify code",
        hop(post.form(&form), base, &mut jar, "verify code").await?
    )
    .expect_redirect("verify code")?;
    let consent = timed!(
        steps,
        "login verifier",
        hop(get(accepted), base, &mut jar, "login verifier").await?
    )
    .expect_redirect("login verifier")?;
    let granted = timed!(
        steps,
        "consent",
        hop(get(consent), base, &mut jar, "consent").await?
    )
    .expect_redirect("consent")?;
    let callback = timed!(
        steps,
        "consent verifier",
        hop(get(granted), base, &mut jar, "consent verifier").await?
    )
    .expect_redirect("consent verifier")?;
    let code = callback_code(&callback, &ctx.callback, &state)?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", &ctx.callback),
        ("code_verifier", &verifier),
    ];
    timed!(steps, "token", token(&ctx, base, &form).await?);
    Ok(steps)
}

/// `headless`: the two calls of the headless API.
pub async fn headless(ctx: Arc<Ctx>) -> FlowResult {
    let (phone, ip) = ctx.ids.next();
    let mut steps = Steps::with_capacity(2);
    let api = |path: &str| ctx.public.join(path).expect("a path");
    let started = timed!(steps, "request-otp", {
        let body = json!({"phone": phone, "client_id": HEADLESS_CLIENT});
        let request = ctx.http.post(api("/api/headless/request-otp"));
        api_call(
            request.header("x-forwarded-for", &ip).json(&body),
            "request-otp",
        )
        .await?
    });
    let session_id = started["session_id"]
        .as_str()
        .ok_or("request-otp: no session_id")?;
    let code = ctx
        .sms
        .take(&phone)
        .ok_or_else(|| format!("request-otp: no SMS reached the sink for {phone}"))?;
    let tokens = timed!(steps, "verify-otp", {
        let body = json!({"session_id": session_id, "otp": code});
        let request = ctx.http.post(api("/api/headless/verify-otp"));
        api_call(request.json(&body), "verify-otp").await?
    });
    if tokens["access_token"].as_str().is_none() {
        return Err(format!("verify-otp: no access_token in {tokens}"));
    }
    Ok(steps)
}

async fn api_call(request: RequestBuilder, what: &str) -> Result<Value, String> {
    let response = request
        .send()
        .await
        .map_err(|e| format!("{what}: {}", error_chain(&e)))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status != 200 {
        return Err(format!("{what}: {status}: {}", excerpt(&body)));
    }
    serde_json::from_str(&body).map_err(|e| format!("{what}: {e}: {}", excerpt(&body)))
}

/// `bare-hydra`: the same code flow straight at Hydra, with the benchmark
/// accepting login and consent at the admin API: no pages, no code, no
/// claims. The most this machine's Hydra can do; returns the tokens too.
pub async fn bare_hydra_tokens(ctx: &Ctx, steps: &mut Steps) -> Result<Value, String> {
    let mut jar = Jar::default();
    let hydra = &ctx.hydra_public;
    let (auth, state, verifier) = authorization(hydra, &ctx.callback);
    let login = timed!(
        steps,
        "authorize",
        hop(ctx.http.get(auth), hydra, &mut jar, "authorize").await?
    )
    .expect_redirect("authorize")?;
    let challenge = param(&login, "login_challenge").ok_or("authorize: no login_challenge")?;
    let subject = format!("bench-{}", gatehouse::store::random_hex(8));
    let consent = accept_at_admin(
        ctx,
        steps,
        &mut jar,
        Accept::Login,
        &challenge,
        json!({"subject": subject}),
    )
    .await?;
    let challenge =
        param(&consent, "consent_challenge").ok_or("login verifier: no consent_challenge")?;
    let grant_scope: Vec<&str> = SCOPE.split(' ').collect();
    let callback = accept_at_admin(
        ctx,
        steps,
        &mut jar,
        Accept::Consent,
        &challenge,
        json!({"grant_scope": grant_scope}),
    )
    .await?;
    let code = callback_code(&callback, &ctx.callback, &state)?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", &ctx.callback),
        ("code_verifier", &verifier),
    ];
    Ok(timed!(steps, "token", token(ctx, hydra, &form).await?))
}

/// What `bare-hydra` accepts at Hydra's admin API in gatehouse's place.
#[derive(Clone, Copy)]
enum Accept {
    Login,
    Consent,
}

impl Accept {
    /// The flow in the admin path, its challenge parameter, and the names
    /// of the accept step and of the verifier hop after it.
    fn names(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Accept::Login => ("login", "login_challenge", "accept login", "login verifier"),
            Accept::Consent => (
                "consent",
                "consent_challenge",
                "accept consent",
                "consent verifier",
            ),
        }
    }
}

/// Accepts `challenge` with `body` at Hydra's admin API (`PUT
/// .../requests/{flow}/accept`), then follows Hydra's verifier with the
/// cookie jar; returns where the verifier redirects. Both steps are timed.
async fn accept_at_admin(
    ctx: &Ctx,
    steps: &mut Steps,
    jar: &mut Jar,
    accept: Accept,
    challenge: &str,
    body: Value,
) -> Result<Url, String> {
    let (flow, challenge_param, accept_step, verifier_step) = accept.names();
    let answer = timed!(steps, accept_step, {
        let mut url = Url::parse(&ctx.hydra_admin).expect("a URL");
        url.set_path(&format!("/admin/oauth2/auth/requests/{flow}/accept"));
        url.query_pairs_mut()
            .append_pair(challenge_param, challenge);
        api_call(ctx.http.put(url).json(&body), accept_step).await?
    });
    // Hydra names its issuer (gatehouse's origin) in redirects: go to Hydra.
    let hydra = &ctx.hydra_public;
    let mut verifier = redirect_to(&answer, accept_step)?;
    let _ = verifier.set_port(hydra.port());
    timed!(
        steps,
        verifier_step,
        hop(ctx.http.get(verifier), hydra, jar, verifier_step).await?
    )
    .expect_redirect(verifier_step)
}

fn redirect_to(answer: &Value, what: &str) -> Result<Url, String> {
    answer["redirect_to"]
        .as_str()
        .and_then(|r| Url::parse(r).ok())
        .ok_or_else(|| format!("{what}: no redirect_to in {answer}"))
}

pub async fn bare_hydra(ctx: Arc<Ctx>) -> FlowResult {
    let mut steps = Steps::with_capacity(6);
    bare_hydra_tokens(&ctx, &mut steps).await?;
    Ok(steps)
}

/// `refresh`: one refresh-token rotation through gatehouse's proxy; the
/// worker's token is replaced by the new one.
pub async fn refresh(ctx: Arc<Ctx>, token_slot: Arc<tokio::sync::Mutex<String>>) -> FlowResult {
    let mut slot = token_slot.lock().await;
    let mut steps = Steps::with_capacity(1);
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", slot.as_str()),
    ];
    let tokens = timed!(steps, "refresh", token(&ctx, &ctx.public, &form).await?);
    *slot = tokens["refresh_token"]
        .as_str()
        .ok_or("refresh: no new refresh_token")?
        .to_string();
    Ok(steps)
}

/// What the `otp` scenario drives: the OTP service on a store of its own.
pub struct OtpBench {
    pub service: OtpService,
    pub outbox: MemoryOutbox,
    pub ids: Identities,
}

/// `otp`: a code issued and verified, in process, against the store alone.
pub async fn otp(bench: Arc<OtpBench>) -> FlowResult {
    let (phone, ip) = bench.ids.next();
    let phone = PhoneNumber::parse(&phone, None).map_err(|e| format!("{phone}: {e}"))?;
    let ip = ip.parse().map_err(|e| format!("{ip}: {e}"))?;
    let mut steps = Steps::with_capacity(2);
    timed!(
        steps,
        "issue",
        bench
            .service
            .issue(&phone, Some(ip))
            .await
            .map_err(|e| format!("issue: {e}"))?
    );
    let code = bench
        .outbox
        .take(phone.as_str())
        .ok_or("issue: no code sent")?;
    let code = OtpCode::parse(&code, bench.service.code_length()).map_err(|e| e.to_string())?;
    timed!(
        steps,
        "verify",
        bench
            .service
            .verify(&phone, &code)
            .await
            .map_err(|e| format!("verify: {e}"))?
    );
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_valid_and_distinct() {
        let ids = Identities::new();
        let mut seen = std::collections::HashSet::new();
        for n in 0..30_000u64 {
            let (phone, ip) = ids.next();
            if n % 997 == 0 {
                PhoneNumber::parse(&phone, None).unwrap_or_else(|e| panic!("{phone}: {e}"));
                ip.parse::<std::net::Ipv4Addr>().unwrap();
            }
            assert!(seen.insert((phone, ip)));
        }
        // Far into a run the numbers are still valid.
        let far = Identities(AtomicU64::new(63_999_999));
        let (phone, _) = far.next();
        PhoneNumber::parse(&phone, None).unwrap_or_else(|e| panic!("{phone}: {e}"));
    }

    #[test]
    fn hidden_inputs_are_read_from_maud_markup() {
        let html = r#"<input type="hidden" name="login_challenge" value="a&amp;b"><input type="hidden" name="csrf" value="t0k">"#;
        assert_eq!(hidden(html, "login_challenge").as_deref(), Some("a&b"));
        assert_eq!(hidden(html, "csrf").as_deref(), Some("t0k"));
        assert_eq!(hidden(html, "phone"), None);
    }
}
