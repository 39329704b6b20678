//! A foreign SQLite file as the directory.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::{apply, assert_answered_like_an_unknown_phone, client, sql_directory, NOBODY};
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::id_token_claims;
use crate::helpers::world::World;

const ADA: &str = "+12015550170";
const BLOCKED_BOB: &str = "+12015550171";

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
    let url = format!("sqlite://{}", path.display());
    let by_phone = "SELECT * FROM customers WHERE mobile = $1";
    let by_id = "SELECT * FROM customers WHERE customer_no = $1";
    sql_directory(&url, by_phone, by_id)
        + r#"
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
        "#
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
