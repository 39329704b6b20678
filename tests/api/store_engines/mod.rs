//! Gatehouse's own state on both engines (`[database] url`): every store
//! operation on SQLite and on a real PostgreSQL (helpers/postgres.rs) in
//! `operations`; several instances on one PostgreSQL deciding about the
//! same phone, code or message at once in `instances` (store handles of
//! their own, as separate processes have) and `two_apps` (two gatehouse
//! instances; `two_apps_browser`: a browser's sign-in over both).

mod hydra_on_postgres;
mod instances;
mod kill;
mod operations;
mod rate_limits;
mod store_copy;
mod two_apps;
mod two_apps_browser;

use gatehouse::config::{DatabaseLocation, PostgresTls, Secret};
use gatehouse::store::codes::{NewChallenge, WindowLimit};
use gatehouse::store::Store;

use crate::helpers::postgres;

/// The engines every operation is checked on.
#[derive(Debug, Clone, Copy)]
enum Engine {
    Sqlite,
    Postgres,
}

const ENGINES: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];

/// A fresh, migrated database (the temp dir lives as long as the store needs it).
struct Fresh {
    store: Store,
    _dir: tempfile::TempDir,
}

async fn fresh(engine: Engine) -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let location = match engine {
        Engine::Sqlite => DatabaseLocation::Sqlite(dir.path().join("g.sqlite")),
        Engine::Postgres => postgres_location().await,
    };
    Fresh {
        store: open(&location).await,
        _dir: dir,
    }
}

/// A fresh database on the tests' PostgreSQL server.
async fn postgres_location() -> DatabaseLocation {
    let db = postgres::shared().database().await;
    DatabaseLocation::Postgres {
        url: Secret::new(db.url()),
        tls: PostgresTls::default(),
    }
}

/// Opens (and migrates) the database, as an instance does at start-up.
async fn open(location: &DatabaseLocation) -> Store {
    let location = location.clone();
    tokio::task::spawn_blocking(move || Store::open_at(&location, 4))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("open the store: {e}"))
}

/// A challenge of `flow` for `phone`, with a message to send when `message`.
fn challenge<'a>(
    id: &'a str,
    flow: &'a str,
    phone: &'a str,
    now: i64,
    message: bool,
) -> NewChallenge<'a> {
    NewChallenge {
        id,
        flow,
        phone,
        code_hash: b"hash",
        created_at: now,
        expires_at: now + 300,
        max_attempts: 3,
        message: message.then_some(&b"sealed"[..]),
        claimed_until: None,
    }
}

/// At most `max` codes an hour to `phone`.
fn per_phone(phone: &str, max: u32) -> Vec<WindowLimit<&'static str>> {
    vec![WindowLimit {
        name: "phone",
        kind: "phone",
        key: phone.to_string(),
        window: 3600,
        max,
        enforced: true,
    }]
}
