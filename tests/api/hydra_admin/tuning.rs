//! The signing keys gatehouse gives the Hydra it runs (`hydra.tuning`,
//! issue 25): Hydra signs id_tokens with them, publishes only their public
//! half, and an existing key set is never replaced.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

use crate::helpers::http_browser::HttpBrowser;
use crate::helpers::oauth::{id_token_claims, jwt_payload};
use crate::helpers::world::{trusted, World};
use gatehouse::config::SigningKey;

/// The JWKS Hydra publishes through gatehouse, by kid (Hydra lists its
/// two sets in no fixed order).
async fn published_keys(world: &World) -> Vec<Value> {
    let jwks: Value = world.app.get_json("/.well-known/jwks.json").await;
    let mut keys = jwks["keys"].as_array().expect("keys").clone();
    keys.sort_by_key(|key| key["kid"].as_str().unwrap_or_default().to_string());
    keys
}

/// The header of a JWT.
fn jwt_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap()
}

async fn id_token(world: &World, phone: &str) -> (String, Value) {
    let client = world.client(trusted()).await;
    let tokens = world
        .sign_in(&HttpBrowser::new(), &client, phone, "openid", false)
        .await;
    let id_token = tokens["id_token"]
        .as_str()
        .expect("an id_token")
        .to_string();
    (id_token, tokens)
}

#[tokio::test]
async fn hydra_signs_with_the_rsa_2048_key_gatehouse_gave_it_and_an_upgrade_keeps_it() {
    let world = World::new().await;
    assert_eq!(
        world.app.config.hydra.tuning.signing_key,
        SigningKey::Rsa2048
    );
    // One key for id_tokens, one for JWT access tokens: gatehouse's both.
    let keys = published_keys(&world).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in &keys {
        assert_eq!(
            (key["kty"].as_str(), key["alg"].as_str()),
            (Some("RSA"), Some("RS256"))
        );
        let modulus = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
        assert_eq!(modulus.len() * 8, 2048);
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "{private} is published: {key}");
        }
    }

    let (token, tokens) = id_token(&world, "+12015550901").await;
    let kid = jwt_header(&token)["kid"].clone();
    assert!(
        keys.iter().any(|key| key["kid"] == kid),
        "{kid} in {keys:?}"
    );
    // Verified with the published key (RS256, issuer, audience, expiry).
    let client_id = jwt_payload(&token)["aud"][0].as_str().unwrap().to_string();
    id_token_claims(&world.app, &tokens, &client_id).await;

    // A later start asking for another kind of key changes nothing: clients
    // that trust the key go on verifying.
    let mut world = world;
    world.app.config.hydra.tuning.signing_key = SigningKey::Es256;
    let world = world.restart().await;
    assert_eq!(published_keys(&world).await, keys);
    let (token, _) = id_token(&world, "+12015550902").await;
    assert_eq!(jwt_header(&token)["kid"], kid);
}

#[tokio::test]
async fn es256_keys_sign_es256_id_tokens_and_discovery_says_so() {
    let world = World::with(|config| config.hydra.tuning.signing_key = SigningKey::Es256).await;
    let keys = published_keys(&world).await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    for key in &keys {
        assert_eq!(
            (key["kty"].as_str(), key["crv"].as_str()),
            (Some("EC"), Some("P-256"))
        );
        assert!(key.get("d").is_none(), "the private key is published");
    }
    let discovery: Value = world
        .app
        .get_json("/.well-known/openid-configuration")
        .await;
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );

    let (token, _) = id_token(&world, "+12015550903").await;
    let header = jwt_header(&token);
    assert_eq!(header["alg"], "ES256");
    let key = keys
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the signing key");
    let x = URL_SAFE_NO_PAD.decode(key["x"].as_str().unwrap()).unwrap();
    let y = URL_SAFE_NO_PAD.decode(key["y"].as_str().unwrap()).unwrap();
    let mut sec1 = vec![4u8];
    sec1.extend(x);
    sec1.extend(y);
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let public =
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, sec1);
    public
        .verify(signed.as_bytes(), &signature)
        .expect("the id_token verifies with the published P-256 key");
}

#[tokio::test]
async fn stock_settings_leave_the_key_to_hydra_which_makes_rsa_4096() {
    let world = World::with(|config| {
        config.hydra.tuning = gatehouse::config::HydraTuning::stock();
    })
    .await;
    let (token, _) = id_token(&world, "+12015550904").await;
    let keys = published_keys(&world).await;
    let key = keys
        .iter()
        .find(|k| k["kid"] == jwt_header(&token)["kid"])
        .expect("signing key");
    let modulus = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    assert_eq!(modulus.len() * 8, 4096);
}

/// The PBKDF2 iterations Hydra stored with `client_id`'s secret hash
/// (`$pbkdf2-sha256$i=N,l=32$salt$hash`).
fn stored_iterations(app: &crate::helpers::TestApp, client_id: &str) -> String {
    let database = app.data_dir.path().join("hydra/hydra.sqlite");
    let hydra = rusqlite::Connection::open(database).unwrap();
    let hash: String = hydra
        .query_row(
            "SELECT client_secret FROM hydra_client WHERE id = ?1",
            [client_id],
            |row| row.get(0),
        )
        .unwrap();
    hash.split('$').nth(2).unwrap_or_default().to_string()
}

#[tokio::test]
async fn new_client_secrets_take_the_cheaper_hash_and_old_ones_still_sign_in() {
    let world = World::with(|config| {
        config.hydra.tuning = gatehouse::config::HydraTuning::stock();
    })
    .await;
    let client = |id: &str| {
        serde_json::json!({
            "client_id": id, "grant_types": ["client_credentials"], "scope": "api",
            "token_endpoint_auth_method": "client_secret_basic",
        })
    };
    let old = world.app.create_client(client("made-before")).await;
    let old_secret = old["client_secret"].as_str().unwrap().to_string();
    assert!(stored_iterations(&world.app, "made-before").starts_with("i=25000,"));

    let mut world = world;
    world.app.config.hydra.tuning = gatehouse::config::HydraTuning::default();
    let world = world.restart().await;
    let new = world.app.create_client(client("made-after")).await;
    assert!(stored_iterations(&world.app, "made-after").starts_with("i=1000,"));
    assert!(stored_iterations(&world.app, "made-before").starts_with("i=25000,"));
    for (id, secret) in [
        ("made-before", old_secret.as_str()),
        ("made-after", new["client_secret"].as_str().unwrap()),
    ] {
        let answer = world.app.client_credentials(id, secret, "api").await;
        assert_eq!(answer.status(), 200, "{id}");
        let wrong = world
            .app
            .client_credentials(id, "not-the-secret", "api")
            .await;
        assert_eq!(wrong.status(), 401, "{id}");
    }
}

/// The kids `gatehouse keys list` prints under `set`, newest first.
async fn listed_kids(world: &World, set: &str) -> Vec<String> {
    let output = world.app.cli(&["keys", "list"]).await;
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(!text.contains("\"d\""), "{text}");
    text.split(&format!("{set}:\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("{set} in {text}"))
        .lines()
        .take_while(|line| line.starts_with("  "))
        .map(|line| line.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn keys_rotate_signs_with_a_new_key_and_the_old_one_verifies_until_retired() {
    let world = World::new().await;
    let (before, tokens_before) = id_token(&world, "+12015550905").await;
    let old = jwt_header(&before)["kid"].as_str().unwrap().to_string();
    let listed = listed_kids(&world, "hydra.openid.id-token").await;
    assert_eq!(listed, std::slice::from_ref(&old));

    // The one in use cannot be retired; an unknown kid is named.
    let refused = world.app.cli(&["keys", "retire", &old]).await;
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("signs hydra.openid.id-token"));
    let unknown = world.app.cli(&["keys", "retire", "no-such-kid"]).await;
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no key no-such-kid"));

    let rotated = world.app.cli(&["keys", "rotate"]).await;
    assert!(rotated.status.success(), "{rotated:?}");
    let kids = listed_kids(&world, "hydra.openid.id-token").await;
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert_eq!(kids[1], old, "the old key is still published, second");
    let (after, _) = id_token(&world, "+12015550906").await;
    assert_eq!(
        jwt_header(&after)["kid"],
        kids[0].as_str(),
        "signed with the new key"
    );
    // A token signed before the rotation still verifies.
    let client_id = jwt_payload(&before)["aud"][0].as_str().unwrap().to_string();
    id_token_claims(&world.app, &tokens_before, &client_id).await;

    let retired = world.app.cli(&["keys", "retire", &old]).await;
    assert!(retired.status.success(), "{retired:?}");
    let published: Vec<Value> = published_keys(&world).await;
    assert!(
        published.iter().all(|k| k["kid"] != old.as_str()),
        "{published:?}"
    );
    assert!(published.iter().any(|k| k["kid"] == kids[0].as_str()));
}
