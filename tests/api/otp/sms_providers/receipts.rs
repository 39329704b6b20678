//! Twilio's status callbacks through the real server: a callback whose
//! signature does not verify is refused, a good one is recorded, and an
//! undelivered text gives the code back at once (Vonage's receipts:
//! `vonage_receipts`).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::*;
use crate::helpers::TestApp;
use crate::otp::phone;

/// `X-Twilio-Signature` as Twilio's security documentation describes it:
/// Base64(HMAC-SHA1(auth token, URL + each POST name and value, sorted by
/// name)). Written here from the documentation.
fn twilio_signs(url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (name, value) in sorted {
        data.push_str(name);
        data.push_str(value);
    }
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        TWILIO_TOKEN.as_bytes(),
    );
    STANDARD.encode(ring::hmac::sign(&key, data.as_bytes()).as_ref())
}

/// The parameters of Twilio's status callback for `sid`.
fn callback(sid: &str, to: &str, status: &str) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("AccountSid", TWILIO_SID.to_string()),
        ("ApiVersion", "2010-04-01".to_string()),
        ("From", TWILIO_FROM.to_string()),
        ("MessageSid", sid.to_string()),
        ("MessageStatus", status.to_string()),
        ("SmsSid", sid.to_string()),
        ("SmsStatus", status.to_string()),
        ("To", to.to_string()),
    ];
    if status == "undelivered" {
        params.push(("ErrorCode", "30003".to_string()));
    }
    params
}

pub(super) async fn post(
    app: &TestApp,
    params: &[(&'static str, String)],
    signature: Option<&str>,
) -> u16 {
    let mut request = app.http.post(app.url("/sms/receipts/twilio")).form(params);
    if let Some(signature) = signature {
        request = request.header("X-Twilio-Signature", signature);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn receipt_status(app: &TestApp, sid: &str) -> String {
    receipt_of(app, "twilio", sid).await
}

pub(super) async fn receipt_of(app: &TestApp, provider: &str, id: &str) -> String {
    let sql = format!(
        "SELECT status FROM sms_receipts WHERE provider = '{provider}' AND message_id = '{id}'"
    );
    let rows = crate::helpers::white_box::rows(&app.config, &sql).await;
    rows[0]["status"].as_str().unwrap().to_string()
}

pub(super) async fn codes_for(app: &TestApp, phone: &PhoneNumber) -> i64 {
    let sql = format!(
        "SELECT count(*) FROM otp_challenges WHERE phone = '{}'",
        phone.as_str()
    );
    crate::helpers::white_box::number(&app.config, &sql).await
}

#[tokio::test]
async fn sms_providers_twilio_status_callbacks_are_verified_and_recorded() {
    let stand_in = twilio(vec![Outcome::Accept]).await;
    let kind = twilio_sender(&stand_in);
    let app = TestApp::spawn_with(|config| {
        let SmsSenderKind::Twilio(mut twilio) = kind else {
            unreachable!()
        };
        twilio.delivery_receipts = true;
        config.sms.sender = SmsSenderKind::Twilio(twilio);
    })
    .await;
    let url = format!("{}/sms/receipts/twilio", app.config.public_origin());
    let (delivered, failed) = (phone(2450), phone(2451));
    for phone in [&delivered, &failed] {
        app.otp.issue(&test_flow(phone), phone, None).await.unwrap();
    }
    let sends = stand_in.wait_for_sends(2).await;
    app.outbox_drained().await;
    for send in &sends {
        let form = send.form();
        assert!(
            form.contains(&("StatusCallback".to_string(), url.clone())),
            "{form:?}"
        );
    }
    let to_of = |n: usize| form_value(&sends[n].form(), "To").unwrap();
    let first = callback(&twilio_message_sid(0), &to_of(0), "delivered");
    let pairs: Vec<(&str, &str)> = first.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let good = twilio_signs(&url, &pairs);

    // Refused: no signature, another URL's, a changed parameter.
    assert_eq!(post(&app, &first, None).await, 403);
    let elsewhere = twilio_signs("https://attacker.example/sms/receipts/twilio", &pairs);
    assert_eq!(post(&app, &first, Some(&elsewhere)).await, 403);
    let mut changed = first.clone();
    changed[4].1 = "undelivered".into();
    assert_eq!(post(&app, &changed, Some(&good)).await, 403);
    assert_eq!(receipt_status(&app, &twilio_message_sid(0)).await, "sent");

    // Recorded.
    assert_eq!(post(&app, &first, Some(&good)).await, 204);
    assert_eq!(
        receipt_status(&app, &twilio_message_sid(0)).await,
        "delivered"
    );
    assert_eq!(
        codes_for(&app, &delivered).await,
        1,
        "a delivered code stays"
    );

    // Undelivered: the code is withdrawn and its send refunded at once.
    let second = callback(&twilio_message_sid(1), &to_of(1), "undelivered");
    let pairs: Vec<(&str, &str)> = second.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let failed_to = to_of(1);
    let failed_phone = if failed_to == failed.as_str() {
        &failed
    } else {
        &delivered
    };
    let before = codes_for(&app, failed_phone).await;
    assert_eq!(
        post(&app, &second, Some(&twilio_signs(&url, &pairs))).await,
        204
    );
    assert_eq!(receipt_status(&app, &twilio_message_sid(1)).await, "failed");
    assert_eq!(codes_for(&app, failed_phone).await, before - 1);
    app.otp
        .issue(&test_flow(failed_phone), failed_phone, None)
        .await
        .expect("no cooldown after a refunded send");

    let metrics = app.state.metrics.render();
    for line in [
        "gatehouse_sms_delivery_receipts_total{provider=\"twilio\",country=\"US\",status=\"delivered\"} 1",
        "gatehouse_sms_delivery_receipts_total{provider=\"twilio\",country=\"US\",status=\"failed\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

/// Any Twilio status callback, to knock on its door.
pub(super) fn callback_params() -> Vec<(&'static str, String)> {
    callback(&twilio_message_sid(0), "+15005550006", "delivered")
}
