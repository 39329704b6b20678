//! `[directory] kind = "sql"`: people from another application's SQLite file
//! or PostgreSQL database (a real server, see helpers/postgres.rs) sign in
//! through the real Hydra; their columns fill the claims; the source is
//! never written to; an outage is reported politely and costs nobody a code.
//! SQLite in `sqlite`, PostgreSQL in `postgres`, and PostgreSQL lookups
//! without Hydra (types, bad queries, failures) in `lookups`, and over TLS
//! (sslmode, sslrootcert) in `tls`.

mod lookups;
mod postgres;
mod sqlite;
mod tls;

use crate::helpers::english;
use crate::helpers::http_browser::{Hop, HttpBrowser};
use crate::helpers::oauth::Client;
use crate::helpers::world::{trusted, World};
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use gatehouse::config::Config;
use serde_json::json;

/// Applies an operator's settings, written as in config.toml, to a test
/// instance, checked as at start-up.
fn apply(config: &mut Config, toml: &str) {
    let figment = Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml));
    let parsed = Config::from_figment(figment).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    config.users.signup = parsed.users.signup;
    config.directory = parsed.directory;
    config.claims = parsed.claims;
}

/// Closed sign-up and an uncached `kind = "sql"` directory at `url` with
/// its two queries, written as in config.toml; more `[directory.sql]` keys
/// may follow.
fn sql_directory(url: &str, by_phone: &str, by_id: &str) -> String {
    format!(
        r#"
        [users]
        signup = "closed"

        [directory]
        kind = "sql"
        cache_ttl = "0s"

        [directory.sql]
        url = "{url}"
        by_phone = "{by_phone}"
        by_id = "{by_id}"
        "#
    )
}

/// A client allowed the standard scopes and `roles`.
async fn client(world: &World, consent_is_automatic: bool) -> Client {
    let mut extra = json!({"scope": "openid offline_access profile email phone address roles"});
    if consent_is_automatic {
        extra["skip_consent"] = trusted()["skip_consent"].clone();
    }
    world.client(extra).await
}

/// Opens a new sign-in in a new browser and asks for a code for `phone`;
/// returns the browser, the login page and the answer to the request.
async fn request_code(world: &World, client: &Client, phone: &str) -> (HttpBrowser, Hop, Hop) {
    let browser = HttpBrowser::new();
    let auth = client.authorize(&world.app, "openid");
    let login = world.open(&browser, &auth).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let answer = world.send_code(&browser, &login, phone).await;
    (browser, login, answer)
}

/// Messages sent to `phone`, once the outbox has nothing left to send.
async fn sms_count(world: &World, phone: &str) -> usize {
    world.app.outbox_drained().await;
    world
        .sms
        .received()
        .iter()
        .filter(|r| r.json()["phone"] == phone)
        .count()
}

/// Closed sign-up's answer to a phone nobody (able to sign in) has: the
/// same code page as for a known phone, and no message sent.
async fn assert_answered_like_an_unknown_phone(world: &World, client: &Client, phone: &str) {
    let (_, _, answer) = request_code(world, client, phone).await;
    assert_eq!(answer.status, 200, "{phone}: {}", answer.body);
    assert!(answer.body.contains("one-time-code"), "{}", answer.body);
    assert_eq!(
        sms_count(world, phone).await,
        0,
        "no code was sent to {phone}"
    );
}

fn assert_directory_down(hop: &Hop) {
    assert_eq!(hop.status, 503, "{}", hop.body);
    assert!(
        hop.body.contains(&english("directory-down")),
        "{}",
        hop.body
    );
}

/// A phone nobody in any of the sources has.
const NOBODY: &str = "+12015550179";
