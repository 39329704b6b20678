//! Real sign-ins through the pages and the headless API write their rows;
//! `gatehouse audit` (the real binary) finds them by the full number; no
//! row, and no byte of what the trail keeps, holds a code or a number in
//! clear.

use serde_json::{json, Map, Value};

use super::audit_rows;
use crate::helpers::headless::NativeApp;
use crate::helpers::http_browser::{Hop, HttpBrowser};
use crate::helpers::oauth::random_token;
use crate::helpers::world::World;
use gatehouse::store::users::Profile;

const PHONE: &str = "+12015550611";
const USER_AGENT: &str = "AuditTest/1.0 (X11; Linux x86_64)";
/// What the browser's proxy reports; loopback is a trusted proxy.
const ADDRESS: &str = "203.0.113.7";

/// A browser behind a proxy that reports `ADDRESS`, sending `USER_AGENT`.
fn browser() -> HttpBrowser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", ADDRESS.parse().unwrap());
    let http = crate::helpers::app::client_builder()
        .cookie_store(true)
        .user_agent(USER_AGENT)
        .default_headers(headers)
        .build()
        .unwrap();
    HttpBrowser { http }
}

/// A code of the same length that is not `code`.
fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect()
}

/// `row` has these columns with these values.
fn assert_row(row: &Map<String, Value>, expected: Value) {
    for (column, value) in expected.as_object().unwrap() {
        assert_eq!(&row[column], value, "{column} in {row:?}");
    }
}

/// Mary signs in to a partner app (a wrong code first), allows it, comes
/// back (remembered) and denies it, then logs out from the app. Returns
/// the client id and the codes she was sent.
async fn marys_evening(world: &World, browser: &HttpBrowser) -> (String, String) {
    let client = world
        .client(json!({"client_name": "Partner App", "scope": "openid offline_access"}))
        .await;
    let auth = client.authorize(&world.app, "openid");
    let login = world.open(browser, &auth).await;
    let code_page = world.send_code(browser, &login, PHONE).await;
    let code = world.sms.code_for(PHONE).await;
    let refused = world
        .submit_code(browser, &code_page, &wrong(&code), false)
        .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let accepted = world.submit_code(browser, &refused, &code, true).await;
    let consent = browser
        .follow(accepted.location.as_deref().unwrap(), &world.callback.url)
        .await;
    let allowed = answer_consent(world, browser, &consent, "allow").await;
    let callback = world.follow_to_callback(browser, &allowed).await;
    let tokens = world.redeem(&client, &auth, &callback).await;

    // Back the next day: Hydra remembers her; this time she says no.
    let again = world
        .open(browser, &client.authorize(&world.app, "openid"))
        .await;
    let denied = answer_consent(world, browser, &again, "deny").await;
    assert_eq!(denied.status, 303, "{}", denied.body);

    // The app signs her out (RP-initiated logout names the client).
    let logout = format!(
        "{}?id_token_hint={}&post_logout_redirect_uri={}&state={}",
        world.app.url("/oauth2/sessions/logout"),
        tokens["id_token"].as_str().unwrap(),
        world.callback.url,
        random_token()
    );
    let page = browser.follow(&logout, &world.callback.url).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let confirmed = browser
        .submit(&world.app, &page, "/logout", &[("action", "yes")])
        .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.body);
    (client.id, code)
}

async fn answer_consent(world: &World, browser: &HttpBrowser, page: &Hop, action: &str) -> Hop {
    assert!(page.body.contains("consent_challenge"), "{}", page.body);
    browser
        .submit(&world.app, page, "/consent", &[("action", action)])
        .await
}

#[tokio::test]
async fn a_browser_sign_in_leaves_a_row_per_step_that_the_cli_finds_by_number() {
    let world = World::new().await;
    let mary = world.app.add_user(PHONE, Profile::default()).await;
    let (client, code) = marys_evening(&world, &browser()).await;

    let rows = audit_rows(&world.app.config).await;
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "code_sent",
            "signin_failed",
            "signin_succeeded",
            "consent_granted",
            "signin_succeeded",
            "consent_denied",
            "logout"
        ]
    );
    let subjects: Vec<&Value> = rows.iter().map(|r| &r["subject"]).collect();
    let mary_id = json!(mary.id);
    let unknown = Value::Null; // a wrong code says nothing of whose number it is
    assert_eq!(
        subjects,
        [&mary_id, &unknown, &mary_id, &mary_id, &mary_id, &mary_id, &mary_id]
    );
    for row in &rows {
        assert_row(
            row,
            json!({"client_id": client, "client_address": ADDRESS, "user_agent": USER_AGENT}),
        );
        let request_id = row["request_id"].as_str().expect("a request id");
        assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
    }
    let masked = "+120\u{2022}\u{2022}\u{2022}11";
    let sms = json!({"phone_masked": masked, "method": "sms"});
    assert_row(&rows[0], json!({"result": "ok", "reason": null}));
    assert_row(&rows[0], sms.clone());
    assert_row(
        &rows[1],
        json!({"result": "refused", "reason": "wrong_code"}),
    );
    assert_row(&rows[1], sms.clone());
    assert_row(&rows[2], json!({"result": "ok"}));
    assert_row(&rows[2], sms);
    assert_row(
        &rows[4],
        json!({"method": "remembered", "phone_masked": null}),
    );
    assert_row(&rows[5], json!({"result": "refused", "reason": "denied"}));
    assert_eq!(rows[0]["phone_hash"], rows[1]["phone_hash"]);
    assert_eq!(rows[0]["phone_hash"].as_str().unwrap().len(), 32);

    // The operator asks by the full number, in any spelling.
    let found = world
        .app
        .cli(&["audit", "--phone", "+1 (201) 555-0611", "--json"])
        .await;
    assert!(found.status.success(), "{found:?}");
    let lines: Vec<Value> = String::from_utf8(found.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let found_kinds: Vec<&str> = lines.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    assert_eq!(
        found_kinds,
        ["code_sent", "signin_failed", "signin_succeeded"]
    );
    assert_eq!(lines[1]["client_address"], ADDRESS);
    assert_eq!(lines[1]["user_agent"], USER_AGENT);
    assert_eq!(lines[1]["phone"], masked);

    let table = world.app.cli(&["audit", "--phone", PHONE]).await;
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("signin_failed") && table.contains("wrong_code"),
        "{table}"
    );
    assert!(table.contains("3 events"), "{table}");
    let denied = world
        .app
        .cli(&[
            "audit",
            "--subject",
            &mary.id,
            "--kind",
            "consent_denied,logout",
            "--json",
        ])
        .await;
    assert_eq!(String::from_utf8(denied.stdout).unwrap().lines().count(), 2);
    let other = world.app.cli(&["audit", "--phone", "+12015550612"]).await;
    assert!(String::from_utf8(other.stdout)
        .unwrap()
        .contains("0 events"));

    assert_nothing_in_clear(&world, &[PHONE, "2015550611", &code]).await;
}

/// No audit row holds any of `secrets`, and on SQLite neither do the bytes
/// of a copy of the database that keeps only the audit tables (rebuilt, so
/// no freed page of another table is left in it). PostgreSQL's files are
/// the server's: there, the rows.
async fn assert_nothing_in_clear(world: &World, secrets: &[&str]) {
    for row in audit_rows(&world.app.config).await {
        let text = serde_json::to_string(&row).unwrap();
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
    if crate::helpers::white_box::is_postgres(&world.app.config) {
        return;
    }
    let copy = world.app.config.data_dir.join("audit-only.sqlite");
    let conn = world.app.database();
    conn.execute("VACUUM INTO ?1", [copy.to_str().unwrap()])
        .unwrap();
    let copied = rusqlite::Connection::open(&copy).unwrap();
    let tables: Vec<String> = copied
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    copied.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    for table in tables
        .iter()
        .filter(|t| !["audit_events", "event_outbox"].contains(&t.as_str()))
    {
        copied
            .execute(&format!("DELETE FROM \"{table}\""), [])
            .unwrap();
    }
    copied.execute_batch("VACUUM").unwrap();
    drop(copied);
    let bytes = std::fs::read(&copy).unwrap();
    assert!(bytes.len() > 4096, "the copy holds the audit rows");
    for secret in secrets {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in the database file"
        );
    }
}

const APP: NativeApp = NativeApp {
    id: "audit-native-app",
    secret: "audit-native-secret",
    scope: "openid",
};

#[tokio::test]
async fn a_headless_sign_in_leaves_its_rows() {
    let world = World::with(|c| c.headless.clients = vec![APP.listed(false)]).await;
    APP.register(&world.app, "client_secret_basic").await;
    let phone = "+12015550613";
    let (session_id, code) = world.start_headless(phone, APP.id, None).await;
    let wrong_code = world.verify_otp(&session_id, &wrong(&code)).await;
    assert_eq!(wrong_code.status, 401, "{}", wrong_code.text);
    let tokens = world.verify_otp(&session_id, &code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);

    let rows = audit_rows(&world.app.config).await;
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    // Auto sign-up: the number was no one's until the code was right.
    assert_eq!(kinds, ["code_sent", "signin_failed", "signin_succeeded"]);
    for row in &rows {
        assert_row(
            row,
            json!({"client_id": APP.id, "client_address": "127.0.0.1", "method": "sms"}),
        );
    }
    assert_eq!(rows[0]["subject"], Value::Null);
    assert_eq!(rows[1]["reason"], "wrong_code");
    assert!(rows[2]["subject"].as_str().is_some_and(|s| s.len() == 32));
    assert_eq!(rows[0]["phone_hash"], rows[2]["phone_hash"]);
}

#[tokio::test]
async fn a_failing_audit_write_fails_no_sign_in() {
    let world = World::new().await;
    // Every audit write fails, on either engine.
    crate::helpers::white_box::execute(
        &world.app.config,
        "CREATE TRIGGER no_audit BEFORE INSERT ON audit_events
         BEGIN SELECT RAISE(ABORT, 'audit refused'); END;",
        "CREATE FUNCTION no_audit() RETURNS trigger LANGUAGE plpgsql AS
         $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$;
         CREATE TRIGGER no_audit BEFORE INSERT ON audit_events
         FOR EACH ROW EXECUTE FUNCTION no_audit();",
    )
    .await;
    let (logs, _capturing) = crate::helpers::capture_logs();
    let client = world.client(crate::helpers::world::trusted()).await;
    let tokens = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550614",
            "openid",
            false,
        )
        .await;
    assert!(tokens["access_token"].is_string(), "{tokens}");
    assert!(audit_rows(&world.app.config).await.is_empty());
    let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("an audit event was not recorded"), "{logs}");
}
