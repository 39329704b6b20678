//! `[directory] kind = "sql"`: people from another application's SQLite file
//! or PostgreSQL database (a real server, see helpers/postgres.rs) sign in
//! through the real Hydra; their columns fill the claims; the source is
//! never written to; an outage is reported politely and costs nobody a code.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::helpers::http_browser::{Hop, HttpBrowser};
use crate::helpers::oauth::{id_token_claims, Client};
use crate::helpers::postgres::{self, Listen, PgServer, TestDatabase};
use crate::helpers::world::{trusted, World};
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use gatehouse::config::Config;
use gatehouse::directory::{Directory, DirectoryError};
use gatehouse::domain::PhoneNumber;
use gatehouse::web::strings;
use serde_json::{json, Value};

/// Applies an operator's settings, written as in config.toml, to a test
/// instance, checked as at start-up.
fn apply(config: &mut Config, toml: &str) {
    let figment = Figment::from(Serialized::defaults(Config::default())).merge(Toml::string(toml));
    let parsed = Config::from_figment(figment).unwrap_or_else(|e| panic!("{e}\n{toml}"));
    config.users.signup = parsed.users.signup;
    config.directory = parsed.directory;
    config.claims = parsed.claims;
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

fn sms_count(world: &World, phone: &str) -> usize {
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
    assert_eq!(sms_count(world, phone), 0, "no code was sent to {phone}");
}

fn assert_directory_down(hop: &Hop) {
    assert_eq!(hop.status, 503, "{}", hop.body);
    assert!(hop.body.contains(strings::DIRECTORY_DOWN), "{}", hop.body);
}

// ---------------------------------------------------------------- SQLite

const ADA: &str = "+12015550170";
const BLOCKED_BOB: &str = "+12015550171";
const NOBODY: &str = "+12015550179";

/// Another application's database: its own names for everything, 0/1 for
/// booleans, roles as text.
fn crm_database(dir: &Path) -> PathBuf {
    let path = dir.join("crm.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE customers (
             customer_no INTEGER PRIMARY KEY,
             mobile TEXT NOT NULL UNIQUE,
             first TEXT, last TEXT, mail TEXT,
             is_blocked INTEGER NOT NULL DEFAULT 0,
             roles TEXT
         );
         INSERT INTO customers VALUES
             (1001, '{ADA}', 'Ada', 'Lovelace', 'ada@example.com', 0, 'admin staff'),
             (1002, '{BLOCKED_BOB}', 'Bob', 'Stone', 'bob@example.com', 1, 'staff');"
    ))
    .unwrap();
    path
}

fn sqlite_settings(path: &Path) -> String {
    format!(
        r#"
        [users]
        signup = "closed"

        [directory]
        kind = "sql"
        cache_ttl = "0s"

        [directory.sql]
        url = "sqlite://{}"
        by_phone = "SELECT * FROM customers WHERE mobile = $1"
        by_id = "SELECT * FROM customers WHERE customer_no = $1"

        [directory.fields]
        subject = "customer_no"
        phone = "mobile"
        given_name = "first"
        family_name = "last"
        email = "mail"
        disabled = "is_blocked"

        [[claims.custom]]
        scope = "roles"
        claim = "roles"
        field = "roles"
        into = "both"
        "#,
        path.display()
    )
}

/// Everything that would show a write: the bytes, the modification time,
/// and the files beside it (a journal, a WAL).
#[derive(Debug, PartialEq)]
struct FileState {
    bytes: Vec<u8>,
    modified: SystemTime,
    files: Vec<String>,
}

fn file_state(path: &Path) -> FileState {
    let mut files: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    FileState {
        bytes: std::fs::read(path).unwrap(),
        modified: std::fs::metadata(path).unwrap().modified().unwrap(),
        files,
    }
}

#[tokio::test]
async fn sqlite_directory_signs_in_people_of_a_foreign_schema_and_never_writes() {
    let source = tempfile::tempdir().unwrap();
    let path = crm_database(source.path());
    let before = file_state(&path);
    assert_eq!(before.files, vec!["crm.db"]);
    let world = World::with(|c| apply(c, &sqlite_settings(&path))).await;
    let client = client(&world, true).await;

    let tokens = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            ADA,
            "openid profile email phone roles",
            false,
        )
        .await;
    let claims = id_token_claims(&world.app, &tokens, &client.id).await;
    assert_eq!(claims["sub"], "1001", "{claims}");
    assert_eq!(claims["name"], "Ada Lovelace");
    assert_eq!(claims["given_name"], "Ada");
    assert_eq!(claims["family_name"], "Lovelace");
    assert_eq!(claims["email"], "ada@example.com");
    assert_eq!(claims["email_verified"], false, "no column says it is");
    assert_eq!(claims["phone_number"], ADA);
    assert_eq!(claims["phone_number_verified"], true);
    assert_eq!(claims["roles"], "admin staff");
    let introspection = world
        .app
        .introspect(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(introspection["sub"], "1001", "{introspection}");
    assert_eq!(
        introspection["ext"]["roles"], "admin staff",
        "{introspection}"
    );

    assert_answered_like_an_unknown_phone(&world, &client, NOBODY).await;
    assert_answered_like_an_unknown_phone(&world, &client, BLOCKED_BOB).await;

    assert_eq!(
        file_state(&path),
        before,
        "the database file and its directory are exactly as they were"
    );
}

// ------------------------------------------------------------ PostgreSQL

const GRACE: &str = "+12015550180";
const BLOCKED_MALLORY: &str = "+12015550181";
const ALAN: &str = "+12015550182";
const GRACE_ID: &str = "6f1c1c2e-8a7b-4c1e-9d7a-2b0d7c3e5a01";
const ALAN_ID: &str = "6f1c1c2e-8a7b-4c1e-9d7a-2b0d7c3e5a03";

/// Another application's tables: uuid ids, citext emails, booleans, roles
/// as text[], and a column no profile should see.
async fn customers_table(db: &TestDatabase) -> tokio_postgres::Client {
    let client = db.connect().await;
    client
        .batch_execute(&format!(
            "CREATE EXTENSION citext;
             CREATE TABLE customers (
                 customer_id uuid PRIMARY KEY,
                 mobile varchar(20) NOT NULL UNIQUE,
                 first_name text,
                 last_name text,
                 email citext,
                 email_confirmed boolean NOT NULL DEFAULT false,
                 blocked boolean NOT NULL DEFAULT false,
                 roles text[] NOT NULL DEFAULT '{{}}',
                 city text,
                 country char(2),
                 password_hash bytea
             );
             INSERT INTO customers VALUES
                 ('{GRACE_ID}', '{GRACE}', 'Grace', 'Hopper', 'Grace@Example.com',
                  true, false, '{{admin,billing}}', 'Arlington', 'US', '\\x0102'),
                 ('6f1c1c2e-8a7b-4c1e-9d7a-2b0d7c3e5a02', '{BLOCKED_MALLORY}', 'Mallory',
                  'Stone', 'mallory@example.com', true, true, '{{}}', NULL, NULL, NULL),
                 ('{ALAN_ID}', '{ALAN}', 'Alan', 'Turing', NULL,
                  false, false, '{{}}', NULL, 'GB', NULL);"
        ))
        .await
        .expect("create the customers table");
    client
}

/// A digest of every row and its version (xmin): any write changes it,
/// even one that stores the same values again.
async fn checksum(client: &tokio_postgres::Client) -> String {
    client
        .query_one(
            "SELECT md5(string_agg(c.xmin::text || ':' || c::text, '|' ORDER BY c.mobile))
             FROM customers c",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

const COLUMNS: &str = "customer_id, mobile, first_name, last_name, email, email_confirmed, \
                       blocked, roles, city, country";

fn postgres_settings(url: &str, by_phone: &str) -> String {
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
        by_id = "SELECT {COLUMNS} FROM customers WHERE customer_id = $1"

        [directory.fields]
        subject = "customer_id"
        phone = "mobile"
        given_name = "first_name"
        family_name = "last_name"
        email = "email"
        email_verified = "email_confirmed"
        disabled = "blocked"
        locality = "city"
        country = "country"

        [[claims.custom]]
        scope = "roles"
        claim = "roles"
        field = "roles"
        into = "access_token"
        "#
    )
}

fn select_by_phone() -> String {
    format!("SELECT {COLUMNS} FROM customers WHERE mobile = $1")
}

#[tokio::test]
async fn postgres_directory_signs_in_people_of_a_foreign_schema_and_never_writes() {
    let db = postgres::shared().database().await;
    let source = customers_table(&db).await;
    let before = checksum(&source).await;
    let world = World::with(|c| apply(c, &postgres_settings(&db.url(), &select_by_phone()))).await;
    world
        .app
        .state
        .directory
        .probe()
        .await
        .expect("the doctor's probe: an id no uuid column can hold finds nobody");
    let client = client(&world, false).await;

    // Code, then the consent page (which shows what the directory holds).
    let browser = HttpBrowser::new();
    let auth = client.authorize(&world.app, "openid profile email phone address roles");
    let login = world.open(&browser, &auth).await;
    let accepted = world
        .enter_phone_and_code(&browser, &login, GRACE, true)
        .await;
    let consent = browser
        .follow(accepted.location.as_deref().unwrap(), &world.callback.url)
        .await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(
        consent.body.contains("Grace@Example.com"),
        "{}",
        consent.body
    );
    let allowed = browser
        .submit(&world.app, &consent, "/consent", &[("action", "allow")])
        .await;
    let callback = world.follow_to_callback(&browser, &allowed).await;
    let tokens = world.redeem(&client, &auth, &callback).await;

    let claims = id_token_claims(&world.app, &tokens, &client.id).await;
    assert_eq!(claims["sub"], GRACE_ID, "{claims}");
    assert_eq!(claims["name"], "Grace Hopper");
    assert_eq!(claims["email"], "Grace@Example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["phone_number"], GRACE);
    assert_eq!(
        claims["address"],
        json!({"locality": "Arlington", "country": "US"})
    );
    assert!(
        claims.get("roles").is_none(),
        "roles go into the access token only: {claims}"
    );
    let introspection = world
        .app
        .introspect(tokens["access_token"].as_str().unwrap())
        .await;
    assert_eq!(introspection["sub"], GRACE_ID, "{introspection}");
    assert_eq!(
        introspection["ext"]["roles"],
        json!(["admin", "billing"]),
        "{introspection}"
    );

    assert_answered_like_an_unknown_phone(&world, &client, NOBODY).await;
    assert_answered_like_an_unknown_phone(&world, &client, BLOCKED_MALLORY).await;
    assert_eq!(checksum(&source).await, before, "no row was written");

    // Blocked after signing in: the remembered login is refused (by_id).
    source
        .execute(
            "UPDATE customers SET blocked = true WHERE customer_id = $1::text::uuid",
            &[&GRACE_ID],
        )
        .await
        .unwrap();
    let auth = client.authorize(&world.app, "openid");
    let refused = browser.follow(&auth.url, &world.callback.url).await;
    assert_eq!(
        refused.location_param("error").as_deref(),
        Some("access_denied"),
        "{:?}",
        refused.location
    );
}

#[tokio::test]
async fn postgres_query_that_writes_fails_as_an_outage_not_as_a_write() {
    let db = postgres::shared().database().await;
    let source = customers_table(&db).await;
    let before = checksum(&source).await;
    // The URL's role owns the table: only the READ ONLY transaction stands
    // between this query and the data.
    let writing = format!(
        "UPDATE customers SET first_name = 'Changed' WHERE mobile = $1 RETURNING {COLUMNS}"
    );
    let world = World::with(|c| apply(c, &postgres_settings(&db.url(), &writing))).await;
    let client = client(&world, true).await;

    let (_, _, answer) = request_code(&world, &client, GRACE).await;
    assert_directory_down(&answer);
    assert_eq!(sms_count(&world, GRACE), 0);
    let phone = PhoneNumber::parse(GRACE, None).unwrap();
    let error = world
        .app
        .state
        .directory
        .find_by_phone(&phone)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DirectoryError::Unavailable(_)) && error.to_string().contains("read-only"),
        "{error}"
    );
    assert_eq!(checksum(&source).await, before, "nothing was written");
}

#[tokio::test]
async fn postgres_outage_shows_the_polite_page_and_costs_no_code_or_limit() {
    // A server of its own, so stopping it disturbs no other test; over its
    // unix socket, so restarting it cannot lose a TCP port.
    let server = PgServer::start(Listen::SocketOnly);
    let db = server.database().await;
    customers_table(&db).await;
    let world = World::with(|c| {
        apply(c, &postgres_settings(&db.socket_url(), &select_by_phone()));
        // One code per phone and hour: an attempt counted during the
        // outage would leave none for after it.
        c.otp.max_per_phone_per_hour = 1;
    })
    .await;
    let client = client(&world, true).await;

    let grace = HttpBrowser::new();
    let auth = client.authorize(&world.app, "openid");
    let login = world.open(&grace, &auth).await;
    let code_page = world.send_code(&grace, &login, GRACE).await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let code = world.sms.last_code_for(GRACE).expect("a code for Grace");

    server.stop();
    let verify = [("action", "verify"), ("code", code.as_str())];
    let during = grace
        .submit(&world.app, &code_page, "/login", &verify)
        .await;
    assert_directory_down(&during);
    let (alan, alan_login, answer) = request_code(&world, &client, ALAN).await;
    assert_directory_down(&answer);
    for _ in 0..2 {
        assert_directory_down(&world.send_code(&alan, &alan_login, ALAN).await);
    }
    assert_eq!(sms_count(&world, ALAN), 0);

    server.restart();
    // The same code still works: the outage did not touch it.
    let after = grace
        .submit(&world.app, &code_page, "/login", &verify)
        .await;
    let callback = world.follow_to_callback(&grace, &after).await;
    let tokens = world.redeem(&client, &auth, &callback).await;
    let claims = id_token_claims(&world.app, &tokens, &client.id).await;
    assert_eq!(claims["sub"], GRACE_ID);
    // Alan's attempts counted against no limit: his one code of the hour comes.
    let answer = world.send_code(&alan, &alan_login, ALAN).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(sms_count(&world, ALAN), 1);
}

// ------------------------------------------- the directory, without Hydra

/// The directory `settings` describe, as gatehouse builds it (no server
/// is contacted until a lookup).
fn build_directory(settings: &str) -> (Directory, tempfile::TempDir) {
    let mut config = Config::default();
    apply(&mut config, settings);
    let dir = tempfile::tempdir().unwrap();
    let store = gatehouse::store::Store::open(&dir.path().join("gatehouse.sqlite")).unwrap();
    let directory = Directory::from_config(&config, store).expect("built without connecting");
    (directory, dir)
}

fn plain_settings(url: &str, by_phone: &str, by_id: &str, timeout: &str) -> String {
    format!(
        r#"
        users.signup = "closed"
        [directory]
        kind = "sql"
        cache_ttl = "0s"
        [directory.sql]
        url = "{url}"
        by_phone = "{by_phone}"
        by_id = "{by_id}"
        timeout = "{timeout}"
        "#
    )
}

#[tokio::test]
async fn postgres_columns_become_json_and_bad_columns_are_named() {
    let db = postgres::shared().database().await;
    db.connect()
        .await
        .batch_execute(
            "CREATE EXTENSION citext;
             CREATE TYPE tier AS ENUM ('basic', 'gold');
             CREATE TABLE people (
                 id bigint, phone text, active bool, small int2, n int4,
                 ratio float4, score float8, balance numeric(12,2), huge numeric,
                 nick varchar(10), code char(3), login name, mail citext, uid uuid,
                 prefs json, meta jsonb, roles text[], tags varchar[], lucky int4[],
                 level tier, levels tier[], born date, seen timestamptz,
                 local timestamp, until timestamptz, nothing text,
                 secret bytea, price money
             );
             INSERT INTO people VALUES
                 (1, '+12015550190', true, 2, 3, 0.5, 'NaN', 1234.50,
                  12345678901234567890.123, 'ada', 'ab', 'ada_l', 'Ada@X.org',
                  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"b\": 1}', '{\"a\": [1, true]}',
                  '{admin,NULL}', '{x}', '{7,13}', 'gold', '{basic,gold}', '1990-12-10',
                  '2024-05-01 12:00:00.25+02', '2024-05-01 12:30:00', 'infinity', NULL,
                  '\\x00', 1),
                 (2, '+12015550191', false, 0, 0, 0, 0, 0, 0, '', '', '', '', NULL,
                  NULL, NULL, '{}', '{}', '{}', NULL, '{}', NULL, NULL, NULL, NULL,
                  NULL, NULL, NULL);",
        )
        .await
        .unwrap();
    let readable = "id, phone, active, small, n, ratio, score, balance, huge, nick, code, \
                    login, mail, uid, prefs, meta, roles, tags, lucky, level, levels, born, \
                    seen, local, until, nothing";
    let (directory, _dir) = build_directory(&plain_settings(
        &db.url(),
        "SELECT id, secret FROM people WHERE phone = $1",
        &format!("SELECT {readable} FROM people WHERE id = $1"),
        "2s",
    ));

    let ada = directory.find_by_id("1").await.unwrap().expect("row 1");
    assert_eq!(
        Value::Object(ada.record),
        json!({
            "id": 1, "phone": "+12015550190", "active": true, "small": 2, "n": 3,
            "ratio": 0.5, "score": null, "balance": "1234.50",
            "huge": "12345678901234567890.123", "nick": "ada", "code": "ab ",
            "login": "ada_l", "mail": "Ada@X.org",
            "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "prefs": {"b": 1},
            "meta": {"a": [1, true]}, "roles": ["admin", null], "tags": ["x"],
            "lucky": [7, 13], "level": "gold", "levels": ["basic", "gold"],
            "born": "1990-12-10", "seen": "2024-05-01T10:00:00.250Z",
            "local": "2024-05-01T12:30:00", "until": "infinity", "nothing": null
        })
    );
    assert_eq!(ada.phone.as_deref(), Some("+12015550190"));
    // `$1` compared with a bigint column: an id that is no number matches nobody.
    assert_eq!(directory.find_by_id("abc").await.unwrap(), None);
    assert_eq!(directory.find_by_id("3").await.unwrap(), None);

    let phone = PhoneNumber::parse("+12015550190", None).unwrap();
    let error = directory.find_by_phone(&phone).await.unwrap_err();
    assert!(matches!(error, DirectoryError::BadRecord(_)), "{error}");
    for expected in [
        "directory.sql.by_phone",
        "`secret`",
        "bytea",
        "secret::text",
    ] {
        assert!(error.to_string().contains(expected), "{expected}: {error}");
    }

    let (directory, _dir) = build_directory(&plain_settings(
        &db.url(),
        "SELECT id FROM people WHERE $1 <> ''",
        "SELECT id FROM people WHERE id = $1",
        "2s",
    ));
    let error = directory.find_by_phone(&phone).await.unwrap_err();
    assert!(
        matches!(error, DirectoryError::BadRecord(_))
            && error
                .to_string()
                .contains("directory.sql.by_phone returned more than one row"),
        "{error}"
    );
}

#[tokio::test]
async fn postgres_failures_are_outages_and_never_show_the_password() {
    let server = postgres::shared();
    let db = server.database().await;
    let phone = PhoneNumber::parse(GRACE, None).unwrap();
    let by_phone = "SELECT 'x' AS id FROM pg_sleep(5) WHERE $1 <> ''";
    let by_id = "SELECT 'x' AS id WHERE $1 = 'somebody'";

    // Nothing listens there: gatehouse still starts; lookups are outages.
    let password = "hunter2-not-shown";
    let nowhere = format!(
        "postgres://{}:{password}@127.0.0.1:{}/{}",
        db.owner,
        crate::helpers::free_port(),
        db.name
    );
    // A wrong password on the real server.
    let wrong = format!(
        "postgres://{}:{password}@127.0.0.1:{}/{}",
        db.owner, server.port, db.name
    );
    for (url, expected) in [
        (nowhere, "cannot connect"),
        (wrong, "password authentication failed"),
    ] {
        let (directory, _dir) = build_directory(&plain_settings(&url, by_phone, by_id, "2s"));
        let error = directory.find_by_phone(&phone).await.unwrap_err();
        assert!(matches!(error, DirectoryError::Unavailable(_)), "{error}");
        assert!(error.to_string().contains(expected), "{error}");
        assert!(!error.to_string().contains(password), "{error}");
    }

    // Too slow: an outage after directory.sql.timeout, not a hang.
    let (directory, _dir) = build_directory(&plain_settings(&db.url(), by_phone, by_id, "300ms"));
    let started = Instant::now();
    let error = directory.find_by_phone(&phone).await.unwrap_err();
    // Gatehouse gives up, or the server cancels the query: whichever is first.
    let message = error.to_string();
    assert!(
        matches!(error, DirectoryError::Unavailable(_))
            && (message.contains("no answer within 300ms")
                || message.contains("statement timeout")),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(3), "{error}");
    // The connection is usable again at once.
    assert_eq!(directory.find_by_id("y").await.unwrap(), None);
}
