//! Closed sign-up must not tell who is a member (issue 17, point 3): the
//! answer to "send me a code" takes the same time and says the same thing
//! for a member and a stranger, whatever the SMS gateway does, because the
//! message only goes into the outbox while the request is answered.

use std::time::{Duration, Instant};

use axum::response::IntoResponse;
use serde_json::Value;

use crate::helpers::headless::NativeApp;
use crate::helpers::http_browser::{Hop, HttpBrowser};
use crate::helpers::oauth::Client;
use crate::helpers::world::{trusted, World};
use crate::helpers::WebhookSink;
use gatehouse::config::{Config, Signup};
use gatehouse::store::users::Profile;

const APP: NativeApp = NativeApp {
    id: "outbox-app",
    secret: "outbox-app-secret-0123456789",
    scope: "openid phone",
};

/// Closed sign-up, room for many sends from one address, a native app.
fn closed(config: &mut Config) {
    config.users.signup = Signup::Closed;
    config.otp.max_per_ip_per_hour = 1000;
    config.otp.resend_cooldown = Duration::ZERO;
    config.headless.clients = vec![APP.listed(false)];
}

async fn member(world: &World, n: u32) -> String {
    let phone = format!("+1201555{n:04}");
    world.app.add_user(&phone, Profile::default()).await;
    phone
}

fn stranger(n: u32) -> String {
    format!("+1201556{n:04}")
}

/// Opens a fresh login page and times only the "send me a code" post.
async fn timed_send(world: &World, client: &Client, phone: &str) -> (Duration, Hop) {
    let browser = HttpBrowser::new();
    let login = world
        .open(&browser, &client.authorize(&world.app, "openid"))
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let started = Instant::now();
    let page = world.send_code(&browser, &login, phone).await;
    (started.elapsed(), page)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::test]
async fn members_and_strangers_wait_the_same_for_a_slow_gateway() {
    let slow = WebhookSink::answering("/sms", |_, _| async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        axum::http::StatusCode::OK.into_response()
    })
    .await;
    let world = World::with_sms(slow, closed).await;
    let client = world.client(trusted()).await;
    let (mut members, mut strangers) = (Vec::new(), Vec::new());
    // In turns, so that a slower moment of the machine hits both alike.
    for n in 0..20 {
        let phone = member(&world, 7000 + n).await;
        let (took, page) = timed_send(&world, &client, &phone).await;
        assert_eq!(page.status, 200, "{}", page.body);
        members.push(took);
        let (took, page) = timed_send(&world, &client, &stranger(n)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        strangers.push(took);
    }
    let (members, strangers) = (median(members), median(strangers));
    let difference = members.abs_diff(strangers);
    println!("median send-code answer: members {members:?}, strangers {strangers:?}");
    assert!(
        difference < Duration::from_millis(50),
        "members {members:?} vs strangers {strangers:?}: the gateway's second shows"
    );
    // The members' messages did go out, in the background.
    world.app.outbox_drained().await;
    assert_eq!(world.sms.received().len(), 20);
}

/// The parts of a code page that may differ between two people: form
/// secrets, challenges and the number itself.
fn without_particulars(body: &str, phone: &str) -> String {
    let mut rest = body.replace(phone, "PHONE");
    let mut kept = String::new();
    while let Some(start) = rest.find("value=\"") {
        let after = start + "value=\"".len();
        let end = after + rest[after..].find('"').expect("a closed attribute");
        kept.push_str(&rest[..after]);
        rest = rest[end..].to_string();
    }
    kept.push_str(&rest);
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    kept.replace(&digits, "PHONE")
}

#[tokio::test]
async fn a_gateway_refusing_every_message_changes_no_answer() {
    let world = World::with_sms(WebhookSink::start(400).await, closed).await;
    APP.register(&world.app, "client_secret_basic").await;
    let client = world.client(trusted()).await;
    let known = member(&world, 7100).await;
    let unknown = stranger(100);

    let (_, to_member) = timed_send(&world, &client, &known).await;
    let (_, to_stranger) = timed_send(&world, &client, &unknown).await;
    assert_eq!(to_member.status, 200, "{}", to_member.body);
    assert_eq!(to_member.status, to_stranger.status);
    assert_eq!(
        without_particulars(&to_member.body, &known),
        without_particulars(&to_stranger.body, &unknown)
    );

    let headless_member = world.request_otp(&known, APP.id, None).await;
    let headless_stranger = world.request_otp(&unknown, APP.id, None).await;
    assert_eq!(headless_member.status, 200, "{}", headless_member.body);
    assert_eq!(headless_member.status, headless_stranger.status);
    let comparable = |mut body: Value| {
        body["session_id"] = Value::Null;
        body
    };
    assert_eq!(
        comparable(headless_member.body),
        comparable(headless_stranger.body)
    );
    // The member's messages were tried, and refused.
    world.app.outbox_drained().await;
    assert!(world.sms.received().len() >= 2);
}
