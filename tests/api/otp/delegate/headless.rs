//! The headless API with an HTTP code delegate: the code it texts signs a
//! native app in and leaves the audit rows gatehouse's own code leaves;
//! while it is down, request-otp answers 503 `temporarily_unavailable`,
//! charges nothing (one send an hour still allows the next), and the audit
//! row names the reason.

use super::code_service::{CodeService, TOKEN};
use crate::audit::audit_rows;
use crate::helpers::headless::NativeApp;
use crate::helpers::world::World;
use gatehouse::config::{CodeIssuer, Secret};

const APP: NativeApp = NativeApp {
    id: "delegate-app",
    secret: "native-app-secret-0123456789",
    scope: "openid phone",
};

#[tokio::test]
async fn a_native_app_signs_in_with_the_delegates_code_and_an_outage_costs_nothing() {
    let service = CodeService::default();
    let url = service.serve_http().await;
    let world = World::with(move |config| {
        config.headless.clients = vec![APP.listed(false)];
        config.otp.issuer = CodeIssuer::Http;
        config.otp.http.url = Some(url.parse().unwrap());
        config.otp.http.auth_token = Some(Secret::new(TOKEN));
        config.otp.max_per_phone_per_hour = 1;
    })
    .await;
    APP.register(&world.app, "client_secret_basic").await;
    let phone = "+12015550614";

    service.set_down(true);
    let refused = world.request_otp(phone, APP.id, None).await;
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert_eq!(
        refused.body["error"], "temporarily_unavailable",
        "{}",
        refused.text
    );

    service.set_down(false);
    let started = world.request_otp(phone, APP.id, None).await;
    assert_eq!(
        started.status, 200,
        "the outage was charged: {}",
        started.text
    );
    let session_id = started.body["session_id"].as_str().unwrap().to_string();
    let code = service.code_for(phone).expect("the delegate texted a code");
    let tokens = world.verify_otp(&session_id, &code).await;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    assert!(tokens.body["id_token"].is_string(), "{}", tokens.text);
    world.app.outbox_drained().await;
    assert!(world.sms.received().is_empty(), "gatehouse texted itself");

    let rows = audit_rows(&world.app.config).await;
    let kinds: Vec<&str> = rows.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["code_refused", "code_sent", "signin_succeeded"],
        "{rows:?}"
    );
    assert_eq!(rows[0]["reason"], "code_delegate_unavailable");
    for row in &rows {
        assert_eq!(row["client_id"], APP.id, "{row:?}");
        assert_eq!(row["phone_hash"], rows[2]["phone_hash"]);
    }
}
