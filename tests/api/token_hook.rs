//! Hydra's token hook with an outside user directory (issue 17, point 5):
//! a person the directory disables gets no more tokens once the lookup
//! cache has expired, and a profile change shows in the next id_token.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse::config::{DirectoryKind, HttpService, Signup};
use serde_json::{json, Value};

use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::jwt_payload;
use crate::helpers::world::{trusted, World};

const PHONE: &str = "+12015550195";

/// A user service holding one person whose record the test changes.
#[derive(Clone)]
struct People {
    url: String,
    person: Arc<Mutex<Value>>,
}

impl People {
    async fn start() -> People {
        let person = Arc::new(Mutex::new(json!({
            "id": "person-1", "phone": PHONE, "given_name": "Ada", "disabled": false,
        })));
        let app = Router::new()
            .route("/users/by-phone/{phone}", get(by_phone))
            .route("/users/{id}", get(by_id))
            .with_state(person.clone());
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        People { url, person }
    }

    fn change(&self, key: &str, value: Value) {
        self.person.lock().unwrap()[key] = value;
    }
}

async fn by_phone(State(person): State<Arc<Mutex<Value>>>, Path(phone): Path<String>) -> Response {
    answer_if(&person, "phone", &phone)
}

async fn by_id(State(person): State<Arc<Mutex<Value>>>, Path(id): Path<String>) -> Response {
    answer_if(&person, "id", &id)
}

/// The person when their `field` is `value`, else 404 ("no such user").
fn answer_if(person: &Mutex<Value>, field: &str, value: &str) -> Response {
    let person = person.lock().unwrap().clone();
    if person[field] == value {
        Json(person).into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// Gatehouse with closed sign-up reading people from `people`, answers
/// cached for `cache_ttl`.
async fn world_reading(people: &People, cache_ttl: Duration) -> World {
    let base_url = people.url.parse().unwrap();
    World::with(move |config| {
        config.users.signup = Signup::Closed;
        config.directory.kind = DirectoryKind::Http(HttpService {
            base_url,
            auth: None,
        });
        config.directory.cache_ttl = cache_ttl;
    })
    .await
}

#[tokio::test]
async fn the_directory_decides_each_refresh_and_its_claims() {
    let people = People::start().await;
    let world = world_reading(&people, Duration::from_secs(2)).await;
    let client = world.client(trusted()).await;
    let tokens = world
        .sign_in(
            &HttpBrowser::new(),
            &client,
            PHONE,
            "openid offline_access profile",
            false,
        )
        .await;
    let claims = jwt_payload(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["given_name"], "Ada", "{claims}");

    // A profile change shows at the next refresh, once the cache is stale.
    people.change("given_name", json!("Augusta"));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, refreshed) = client
        .refresh(&world.app, tokens["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "{refreshed}");
    let claims = jwt_payload(refreshed["id_token"].as_str().unwrap());
    assert_eq!(claims["given_name"], "Augusta", "{claims}");

    // Disabled in the directory: refreshing still works while the answer is
    // cached, and stops once it has expired.
    people.change("disabled", json!(true));
    let (status, cached) = client
        .refresh(&world.app, refreshed["refresh_token"].as_str().unwrap())
        .await;
    assert_eq!(status, 200, "within directory.cache_ttl: {cached}");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, refused) = client
        .refresh(&world.app, cached["refresh_token"].as_str().unwrap())
        .await;
    assert_ne!(
        status, 200,
        "a disabled person gets no more tokens: {refused}"
    );
    assert_eq!(refused["error"], "access_denied", "{refused}");
}

#[tokio::test]
async fn the_hook_answers_only_hydra() {
    let people = People::start().await;
    let world = world_reading(&people, Duration::from_secs(10)).await;
    // The hook's URL and key are in the Hydra configuration gatehouse wrote.
    let written =
        std::fs::read_to_string(world.app.config.data_dir.join("hydra/hydra.yaml")).unwrap();
    let written: Value = serde_json::from_str(&written).unwrap();
    let hook = &written["oauth2"]["token_hook"];
    let url = hook["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "loopback only: {url}");
    let header = hook["auth"]["config"]["name"].as_str().unwrap();
    let key = hook["auth"]["config"]["value"].as_str().unwrap();
    assert!(key.len() >= 32, "a generated key");

    let body = json!({
        "session": {"id_token": {"subject": "person-1"}},
        "request": {"client_id": "x", "granted_scopes": ["openid", "profile"]},
    });
    let http = crate::helpers::http_client();
    for wrong in [None, Some("wrong"), Some(&key[..key.len() - 1])] {
        let mut request = http.post(url).json(&body);
        if let Some(wrong) = wrong {
            request = request.header(header, wrong);
        }
        let status = request.send().await.unwrap().status();
        assert_eq!(status, 401, "{wrong:?}");
    }
    let answer = http
        .post(url)
        .header(header, key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(
        answer["session"]["id_token"]["given_name"], "Ada",
        "{answer}"
    );
}
