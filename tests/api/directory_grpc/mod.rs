//! `[directory] kind = "grpc"`: people who live in a user service speaking
//! gatehouse's `gatehouse.directory.v1` proto (a tiny reference server,
//! `server.rs`), signed in through the real Hydra, over TLS with a test CA
//! and client certificates; "not found" told apart from an outage; a
//! service that hangs is cut off at the deadline.

mod server;

use std::time::{Duration, Instant};

use crate::helpers::english;
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::id_token_claims;
use crate::helpers::test_ca::TestCa;
use crate::helpers::world::{trusted, World};
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use gatehouse::config::Config;
use gatehouse::directory::{Directory, DirectoryError};
use gatehouse::domain::PhoneNumber;
use serde_json::{json, Value};
use server::{Mode, ReferenceDirectory, Tls};

const GRACE: &str = "+12015550180";
const NOBODY: &str = "+12015550181";
/// The service answers NOT_FOUND for this one instead of an empty answer.
const NOBODY_BY_STATUS: &str = "+12015550182";

fn people() -> Vec<Value> {
    vec![json!({
        "uid": "cust-42",
        "mobile": GRACE,
        "name": {"first": "Grace", "last": "Hopper"},
        "email": "grace@example.com",
        "email_verified": true,
        "tier": "gold",
    })]
}

/// The operator's settings for a `grpc` directory at `url`, as written in
/// config.toml (`more` adds `[directory.grpc]` keys), checked as at start-up.
fn grpc_config(url: &str, more: &str) -> Config {
    let toml = grpc_toml(url, more);
    let figment = Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(&toml));
    Config::from_figment(figment).unwrap_or_else(|e| panic!("{e}\n{toml}"))
}

/// config.toml's lines for a `grpc` directory at `url`.
fn grpc_toml(url: &str, more: &str) -> String {
    format!(
        r#"
        [users]
        signup = "closed"
        [directory]
        kind = "grpc"
        cache_ttl = "0s"
        [directory.fields]
        subject = "uid"
        phone = "mobile"
        given_name = "name.first"
        family_name = "name.last"
        [[claims.custom]]
        scope = "profile"
        claim = "tier"
        field = "tier"
        into = "id_token"
        [directory.grpc]
        url = "{url}"
        timeout = "1s"
        {more}
        "#
    )
}

async fn world_with(config: Config) -> World {
    World::with(move |own| {
        own.users.signup = config.users.signup;
        own.directory = config.directory;
        own.claims = config.claims;
    })
    .await
}

/// A service on TLS with a certificate from `ca`, requiring a client
/// certificate from it too; and the settings that trust it and present one.
async fn mutual_tls_service(ca: &TestCa, dir: &tempfile::TempDir) -> (ReferenceDirectory, String) {
    let (cert_pem, key_pem) = ca.server_certificate();
    let tls = Tls {
        cert_pem,
        key_pem,
        client_ca_pem: Some(std::fs::read_to_string(ca.file(dir)).unwrap()),
    };
    let service = ReferenceDirectory::start(people(), &[], Some(tls)).await;
    let (client_cert, client_key) = ca.certificate_for(&["gatehouse.client"], false);
    let cert_path = dir.path().join("client.pem");
    let key_path = dir.path().join("client.key");
    std::fs::write(&cert_path, client_cert).unwrap();
    std::fs::write(&key_path, client_key).unwrap();
    let settings = format!(
        "ca_file = \"{}\"\nclient_cert = \"{}\"\nclient_key = \"{}\"",
        ca.file(dir).display(),
        cert_path.display(),
        key_path.display()
    );
    (service, settings)
}

#[tokio::test]
async fn people_in_a_grpc_directory_sign_in_over_mutual_tls_with_claims_from_its_record() {
    let ca = TestCa::new("gatehouse grpc test CA");
    let dir = tempfile::tempdir().unwrap();
    let (service, tls_settings) = mutual_tls_service(&ca, &dir).await;
    let world = world_with(grpc_config(&service.url, &tls_settings)).await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();

    let tokens = world
        .sign_in(
            &browser,
            &client,
            GRACE,
            "openid profile email phone",
            false,
        )
        .await;

    let claims = id_token_claims(&world.app, &tokens, &client.id).await;
    assert_eq!(claims["sub"], "cust-42", "the mapped subject: {claims}");
    assert_eq!(claims["given_name"], "Grace");
    assert_eq!(claims["family_name"], "Hopper");
    assert_eq!(claims["email"], "grace@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["phone_number"], GRACE);
    assert_eq!(
        claims["tier"], "gold",
        "a custom claim from the record: {claims}"
    );

    let calls = service.calls();
    assert!(
        calls
            .iter()
            .any(|(key, _)| key == &format!("phone:{GRACE}")),
        "{calls:?}"
    );
    assert!(
        calls.iter().any(|(key, _)| key == "id:cust-42"),
        "consent looks the subject up by id: {calls:?}"
    );
    assert!(
        calls.iter().all(|(_, deadline)| deadline.is_some()),
        "every call tells the service its deadline: {calls:?}"
    );
}

#[tokio::test]
async fn nobody_is_an_answer_and_an_outage_is_a_polite_page_that_costs_nothing() {
    let service = ReferenceDirectory::start(people(), &[NOBODY_BY_STATUS], None).await;
    let config = grpc_config(&service.url, "");
    let world = World::with(move |own| {
        own.users.signup = config.users.signup;
        own.directory = config.directory;
        own.claims = config.claims;
        // One code per hour: an outage that counted a send would lock the phone.
        own.otp.max_per_phone_per_hour = 1;
    })
    .await;
    let client = world.client(trusted()).await;
    let browser = HttpBrowser::new();
    let auth = client.authorize(&world.app, "openid phone");
    let login = world.open(&browser, &auth).await;

    for phone in [NOBODY, NOBODY_BY_STATUS] {
        let page = world.send_code(&browser, &login, phone).await;
        assert_eq!(page.status, 200, "{phone}: {}", page.body);
        assert!(
            page.body.contains("one-time-code"),
            "{phone} gets the code form like anyone: {}",
            page.body
        );
    }

    service.set_mode(Mode::Failing);
    let page = world.send_code(&browser, &login, GRACE).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(
        page.body.contains(&english("directory-down")),
        "{}",
        page.body
    );

    service.set_mode(Mode::Hanging);
    let started = Instant::now();
    let page = world.send_code(&browser, &login, GRACE).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(
        page.body.contains(&english("directory-down")),
        "{}",
        page.body
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "directory.grpc.timeout (1s) ends the call: {:?}",
        started.elapsed()
    );
    world.app.outbox_drained().await;
    assert!(world.sms.received().is_empty(), "no code was sent");

    // Back up: the phone's one code for the hour is still there.
    service.set_mode(Mode::Normal);
    let code_page = world.send_code(&browser, &login, GRACE).await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let code = world.sms.code_for(GRACE).await;
    let accepted = world.submit_code(&browser, &code_page, &code, false).await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let callback = world.follow_to_callback(&browser, &accepted).await;
    let tokens = world.redeem(&client, &auth, &callback).await;
    let claims = id_token_claims(&world.app, &tokens, &client.id).await;
    assert_eq!(claims["sub"], "cust-42");
    assert!(world.sms.last_code_for(NOBODY).is_none(), "nobody: no SMS");
    assert!(world.sms.last_code_for(NOBODY_BY_STATUS).is_none());
}

fn phone(number: &str) -> PhoneNumber {
    PhoneNumber::parse(number, None).unwrap()
}

/// The lookup's outcome in short: the subject, "nobody" or the outage's words.
async fn look_up(config: &Config, number: &str) -> Result<String, String> {
    let directory = Directory::external(&config.directory).map_err(|e| e.to_string())?;
    match directory.find_by_phone(&phone(number)).await {
        Ok(Some(user)) => Ok(user.id),
        Ok(None) => Ok("nobody".to_string()),
        Err(DirectoryError::Unavailable(problem)) => Err(problem),
        Err(other) => panic!("{other}"),
    }
}

#[tokio::test]
async fn tls_needs_the_ca_and_the_client_certificate_and_every_call_has_a_deadline() {
    let ca = TestCa::new("gatehouse grpc test CA");
    let dir = tempfile::tempdir().unwrap();
    let (service, tls_settings) = mutual_tls_service(&ca, &dir).await;
    let url = &service.url;

    let trusted_with_identity = grpc_config(url, &tls_settings);
    assert_eq!(
        look_up(&trusted_with_identity, GRACE).await,
        Ok("cust-42".into())
    );
    assert_eq!(
        look_up(&trusted_with_identity, NOBODY).await,
        Ok("nobody".into())
    );

    let ca_line = tls_settings.lines().next().unwrap();
    let without_identity = grpc_config(url, ca_line);
    let refused = look_up(&without_identity, GRACE).await.unwrap_err();
    assert!(refused.contains("CertificateRequired"), "{refused}");

    let stranger = TestCa::new("another CA");
    let (cert, key) = stranger.certificate_for(&["gatehouse.client"], false);
    std::fs::write(dir.path().join("stranger.pem"), cert).unwrap();
    std::fs::write(dir.path().join("stranger.key"), key).unwrap();
    let foreign_identity = tls_settings
        .replace("client.pem", "stranger.pem")
        .replace("client.key", "stranger.key");
    let refused = look_up(&grpc_config(url, &foreign_identity), GRACE).await;
    assert!(refused.unwrap_err().contains("UnknownCA"));

    // Without the CA file the service's certificate is not trusted.
    let untrusted = tls_settings.lines().skip(1).collect::<Vec<_>>().join("\n");
    let refused = look_up(&grpc_config(url, &untrusted), GRACE).await;
    assert!(refused.unwrap_err().contains("UnknownIssuer"));
    // Plaintext to a TLS service fails too, never falls back.
    let plaintext = url.replace("https://", "http://");
    let refused = look_up(&grpc_config(&plaintext, ""), GRACE).await;
    assert!(refused.unwrap_err().contains("could not connect"));

    service.set_mode(Mode::Hanging);
    let mut hanging = grpc_config(url, &tls_settings);
    hanging.directory.grpc.timeout = Duration::from_millis(300);
    let started = Instant::now();
    let problem = look_up(&hanging, GRACE).await.unwrap_err();
    assert!(problem.contains("deadline exceeded"), "{problem}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let (_, deadline) = service.calls().pop().unwrap();
    let deadline = deadline.expect("the service is told the deadline");
    assert!(
        ["300m", "300000u", "300000000n"].contains(&deadline.as_str()),
        "grpc-timeout {deadline}"
    );
}

#[tokio::test]
async fn a_not_found_status_is_nobody_and_nothing_is_cached_from_an_outage() {
    let service = ReferenceDirectory::start(people(), &[NOBODY_BY_STATUS], None).await;
    let mut config = grpc_config(&service.url, "");
    config.directory.cache_ttl = Duration::from_secs(60);
    let directory = Directory::external(&config.directory).unwrap();

    service.set_mode(Mode::Failing);
    let outage = directory.find_by_phone(&phone(GRACE)).await.unwrap_err();
    assert!(
        outage.to_string().contains("Internal"),
        "the status, not the service's words: {outage}"
    );
    assert!(!outage.to_string().contains("database is down"), "{outage}");

    service.set_mode(Mode::Normal);
    let found = directory.find_by_phone(&phone(GRACE)).await.unwrap();
    assert_eq!(found.map(|user| user.id), Some("cust-42".to_string()));
    assert!(directory
        .find_by_phone(&phone(NOBODY_BY_STATUS))
        .await
        .unwrap()
        .is_none());
    let calls = service.calls();
    assert_eq!(calls.len(), 3, "the outage was not cached: {calls:?}");
}

/// `gatehouse doctor` with people in a gRPC directory (mutual TLS) and codes
/// sent by a gRPC code delegate: both are reached, and neither is asked to
/// send a code or told anyone's number.
#[tokio::test]
async fn doctor_reaches_the_grpc_directory_and_code_delegate_without_sending() {
    use crate::otp::delegate::code_service::CodeService;

    let ca = TestCa::new("doctor");
    let dir = tempfile::tempdir().unwrap();
    let (service, settings) = mutual_tls_service(&ca, &dir).await;
    let codes = CodeService::default();
    let codes_url = codes.serve_grpc().await;
    let toml = grpc_toml(&service.url, &settings);
    let file = dir.path().join("config.toml");
    let otp = format!("[otp]\nissuer = \"grpc\"\n[otp.grpc]\nurl = \"{codes_url}\"\n");
    std::fs::write(&file, format!("{otp}{toml}")).unwrap();
    let env = crate::helpers::binary::env_for(&crate::ops::fresh_config(dir.path()));
    let file = file.display().to_string();
    let output = crate::ops::run(&["--config", &file, "doctor"], &env).await;
    let all = crate::ops::text(&output);
    for expected in [
        "ok: the user directory answers (directory.kind = \"grpc\")",
        "ok: code delegate (grpc):",
    ] {
        let found = all.lines().any(|line| line.starts_with(expected));
        assert!(found, "no `{expected}` in\n{all}");
    }
    assert!(codes.code_for(GRACE).is_none() && codes.checks().is_empty());
    let asked: Vec<_> = service.calls().into_iter().map(|(key, _)| key).collect();
    assert!(
        !asked.is_empty() && !asked.iter().any(|key| key.starts_with('+')),
        "doctor looked up a phone number: {asked:?}"
    );
}
