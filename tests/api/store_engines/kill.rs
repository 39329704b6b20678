//! SIGKILL of one instance in the middle of load: two gatehouse instances
//! on one PostgreSQL, A in this process (with its supervised Hydra), B the
//! real binary as a separate process (external mode, A's Hydra and
//! secrets). B is killed while requests for codes reach both; A keeps
//! serving, every code a person was told was sent arrives (what B had
//! claimed is sent by A once B's claim runs out), a message repeated after
//! the crash carries its first sending's Idempotency-Key (so the gateway
//! sends each text once), and each code verifies on A.

use std::collections::{HashMap, HashSet};
use std::process::{Child, Stdio};
use std::time::Duration;

use futures_util::future::join_all;
use gatehouse::config::SmsSenderKind;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::postgres_location;
use super::two_apps::copy_secrets;
use crate::helpers::binary::command;
use crate::helpers::headless::{NativeApp, NATIVE_REDIRECT_URI};
use crate::helpers::world::World;
use crate::helpers::{free_port, wait_ready, WebhookSink};

const APP: NativeApp = NativeApp {
    id: "native-app",
    secret: "native-app-secret-0123456789",
    scope: "openid offline_access phone",
};

/// Instance B: `gatehouse serve` on its own data dir, killed when dropped.
struct ProcessB {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Drop for ProcessB {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_b(a: &World) -> ProcessB {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    copy_secrets(&a.app.config.data_dir, &data_dir);
    let port = free_port();
    let a_config = &a.app.config;
    let SmsSenderKind::Webhook { url: sms } = &a_config.sms.sender else {
        unreachable!()
    };
    let file = format!(
        "data_dir = {data_dir:?}\n\
         [server]\nlisten = \"127.0.0.1:{port}\"\npublic_url = \"{public}\"\n\
         [hydra]\nmode = \"external\"\nadmin_url = \"{admin}\"\n\
         public_url = \"http://127.0.0.1:{hydra_public}/\"\n\
         [database]\nurl = {database:?}\npool_size = 4\n\
         [login]\nmethods = [\"sms\"]\n\
         [otp]\nmax_per_ip_per_hour = 1000\n\
         [bot_challenge]\nkind = \"off\"\n\
         [sms]\nsender = \"webhook\"\n\
         [sms.webhook]\nurl = \"{sms}\"\ntimeout = \"1s\"\n\
         [sms.policy]\nallowed_countries = [\"*\"]\nadaptive_floor = 10000\n\
         [[headless.clients]]\nclient_id = \"{id}\"\nclient_secret = \"{secret}\"\n\
         redirect_uri = \"{NATIVE_REDIRECT_URI}\"\nscope = \"{scope}\"\n\
         [log]\nlevel = \"warn\"\n",
        data_dir = data_dir.display().to_string(),
        public = a_config.server.public_url,
        admin = a_config.hydra_admin_url(),
        hydra_public = a_config.hydra.public_port,
        database = a_config.database.url.as_ref().unwrap().expose(),
        id = APP.id,
        secret = APP.secret,
        scope = APP.scope,
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, file).unwrap();
    let env: [(&str, &str); 0] = [];
    let child = command(
        &["--config", path.to_str().unwrap(), "serve"],
        env,
        dir.path(),
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .expect("start gatehouse serve");
    let address = format!("http://127.0.0.1:{port}");
    wait_ready(&address, Duration::from_secs(60)).await;
    ProcessB {
        child,
        address,
        _dir: dir,
    }
}

/// Asks `address` for a code to `phone`: the session id when it says
/// the code is on its way; None when it failed or was unreachable.
async fn request_code(http: &reqwest::Client, address: &str, phone: String) -> Option<String> {
    let response = http
        .post(format!("{address}/api/headless/request-otp"))
        .json(&json!({"phone": phone, "client_id": APP.id}))
        .send()
        .await
        .ok()?;
    if response.status() != StatusCode::OK {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    body["session_id"].as_str().map(str::to_string)
}

#[tokio::test]
async fn a_killed_instance_loses_no_code_it_promised_and_repeats_carry_their_key() {
    let gatewayless = postgres_location().await;
    let gatehouse::config::DatabaseLocation::Postgres { url, .. } = gatewayless else {
        unreachable!()
    };
    let sms = WebhookSink::start(200).await;
    let a = World::with_sms(sms, |config| {
        config.database.url = Some(url.clone());
        config.database.pool_size = 4;
        config.headless.clients = vec![APP.listed(false)];
        config.otp.max_per_ip_per_hour = 1000;
        config.sms.webhook.timeout = Duration::from_secs(1);
    })
    .await;
    APP.register(&a.app, "client_secret_basic").await;
    let mut b = start_b(&a).await;
    let http = crate::helpers::http_client();
    let instances = [a.app.address.clone(), b.address.clone()];
    let phone = |n: usize| format!("+120155502{n:02}");

    // Before: both serve.
    let before = join_all((0..10).map(|n| request_code(&http, &instances[n % 2], phone(n)))).await;
    assert!(before.iter().all(Option::is_some), "{before:?}");
    // During: B is killed while requests reach both.
    // B is killed as soon as it has answered one of them: the others are
    // in flight on B, queued or not yet sent.
    let b_answered_one = tokio::sync::Notify::new();
    let during = join_all((10..40).map(|n| {
        let (http, address, phone) = (&http, instances[n % 2].clone(), phone(n));
        let answered = &b_answered_one;
        async move {
            let session = request_code(http, &address, phone).await;
            if n % 2 == 1 && session.is_some() {
                answered.notify_one();
            }
            (n, session)
        }
    }));
    let kill = async {
        b_answered_one.notified().await;
        b.child.kill().expect("SIGKILL B");
        b.child.wait().unwrap();
    };
    let (during, ()) = tokio::join!(during, kill);
    // After: A alone serves every request.
    let after = join_all((40..50).map(|n| request_code(&http, &instances[0], phone(n)))).await;
    assert!(
        after.iter().all(Option::is_some),
        "A keeps serving: {after:?}"
    );
    let b_answered = during
        .iter()
        .filter(|(n, s)| n % 2 == 1 && s.is_some())
        .count();
    eprintln!("B answered {b_answered} of the 15 requests sent to it as it was killed");
    for (n, session) in &during {
        if n % 2 == 0 {
            assert!(session.is_some(), "A refused {n} while B died");
        }
    }

    // Every code promised arrives, once; nothing is sent twice.
    let mut promised: Vec<(String, String)> = Vec::new();
    promised.extend(
        before
            .into_iter()
            .enumerate()
            .map(|(n, s)| (phone(n), s.unwrap())),
    );
    promised.extend(
        during
            .into_iter()
            .filter_map(|(n, s)| s.map(|s| (phone(n), s))),
    );
    promised.extend(
        after
            .into_iter()
            .enumerate()
            .map(|(i, s)| (phone(40 + i), s.unwrap())),
    );
    a.app.outbox_drained().await;
    // A message the gateway took from B just before B died, before B could
    // note it, is sent again by A once B's claim runs out (delivery is at
    // least once): with the same Idempotency-Key, so the gateway can drop
    // it. Per phone one key; a gateway that drops repeated keys sends each
    // text once.
    let mut keys: HashMap<String, HashSet<String>> = HashMap::new();
    let mut repeats = 0;
    for message in a.sms.received() {
        let phone = message.json()["phone"].as_str().unwrap().to_string();
        let key = message.headers["idempotency-key"]
            .to_str()
            .unwrap()
            .to_string();
        if !keys.entry(phone).or_default().insert(key) {
            repeats += 1;
        }
    }
    eprintln!("{repeats} messages were handed to the gateway a second time, with their key");
    assert!(
        keys.values().all(|keys| keys.len() == 1),
        "one message per phone: {keys:?}"
    );
    for (phone, _) in &promised {
        assert!(keys.contains_key(phone), "{phone} was promised a code");
    }
    // And each of them signs in on A.
    for (phone, session) in &promised {
        let code = a.sms.code_for(phone).await;
        let tokens = http
            .post(format!("{}/api/headless/verify-otp", a.app.address))
            .json(&json!({"session_id": session, "otp": code}))
            .send()
            .await
            .unwrap();
        assert_eq!(tokens.status(), StatusCode::OK, "{phone}");
    }
    a.app.stop().await;
}
