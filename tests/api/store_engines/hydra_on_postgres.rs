//! `hydra.dsn`: the supervised Hydra on PostgreSQL instead of its SQLite
//! file. Alone, and two gatehouse instances each with its own supervised
//! Hydra on one Hydra database and one gatehouse database (Ory's cluster
//! shape: Hydra nodes sharing a database and secrets), a browser
//! alternating between them.

use gatehouse::config::Secret;

use super::two_apps::copy_secrets;
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::postgres;
use crate::helpers::world::{trusted, World};

/// Tables whose name starts with `hydra_` in the database.
async fn hydra_tables(database: &postgres::TestDatabase) -> Vec<String> {
    let client = database.connect().await;
    let rows = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_name LIKE 'hydra_%' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

#[tokio::test]
async fn the_supervised_hydra_keeps_its_state_in_postgresql() {
    let database = postgres::shared().database().await;
    let world = World::with(|config| config.hydra.dsn = Some(Secret::new(database.url()))).await;
    let client = world.client(trusted()).await;
    let tokens = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550190",
            "openid",
            false,
        )
        .await;
    assert!(tokens["id_token"].is_string(), "{tokens}");
    let tables = hydra_tables(&database).await;
    assert!(
        tables.iter().any(|t| t == "hydra_client"),
        "Hydra migrated its schema into PostgreSQL: {tables:?}"
    );
    let clients: i64 = database
        .connect()
        .await
        .query_one("SELECT count(*) FROM hydra_client", &[])
        .await
        .unwrap()
        .get(0);
    assert!(clients >= 1, "the client registered is there");
    assert!(
        !world
            .app
            .config
            .data_dir
            .join("hydra/hydra.sqlite")
            .exists(),
        "no SQLite file for Hydra"
    );
    // A restart finds the client and its consent in the database.
    let world = world.restart().await;
    world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            "+12015550191",
            "openid",
            false,
        )
        .await;
    world.app.stop().await;
}

#[tokio::test]
async fn two_instances_each_with_its_hydra_on_one_database_serve_one_sign_in() {
    let hydra_db = postgres::shared().database().await;
    let own_db = postgres::shared().database().await;
    let (hydra_url, own_url) = (Secret::new(hydra_db.url()), Secret::new(own_db.url()));
    let a = World::with(|config| {
        config.hydra.dsn = Some(hydra_url.clone());
        config.database.url = Some(own_url.clone());
    })
    .await;
    let public_url = a.app.config.server.public_url.clone();
    let a_dir = a.app.config.data_dir.clone();
    // B: its own data dir and Hydra, A's secrets and public URL (behind one
    // load balancer), the same two databases.
    let b = World::with_sms(a.sms.clone(), |config| {
        copy_secrets(&a_dir, &config.data_dir);
        config.hydra.dsn = Some(hydra_url.clone());
        config.database.url = Some(own_url.clone());
        config.server.public_url = public_url.clone();
    })
    .await;
    let client = a.client(trusted()).await;
    let browser = HttpBrowser::new();
    let phone = "+12015550192";
    // The authorization request goes to B's Hydra, which sends the browser
    // to the login page at the public URL (A).
    let auth = client.authorize(&b.app, "openid");
    let login = a.open(&browser, &auth).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let send = [("action", "send"), ("phone", phone)];
    let code_page = browser.submit_at(&b.app.url("/login"), &login, &send).await;
    assert_eq!(code_page.status, 200, "{}", code_page.body);
    let code = a.sms.code_for(phone).await;
    let accepted = a.submit_code(&browser, &code_page, &code, false).await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let callback = a.follow_to_callback(&browser, &accepted).await;
    // The code is redeemed at B's Hydra.
    b.redeem(&client, &auth, &callback).await;
    b.app.stop().await;
    a.app.stop().await;
}

/// `[hydra.tuning]` reaches a Hydra on PostgreSQL as it does one on its
/// SQLite file (hydra_admin::tuning reads that file): a new client's secret
/// is hashed with gatehouse's 1,000 PBKDF2 iterations, not Hydra's 25,000.
#[tokio::test]
async fn tunings_secret_hashing_reaches_the_hydra_on_postgresql() {
    let database = postgres::shared().database().await;
    let world = World::with(|config| config.hydra.dsn = Some(Secret::new(database.url()))).await;
    world
        .app
        .create_client(serde_json::json!({
            "client_id": "hashed-on-postgres", "grant_types": ["client_credentials"],
            "scope": "api", "token_endpoint_auth_method": "client_secret_basic",
        }))
        .await;
    let hash: String = database
        .connect()
        .await
        .query_one(
            "SELECT client_secret FROM hydra_client WHERE id = 'hashed-on-postgres'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // `$pbkdf2-sha256$i=N,l=32$salt$hash`
    let iterations = hash.split('$').nth(2).unwrap_or_default();
    assert!(iterations.starts_with("i=1000,"), "{hash}");
    world.app.stop().await;
}
