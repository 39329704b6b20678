//! Twilio's status callbacks and Vonage's delivery receipts through the
//! real server: a receipt whose signature does not verify is refused, a
//! good one is recorded, and an undelivered text gives the code back at
//! once.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::*;
use crate::helpers::TestApp;
use crate::otp::phone;
use gatehouse::config::{VonageReceipts, VonageSignatureMethod};

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

async fn post(app: &TestApp, params: &[(&'static str, String)], signature: Option<&str>) -> u16 {
    let mut request = app.http.post(app.url("/sms/receipts/twilio")).form(params);
    if let Some(signature) = signature {
        request = request.header("X-Twilio-Signature", signature);
    }
    request.send().await.unwrap().status().as_u16()
}

async fn receipt_status(app: &TestApp, sid: &str) -> String {
    receipt_of(app, "twilio", sid).await
}

async fn receipt_of(app: &TestApp, provider: &str, id: &str) -> String {
    let sql = format!(
        "SELECT status FROM sms_receipts WHERE provider = '{provider}' AND message_id = '{id}'"
    );
    let rows = crate::helpers::white_box::rows(&app.config, &sql).await;
    rows[0]["status"].as_str().unwrap().to_string()
}

async fn codes_for(app: &TestApp, phone: &PhoneNumber) -> i64 {
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

const VONAGE_SIGNATURE_SECRET: &str = "vonage-signature-secret";

/// Vonage's signed-webhook `sig` as its "signing messages" guide describes
/// it for HMAC-SHA256: every parameter but `sig`, sorted by name, as
/// `&name=value` (with `&` and `=` in values as `_`), HMAC-SHA256 with the
/// signature secret, in hex. Written here from the documentation.
fn vonage_signs(secret: &str, params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
    sorted.sort();
    let data: String = sorted
        .iter()
        .map(|(name, value)| format!("&{name}={}", value.replace(['&', '='], "_")))
        .collect();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    hex::encode(ring::hmac::sign(&key, data.as_bytes()).as_ref())
}

/// A delivery receipt as Vonage's SMS API sends it (signed webhooks on):
/// its fields, a timestamp `age` seconds old, and `sig`.
fn vonage_receipt(id: &str, msisdn: &str, status: &str, age: i64) -> Vec<(&'static str, String)> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut params = vec![
        ("msisdn", msisdn.to_string()),
        ("to", "Gatehouse".to_string()),
        ("network-code", "23410".to_string()),
        ("messageId", id.to_string()),
        ("price", "0.03330000".to_string()),
        ("status", status.to_string()),
        ("scts", "2611290512".to_string()),
        (
            "err-code",
            if status == "delivered" { "0" } else { "1" }.to_string(),
        ),
        ("api-key", VONAGE_KEY.to_string()),
        ("message-timestamp", "2026-11-29 05:12:00".to_string()),
        ("timestamp", (now - age).to_string()),
        ("nonce", "8b3c0a4e-0cfe-4fc2-9d1b-5c1e4d8f5a7e".to_string()),
    ];
    let sig = vonage_signs(VONAGE_SIGNATURE_SECRET, &params);
    params.push(("sig", sig));
    params
}

/// Sends a receipt the way the dashboard's webhook method says: `GET`
/// with a query, `POST` with a form, or `POST-JSON`.
async fn deliver(app: &TestApp, method: &str, params: &[(&'static str, String)]) -> u16 {
    let url = app.url("/sms/receipts/vonage");
    let request = match method {
        "GET" => {
            let query = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            app.http.get(format!("{url}?{query}"))
        }
        "POST" => app.http.post(url).form(params),
        _ => {
            let body: serde_json::Map<String, serde_json::Value> = params
                .iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone())))
                .collect();
            app.http.post(url).json(&body)
        }
    };
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn sms_providers_vonage_delivery_receipts_are_verified_and_recorded() {
    let stand_in = vonage(vec![Outcome::Accept]).await;
    let kind = vonage_sender(&stand_in);
    let app = TestApp::spawn_with(|config| {
        let SmsSenderKind::Vonage(mut vonage) = kind else {
            unreachable!()
        };
        vonage.delivery_receipts = Some(VonageReceipts {
            signature_secret: Secret::new(VONAGE_SIGNATURE_SECRET),
            signature_method: VonageSignatureMethod::Sha256,
        });
        config.sms.sender = SmsSenderKind::Vonage(vonage);
    })
    .await;
    let callback = format!("{}/sms/receipts/vonage", app.config.public_origin());
    let (first, second) = (phone(2460), phone(2461));
    for phone in [&first, &second] {
        app.otp.issue(&test_flow(phone), phone, None).await.unwrap();
    }
    let sends = stand_in.wait_for_sends(2).await;
    app.outbox_drained().await;
    for send in &sends {
        assert_eq!(form_value(&send.form(), "callback"), Some(callback.clone()));
    }
    let phone_of = |n: usize| {
        let to = format!("+{}", form_value(&sends[n].form(), "to").unwrap());
        if to == first.as_str() {
            first.clone()
        } else {
            second.clone()
        }
    };
    let (id0, id1) = (vonage_message_id(0), vonage_message_id(1));
    let msisdn = |n: usize| phone_of(n).as_str().trim_start_matches('+').to_string();
    let good = vonage_receipt(&id0, &msisdn(0), "delivered", 0);

    // Refused: no sig; another secret's; a changed field; a second `status`
    // after the signed one changes nothing it signed; the same receipt
    // signed ten minutes ago (a replay); Twilio's path, not configured.
    let unsigned: Vec<_> = good.iter().filter(|(k, _)| *k != "sig").cloned().collect();
    assert_eq!(deliver(&app, "GET", &unsigned).await, 403);
    let mut forged = unsigned.clone();
    forged.push(("sig", vonage_signs("guessed-secret", &unsigned)));
    assert_eq!(deliver(&app, "GET", &forged).await, 403);
    let mut changed = good.clone();
    changed[5].1 = "failed".into();
    assert_eq!(deliver(&app, "POST", &changed).await, 403);
    let stale = vonage_receipt(&id0, &msisdn(0), "failed", 600);
    assert_eq!(deliver(&app, "JSON", &stale).await, 403);
    assert_eq!(post(&app, &callback_params(), None).await, 404);
    assert_eq!(receipt_of(&app, "vonage", &id0).await, "sent");

    // Recorded: delivered by GET, the same again (Vonage retries) by POST.
    assert_eq!(deliver(&app, "GET", &good).await, 204);
    assert_eq!(deliver(&app, "POST", &good).await, 204);
    assert_eq!(receipt_of(&app, "vonage", &id0).await, "delivered");
    assert_eq!(
        codes_for(&app, &phone_of(0)).await,
        1,
        "a delivered code stays"
    );

    // `buffered` is on the way: nothing changes.
    let buffered = vonage_receipt(&id1, &msisdn(1), "buffered", 0);
    assert_eq!(deliver(&app, "JSON", &buffered).await, 204);
    assert_eq!(receipt_of(&app, "vonage", &id1).await, "sent");

    // Expired (POST-JSON): withdrawn and refunded at once.
    let failed_phone = phone_of(1);
    let before = codes_for(&app, &failed_phone).await;
    let expired = vonage_receipt(&id1, &msisdn(1), "expired", 0);
    assert_eq!(deliver(&app, "JSON", &expired).await, 204);
    assert_eq!(receipt_of(&app, "vonage", &id1).await, "failed");
    assert_eq!(codes_for(&app, &failed_phone).await, before - 1);
    app.otp
        .issue(&test_flow(&failed_phone), &failed_phone, None)
        .await
        .expect("no cooldown after a refunded send");

    // Not JSON of a receipt: 400, nothing recorded.
    let nested = app
        .http
        .post(app.url("/sms/receipts/vonage"))
        .json(&serde_json::json!({"messageId": {"$ne": ""}}))
        .send()
        .await
        .unwrap();
    assert_eq!(nested.status().as_u16(), 400);

    let metrics = app.state.metrics.render();
    for line in [
        "gatehouse_sms_delivery_receipts_total{provider=\"vonage\",country=\"US\",status=\"delivered\"} 1",
        "gatehouse_sms_delivery_receipts_total{provider=\"vonage\",country=\"US\",status=\"failed\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

/// Any Twilio status callback, to knock on its door.
fn callback_params() -> Vec<(&'static str, String)> {
    callback(&twilio_message_sid(0), "+15005550006", "delivered")
}
