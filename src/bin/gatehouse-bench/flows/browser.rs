//! The `browser` scenario's flow: the authorization code flow with PKCE
//! through gatehouse's login pages and its proxy to Hydra, hop by hop as a
//! browser with a fresh cookie jar does it, and the code exchanged at the
//! end as the client's back end does.

use std::sync::Arc;

use url::Url;

use super::http::{excerpt, Browser};
use super::oauth::{authorization, callback_code, exchange_code};
use super::{step, Ctx, FlowResult, Owner, StepInfo, Steps, PROXY};

pub const STEPS: &[StepInfo] = &[
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

/// One sign-in of the browser flow: a user with a phone, behind an address
/// gatehouse sees through X-Forwarded-For, with a browser of their own.
struct SignIn<'a> {
    ctx: &'a Ctx,
    browser: Browser,
    phone: String,
    ip: String,
}

/// What the login page hands the browser for its two form posts.
struct LoginForm {
    challenge: String,
    csrf: String,
}

/// `browser`: one sign-in, its eight steps timed.
pub async fn flow(ctx: Arc<Ctx>) -> FlowResult {
    let (phone, ip) = ctx.ids.next();
    let user = SignIn {
        ctx: &ctx,
        browser: Browser::default(),
        phone,
        ip,
    };
    let mut steps = Steps::with_capacity(8);
    let (auth, state, verifier) = authorization(&ctx.public, &ctx.callback);
    let form = user.open_login_page(&mut steps, auth).await?;
    user.send_code(&mut steps, &form).await?;
    let code = ctx
        .sms
        .take(&user.phone)
        .await
        .ok_or_else(|| format!("send code: no SMS reached the sink for {}", user.phone))?;
    let accepted = user.verify_code(&mut steps, &form, &code).await?;
    let consent = user.follow(&mut steps, "login verifier", accepted).await?;
    let granted = user.follow(&mut steps, "consent", consent).await?;
    let callback = user.follow(&mut steps, "consent verifier", granted).await?;
    let code = callback_code(&callback, &ctx.callback, &state)?;
    timed!(
        steps,
        "token",
        exchange_code(&ctx, &ctx.public, &code, &verifier).await?
    );
    Ok(steps)
}

impl SignIn<'_> {
    fn get(&self, url: Url) -> reqwest::RequestBuilder {
        self.ctx.http.get(url).header("x-forwarded-for", &self.ip)
    }

    /// A form post to gatehouse's `/login`.
    fn post_login(&self, form: &[(&str, &str)]) -> reqwest::RequestBuilder {
        let url = self.ctx.public.join("/login").expect("a path");
        let post = self.ctx.http.post(url).header("x-forwarded-for", &self.ip);
        post.form(form)
    }

    /// A timed GET of `url` that is to redirect; returns where to.
    async fn follow(&self, steps: &mut Steps, name: &'static str, url: Url) -> Result<Url, String> {
        let request = self.get(url);
        timed!(steps, name, self.browser.hop(request, name).await?).expect_redirect(name)
    }

    /// `authorize` (Hydra redirects to gatehouse's login page) and `login
    /// page`; returns the page's hidden form fields.
    async fn open_login_page(&self, steps: &mut Steps, auth: Url) -> Result<LoginForm, String> {
        let login = self.follow(steps, "authorize", auth).await?;
        let request = self.get(login);
        let page = timed!(
            steps,
            "login page",
            self.browser.hop(request, "login page").await?
        )
        .expect_page("login page")?;
        Ok(LoginForm {
            challenge: hidden(&page, "login_challenge").ok_or("login page: no login_challenge")?,
            csrf: hidden(&page, "csrf").ok_or("login page: no csrf token")?,
        })
    }

    /// `send code`: the phone number posted; the answer is the code form.
    async fn send_code(&self, steps: &mut Steps, login: &LoginForm) -> Result<(), String> {
        let form = [
            ("login_challenge", login.challenge.as_str()),
            ("csrf", &login.csrf),
            ("action", "send"),
            ("phone", &self.phone),
        ];
        let request = self.post_login(&form);
        let code_page = timed!(
            steps,
            "send code",
            self.browser.hop(request, "send code").await?
        )
        .expect_page("send code")?;
        if !code_page.contains("one-time-code") {
            return Err(format!("send code: no code form: {}", excerpt(&code_page)));
        }
        Ok(())
    }

    /// `verify code`: the code posted; gatehouse accepts the login at Hydra
    /// and redirects to Hydra's login verifier.
    async fn verify_code(
        &self,
        steps: &mut Steps,
        login: &LoginForm,
        code: &str,
    ) -> Result<Url, String> {
        let form = [
            ("login_challenge", login.challenge.as_str()),
            ("csrf", &login.csrf),
            ("action", "verify"),
            ("phone", &self.phone),
            ("code", code),
        ];
        let request = self.post_login(&form);
        timed!(
            steps,
            "verify code",
            self.browser.hop(request, "verify code").await?
        )
        .expect_redirect("verify code")
    }
}

/// `name="..." value="..."` of the page's hidden inputs (maud's markup).
fn hidden(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("type=\"hidden\" name=\"{name}\" value=\""))?;
    let rest = &html[start..];
    let value = &rest[rest.find("value=\"")? + 7..];
    Some(value[..value.find('"')?].replace("&amp;", "&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_inputs_are_read_from_maud_markup() {
        let html = r#"<input type="hidden" name="login_challenge" value="a&amp;b"><input type="hidden" name="csrf" value="t0k">"#;
        assert_eq!(hidden(html, "login_challenge").as_deref(), Some("a&b"));
        assert_eq!(hidden(html, "csrf").as_deref(), Some("t0k"));
        assert_eq!(hidden(html, "phone"), None);
    }
}
