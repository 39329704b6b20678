//! The PostgreSQL directory over TLS: a real server with `ssl=on` presents
//! a test CA's certificate for `db.test` (reached at 127.0.0.1 through
//! `hostaddr`, so that the name is not this machine's). Each case looks up
//! whether its own connection is encrypted (`pg_stat_ssl`), or how it was
//! refused.

use super::lookups::{build_directory, plain_settings};
use crate::helpers::postgres::{self, Listen, PgServer, TestDatabase};
use crate::helpers::test_ca::TestCa;
use gatehouse::directory::DirectoryError;

/// This connection's row of pg_stat_ssl: `ssl` says whether it is encrypted.
const BY_ID: &str = "SELECT $1::text AS id, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

/// `postgres://owner:password@HOST:port/db?hostaddr=127.0.0.1&QUERY`.
fn url(db: &TestDatabase, host: &str, query: &str) -> String {
    format!(
        "postgres://{}:{}@{host}:{}/{}?hostaddr=127.0.0.1&{query}",
        db.owner, db.password, db.port, db.name
    )
}

/// Whether a lookup through `url` ran on an encrypted connection, or why
/// it could not connect.
async fn encrypted(url: &str) -> Result<bool, String> {
    let (directory, _dir) = build_directory(&plain_settings(url, "SELECT $1 AS id", BY_ID, "5s"));
    match directory.find_by_id("probe").await {
        Ok(Some(user)) => Ok(user.record["ssl"] == true),
        Ok(None) => Err("no row".into()),
        Err(error @ DirectoryError::Unavailable(_)) => Err(error.to_string()),
        Err(other) => panic!("{url}: {other}"),
    }
}

#[tokio::test]
async fn postgres_connections_are_encrypted_and_verified_as_sslmode_says() {
    let ca = TestCa::new("gatehouse test PostgreSQL CA");
    let other_ca = TestCa::new("someone else's CA");
    let (cert, key) = ca.certificate_for(&["db.test"], false);
    let server = PgServer::start_tls(Listen::TcpAndSocket, &cert, &key);
    let db = server.database().await;
    let files = tempfile::tempdir().unwrap();
    let right = ca.file(&files).display().to_string();
    let wrong_dir = tempfile::tempdir().unwrap();
    let wrong = other_ca.file(&wrong_dir).display().to_string();
    let root = |path: &str| format!("sslrootcert={path}");

    let connects = [
        // verify-full: the CA and the name checked.
        (
            url(
                &db,
                "db.test",
                &format!("sslmode=verify-full&{}", root(&right)),
            ),
            true,
        ),
        // No sslmode for a host that is not this machine: verify-full.
        (url(&db, "db.test", &root(&right)), true),
        // verify-ca: the CA only, whatever name.
        (
            url(
                &db,
                "other.test",
                &format!("sslmode=verify-ca&{}", root(&right)),
            ),
            true,
        ),
        // require: encrypted, the certificate unchecked.
        (url(&db, "other.test", "sslmode=require"), true),
        // Written as such: plain text, even off this machine.
        (url(&db, "db.test", "sslmode=disable"), false),
        // Loopback without sslmode: plain text, as before.
        (db.url(), false),
    ];
    for (url, tls) in connects {
        assert_eq!(encrypted(&url).await, Ok(tls), "{url}");
    }

    let unknown_ca = "PostgreSQL's certificate is not signed by a CA gatehouse trusts";
    let refused = [
        (
            url(
                &db,
                "db.test",
                &format!("sslmode=verify-full&{}", root(&wrong)),
            ),
            unknown_ca,
        ),
        // The default off this machine is verify-full: the system's CAs do
        // not know the test CA, so the connection is refused.
        (url(&db, "db.test", ""), unknown_ca),
        (url(&db, "db.test", "sslmode=verify-ca"), unknown_ca),
        // require with sslrootcert checks the CA, as libpq does.
        (
            url(&db, "db.test", &format!("sslmode=require&{}", root(&wrong))),
            unknown_ca,
        ),
        (
            url(
                &db,
                "other.test",
                &format!("sslmode=verify-full&{}", root(&right)),
            ),
            "not valid for the host name other.test (it names",
        ),
    ];
    for (url, expected) in refused {
        let error = encrypted(&url).await.unwrap_err();
        assert!(
            error.contains("cannot connect to PostgreSQL"),
            "{url}: {error}"
        );
        assert!(error.contains(expected), "{url}: {error}");
        assert!(!error.contains(&db.password), "{error}");
    }
}

#[tokio::test]
async fn a_server_without_tls_is_refused_when_tls_is_asked_for() {
    let db = postgres::shared().database().await;
    for query in ["sslmode=require", "sslmode=verify-full"] {
        let url = url(&db, "localhost", query);
        let error = encrypted(&url).await.unwrap_err();
        assert!(
            error.contains("server does not support TLS"),
            "{url}: {error}"
        );
    }
}
