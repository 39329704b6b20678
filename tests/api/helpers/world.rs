//! The tests' fixture: a running gatehouse whose SMS go to a sink, a client
//! callback, and the steps of a browser sign-in (the headless API's steps
//! are in `headless.rs`).

use serde_json::{json, Value};

use super::http_browser::{Hop, HttpBrowser};
use super::oauth::{register_client, Authorization, Client};
use super::{TestApp, WebhookSink};
use gatehouse::config::{Config, SmsSenderKind};
use gatehouse::infra::clock::Clock;

/// Client registration extras for a client whose consent is automatic.
pub fn trusted() -> Value {
    json!({"skip_consent": true})
}

pub struct World {
    pub app: TestApp,
    pub sms: WebhookSink,
    pub callback: WebhookSink,
}

impl World {
    pub async fn new() -> World {
        Self::with(|_| {}).await
    }

    pub async fn with(customize: impl FnOnce(&mut Config)) -> World {
        Self::with_sms(WebhookSink::start(200).await, customize).await
    }

    /// With SMS going to `sms` (a failing or hanging webhook, say).
    pub async fn with_sms(sms: WebhookSink, customize: impl FnOnce(&mut Config)) -> World {
        Self::build(sms, Clock::system(), customize).await
    }

    /// On `clock`, a manual one the test moves (challenges expire at once).
    pub async fn with_clock(clock: Clock, customize: impl FnOnce(&mut Config)) -> World {
        Self::build(WebhookSink::start(200).await, clock, customize).await
    }

    async fn build(sms: WebhookSink, clock: Clock, customize: impl FnOnce(&mut Config)) -> World {
        let callback = WebhookSink::start(200).await;
        let url = sms.url.clone();
        let app = TestApp::spawn_with_clock(clock, |config| {
            config.sms.sender = SmsSenderKind::Webhook {
                url: url.parse().unwrap(),
            };
            customize(config);
        })
        .await;
        World { app, sms, callback }
    }

    /// Restarts gatehouse on the same data dir (see [`TestApp::restart`]).
    pub async fn restart(self) -> World {
        let World { app, sms, callback } = self;
        World {
            app: app.restart().await,
            sms,
            callback,
        }
    }

    pub async fn client(&self, extra: Value) -> Client {
        register_client(&self.app, &self.callback, extra).await
    }

    /// A new browser on the login page of a new trusted client (openid).
    pub async fn on_login_page(&self) -> (HttpBrowser, Hop) {
        let client = self.client(trusted()).await;
        let browser = HttpBrowser::new();
        let login = self
            .open(&browser, &client.authorize(&self.app, "openid"))
            .await;
        assert_eq!(login.status, 200, "{}", login.body);
        (browser, login)
    }

    /// Opens the authorization URL and follows Hydra to gatehouse's login page.
    pub async fn open(&self, browser: &HttpBrowser, auth: &Authorization) -> Hop {
        browser.follow(&auth.url, &self.callback.url).await
    }

    /// From the phone form to an accepted login; returns the hop after the code.
    pub async fn enter_phone_and_code(
        &self,
        browser: &HttpBrowser,
        login: &Hop,
        phone: &str,
        remember: bool,
    ) -> Hop {
        assert_eq!(login.status, 200, "login page: {}", login.body);
        assert!(login.body.contains("name=\"phone\""), "{}", login.body);
        let code_page = self.send_code(browser, login, phone).await;
        assert_eq!(code_page.status, 200, "{}", code_page.body);
        assert!(
            code_page.body.contains("one-time-code"),
            "{}",
            code_page.body
        );
        let code = self.sms.code_for(phone).await;
        self.submit_code(browser, &code_page, &code, remember).await
    }

    /// Submits `code` on a code page's form (`page`), asking Hydra to
    /// remember the login when `remember`.
    pub async fn submit_code(
        &self,
        browser: &HttpBrowser,
        page: &Hop,
        code: &str,
        remember: bool,
    ) -> Hop {
        let mut fields = vec![("action", "verify"), ("code", code)];
        if remember {
            fields.push(("remember", "1"));
        }
        browser.submit(&self.app, page, "/login", &fields).await
    }

    /// Submits `phone` on a login page's form (`page`): asks for a code.
    pub async fn send_code(&self, browser: &HttpBrowser, page: &Hop, phone: &str) -> Hop {
        browser
            .submit(
                &self.app,
                page,
                "/login",
                &[("action", "send"), ("phone", phone)],
            )
            .await
    }

    /// The whole flow for a client whose consent is automatic: returns tokens.
    pub async fn sign_in(
        &self,
        browser: &HttpBrowser,
        client: &Client,
        phone: &str,
        scope: &str,
        remember: bool,
    ) -> Value {
        let auth = client.authorize(&self.app, scope);
        let login = self.open(browser, &auth).await;
        let accepted = self
            .enter_phone_and_code(browser, &login, phone, remember)
            .await;
        let callback = self.follow_to_callback(browser, &accepted).await;
        self.redeem(client, &auth, &callback).await
    }

    pub async fn follow_to_callback(&self, browser: &HttpBrowser, hop: &Hop) -> Hop {
        let location = hop
            .location
            .clone()
            .unwrap_or_else(|| panic!("expected a redirect, got {}: {}", hop.status, hop.body));
        let last = browser.follow(&location, &self.callback.url).await;
        assert!(
            last.location
                .as_deref()
                .is_some_and(|l| l.starts_with(&self.callback.url)),
            "expected the client's callback, got {} {:?}: {}",
            last.status,
            last.location,
            last.body
        );
        last
    }

    /// Checks `state` and exchanges the code; returns the token response.
    pub async fn redeem(&self, client: &Client, auth: &Authorization, callback: &Hop) -> Value {
        assert_eq!(
            callback.location_param("state").as_deref(),
            Some(auth.state.as_str())
        );
        let code = callback
            .location_param("code")
            .expect("code in the callback");
        let (status, tokens) = client.exchange(&self.app, &code, &auth.verifier).await;
        assert_eq!(status, 200, "{tokens}");
        tokens
    }
}
