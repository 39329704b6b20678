//! Two gatehouse instances on one PostgreSQL, as behind a load balancer:
//! A supervises Hydra, B talks to that Hydra (external mode) and has A's
//! secrets (copied, as the topology in the README says); both send SMS to
//! the same gateway. A client alternates between them.

use std::time::Duration;

use futures_util::future::join_all;
use gatehouse::config::{Config, DatabaseLocation, HydraMode, SmsSenderKind};
use gatehouse::infra::data_dir::DataDir;
use gatehouse::Application;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::postgres_location;
use crate::helpers::answer::Answer;
use crate::helpers::headless::NativeApp;
use crate::helpers::world::World;
use crate::helpers::{test_config, WebhookSink};

const APP: NativeApp = NativeApp {
    id: "native-app",
    secret: "native-app-secret-0123456789",
    scope: "openid offline_access phone",
};

/// Instance B: its own listener and data dir, everything else shared with A.
pub(super) struct InstanceB {
    pub(super) address: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _data_dir: tempfile::TempDir,
}

impl InstanceB {
    async fn stop(mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        let _ = self.server.await;
    }
}

pub(super) struct Cluster {
    pub(super) a: World,
    pub(super) b: InstanceB,
}

/// `tune` adjusts both instances' settings alike.
pub(super) async fn cluster(tune: impl Fn(&mut Config)) -> Cluster {
    let DatabaseLocation::Postgres { url, .. } = postgres_location().await else {
        unreachable!()
    };
    let sms = WebhookSink::start(200).await;
    let a = World::with_sms(sms, |config| {
        config.database.url = Some(url.clone());
        config.database.pool_size = 4;
        config.headless.clients = vec![APP.listed(false)];
        tune(config);
    })
    .await;
    APP.register(&a.app, "client_secret_basic").await;

    let data_dir = tempfile::tempdir().unwrap();
    let mut config = test_config(data_dir.path().to_path_buf());
    config.database = a.app.config.database.clone();
    config.headless = a.app.config.headless.clone();
    config.sms.sender = SmsSenderKind::Webhook {
        url: a.sms.url.parse().unwrap(),
    };
    // Behind one load balancer both have the same public URL (A's here).
    config.server.public_url = a.app.config.server.public_url.clone();
    config.hydra.mode = HydraMode::External {
        admin_url: a.app.config.hydra_admin_url(),
        public_url: format!("http://127.0.0.1:{}/", a.app.config.hydra.public_port)
            .parse()
            .unwrap(),
        ca_file: None,
    };
    tune(&mut config);
    copy_secrets(&a.app.config.data_dir, data_dir.path());
    let app = Application::build(config).await.expect("instance B starts");
    let address = format!("http://{}", app.local_addr());
    let (shutdown, stopped) = oneshot::channel();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    Cluster {
        a,
        b: InstanceB {
            address,
            shutdown: Some(shutdown),
            server,
            _data_dir: data_dir,
        },
    }
}

/// Every instance needs the same secrets (codes are keyed and messages
/// sealed with them): B gets A's.
pub(super) fn copy_secrets(from: &std::path::Path, to: &std::path::Path) {
    let (from, to) = (DataDir::new(from).secrets(), DataDir::new(to).secrets());
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

impl Cluster {
    /// The address of instance `n` (even: A, odd: B).
    pub(super) fn address(&self, n: usize) -> &str {
        match n % 2 {
            0 => &self.a.app.address,
            _ => &self.b.address,
        }
    }

    async fn post(&self, n: usize, path: &str, body: Value) -> Answer {
        let response = self
            .a
            .app
            .http
            .post(format!("{}{path}", self.address(n)))
            .json(&body)
            .send()
            .await
            .expect("gatehouse answers");
        Answer::read(response).await
    }

    async fn request_otp(&self, n: usize, phone: &str) -> Answer {
        self.post(
            n,
            "/api/headless/request-otp",
            json!({"phone": phone, "client_id": APP.id}),
        )
        .await
    }

    async fn verify_otp(&self, n: usize, session_id: &str, code: &str) -> Answer {
        self.post(
            n,
            "/api/headless/verify-otp",
            json!({"session_id": session_id, "otp": code}),
        )
        .await
    }

    pub(super) async fn stop(self) {
        self.b.stop().await;
        self.a.app.stop().await;
    }
}

fn session_of(answer: &Answer) -> String {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["session_id"]
        .as_str()
        .expect("session_id")
        .to_string()
}

#[tokio::test]
async fn a_code_requested_on_one_instance_verifies_on_the_other_once() {
    let cluster = cluster(|_| {}).await;
    let phone = "+12015550140";
    let session = session_of(&cluster.request_otp(0, phone).await);
    let code = cluster.a.sms.code_for(phone).await;
    let tokens = cluster.verify_otp(1, &session, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert!(tokens.body["access_token"].is_string(), "{}", tokens.body);
    let replay = cluster.verify_otp(0, &session, &code).await;
    assert_ne!(
        replay.status,
        StatusCode::OK,
        "replayed on A: {}",
        replay.body
    );
    cluster.stop().await;
}

#[tokio::test]
async fn the_cooldown_and_the_hourly_cap_count_sends_on_both_instances() {
    let cluster = cluster(|config| config.otp.max_per_phone_per_hour = 3).await;
    let phone = "+12015550141";
    session_of(&cluster.request_otp(0, phone).await);
    let cooling = cluster.request_otp(1, phone).await;
    cooling.assert_error(StatusCode::TOO_MANY_REQUESTS, "too_many_requests");
    cluster.stop().await;

    let cluster = cluster_without_cooldown().await;
    let sent: Vec<StatusCode> = join_all((0..8).map(|n| cluster.request_otp(n, phone)))
        .await
        .iter()
        .map(|answer| answer.status)
        .collect();
    let ok = sent.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(
        ok, 3,
        "three codes an hour, whichever instance sends: {sent:?}"
    );
    assert!(
        sent.iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::TOO_MANY_REQUESTS),
        "{sent:?}"
    );
    cluster.stop().await;
}

async fn cluster_without_cooldown() -> Cluster {
    cluster(|config| {
        config.otp.max_per_phone_per_hour = 3;
        config.otp.resend_cooldown = Duration::ZERO;
    })
    .await
}

#[tokio::test]
async fn fifty_concurrent_verifications_over_both_instances_succeed_once() {
    let cluster = cluster(|_| {}).await;
    let phone = "+12015550142";
    let session = session_of(&cluster.request_otp(0, phone).await);
    let code = cluster.a.sms.code_for(phone).await;
    let answers = join_all((0..50).map(|n| cluster.verify_otp(n, &session, &code))).await;
    let won: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::OK)
        .collect();
    assert_eq!(
        won.len(),
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert!(
        answers
            .iter()
            .all(|a| a.status == StatusCode::OK || a.status.is_client_error()),
        "the others are refused, not failed: {:?}",
        answers
            .iter()
            .map(|a| (a.status, &a.body))
            .collect::<Vec<_>>()
    );
    cluster.stop().await;
}

#[tokio::test]
async fn each_queued_sms_is_sent_once_by_one_of_the_instances() {
    let cluster = cluster_without_cooldown().await;
    let phones: Vec<String> = (0..12)
        .map(|n| format!("+120155501{:02}", 50 + n))
        .collect();
    for (n, phone) in phones.iter().enumerate() {
        session_of(&cluster.request_otp(n, phone).await);
    }
    cluster.a.sms.wait_for_requests(phones.len()).await;
    // Both outbox workers had time to pick anything up twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut sent: Vec<String> = cluster
        .a
        .sms
        .received()
        .iter()
        .map(|r| r.json()["phone"].as_str().unwrap().to_string())
        .collect();
    sent.sort();
    let mut expected = phones.clone();
    expected.sort();
    assert_eq!(sent, expected, "one text per code, none twice");
    cluster.stop().await;
}
