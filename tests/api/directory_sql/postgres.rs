//! A foreign PostgreSQL database as the directory, through sign-ins.

use super::{
    apply, assert_answered_like_an_unknown_phone, assert_directory_down, client, request_code,
    sms_count, sql_directory, NOBODY,
};
use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::id_token_claims;
use crate::helpers::postgres::{self, Listen, PgServer, TestDatabase};
use crate::helpers::world::World;
use gatehouse::directory::DirectoryError;
use gatehouse::domain::PhoneNumber;
use serde_json::json;

pub(super) const GRACE: &str = "+12015550180";
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
    let by_id = format!("SELECT {COLUMNS} FROM customers WHERE customer_id = $1");
    sql_directory(url, by_phone, &by_id)
        + r#"
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
    assert_eq!(sms_count(&world, GRACE).await, 0);
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
    let code = world.sms.code_for(GRACE).await;

    server.stop();
    let during = world.submit_code(&grace, &code_page, &code, false).await;
    assert_directory_down(&during);
    let (alan, alan_login, answer) = request_code(&world, &client, ALAN).await;
    assert_directory_down(&answer);
    for _ in 0..2 {
        assert_directory_down(&world.send_code(&alan, &alan_login, ALAN).await);
    }
    assert_eq!(sms_count(&world, ALAN).await, 0);

    server.restart();
    // The same code still works: the outage did not touch it.
    let after = world.submit_code(&grace, &code_page, &code, false).await;
    let callback = world.follow_to_callback(&grace, &after).await;
    let tokens = world.redeem(&client, &auth, &callback).await;
    let claims = id_token_claims(&world.app, &tokens, &client.id).await;
    assert_eq!(claims["sub"], GRACE_ID);
    // Alan's attempts counted against no limit: his one code of the hour comes.
    let answer = world.send_code(&alan, &alan_login, ALAN).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(sms_count(&world, ALAN).await, 1);
}
