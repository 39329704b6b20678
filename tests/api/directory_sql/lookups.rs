//! The PostgreSQL directory on its own, without Hydra: how columns become
//! JSON, which queries are refused, and failures as outages.

use std::time::{Duration, Instant};

use super::postgres::GRACE;
use super::{apply, sql_directory};
use crate::helpers::postgres;
use gatehouse::config::Config;
use gatehouse::directory::{Directory, DirectoryError};
use gatehouse::domain::PhoneNumber;
use serde_json::{json, Value};

/// The directory `settings` describe, as gatehouse builds it (no server
/// is contacted until a lookup).
pub(super) fn build_directory(settings: &str) -> (Directory, tempfile::TempDir) {
    let mut config = Config::default();
    apply(&mut config, settings);
    let dir = tempfile::tempdir().unwrap();
    let store = gatehouse::store::Store::open(&dir.path().join("gatehouse.sqlite")).unwrap();
    let directory =
        Directory::from_config(&config.directory, store).expect("built without connecting");
    (directory, dir)
}

pub(super) fn plain_settings(url: &str, by_phone: &str, by_id: &str, timeout: &str) -> String {
    sql_directory(url, by_phone, by_id) + &format!("timeout = \"{timeout}\"\n")
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
