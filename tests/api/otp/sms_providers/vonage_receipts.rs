//! Vonage's delivery receipts (signed webhooks) through the real server:
//! only a receipt whose `sig` verifies, whose signed `timestamp` is fresh
//! and which gives each parameter once is recorded, by GET, POST or
//! POST-JSON; a failed delivery gives the code back at once; a repeat
//! changes nothing; without a signature secret the path is not served.

use md5::{Digest, Md5};

use super::receipts::{callback_params, codes_for, post, receipt_of};
use super::*;
use crate::helpers::TestApp;
use crate::otp::phone;
use gatehouse::config::{VonageReceipts, VonageSignatureMethod};

const SIGNATURE_SECRET: &str = "vonage-signature-secret";

/// Vonage's `sig` as its "Signing messages" guide describes it: every
/// parameter but `sig`, sorted by name, as `&name=value` (with `&` and `=`
/// in values as `_`); "MD5 hash" is the MD5 of that followed by the
/// signature secret, the HMACs key that string with the secret; hex.
/// Written here from the documentation.
fn vonage_signs(method: VonageSignatureMethod, secret: &str, params: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = params.iter().collect();
    sorted.sort();
    let data: String = sorted
        .iter()
        .map(|(name, value)| format!("&{name}={}", value.replace(['&', '='], "_")))
        .collect();
    match method {
        VonageSignatureMethod::Md5hash => hex::encode(Md5::digest(format!("{data}{secret}"))),
        VonageSignatureMethod::Sha256 => {
            let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
            hex::encode(ring::hmac::sign(&key, data.as_bytes()).as_ref())
        }
        other => unimplemented!("not used here: {other:?}"),
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A delivery receipt with the fields Vonage's SMS API documents, signed
/// (signed webhooks on): its `timestamp` is `age` seconds old.
fn receipt(
    method: VonageSignatureMethod,
    id: &str,
    msisdn: &str,
    status: &str,
    age: i64,
) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("msisdn", msisdn.to_string()),
        ("to", "Gatehouse".to_string()),
        ("network-code", "310260".to_string()),
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
        ("timestamp", (now() - age).to_string()),
        ("nonce", "8b3c0a4e-0cfe-4fc2-9d1b-5c1e4d8f5a7e".to_string()),
    ];
    let sig = vonage_signs(method, SIGNATURE_SECRET, &params);
    params.push(("sig", sig));
    params
}

fn query(params: &[(&'static str, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
}

/// Sends a receipt the way the dashboard's webhook method says: `GET`
/// with a query, `POST` with a form, or `POST-JSON` (`JSON`).
async fn deliver(app: &TestApp, method: &str, params: &[(&'static str, String)]) -> u16 {
    let url = app.url("/sms/receipts/vonage");
    let request = match method {
        "GET" => app.http.get(format!("{url}?{}", query(params))),
        "POST" => app.http.post(url).form(params),
        _ => {
            let body: serde_json::Map<String, Value> = params
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.clone())))
                .collect();
            app.http.post(url).json(&body)
        }
    };
    request.send().await.unwrap().status().as_u16()
}

/// A server sending through a Vonage stand-in with `receipts`, after two
/// codes were sent: the n-th message's id and number.
struct Sent {
    app: TestApp,
    sends: Vec<ReceivedRequest>,
}

impl Sent {
    async fn through_vonage(receipts: Option<VonageReceipts>, first: u32) -> Sent {
        let stand_in = vonage(vec![Outcome::Accept]).await;
        let kind = vonage_sender(&stand_in);
        let app = TestApp::spawn_with(|config| {
            let SmsSenderKind::Vonage(mut vonage) = kind else {
                unreachable!()
            };
            vonage.delivery_receipts = receipts;
            config.sms.sender = SmsSenderKind::Vonage(vonage);
        })
        .await;
        for phone in [phone(first), phone(first + 1)] {
            app.otp
                .issue(&test_flow(&phone), &phone, None)
                .await
                .unwrap();
        }
        let sends = stand_in.wait_for_sends(2).await;
        app.outbox_drained().await;
        Sent { app, sends }
    }

    /// The number the n-th send went to (the stand-in numbers its
    /// message ids in the order it received them).
    fn phone(&self, n: usize) -> PhoneNumber {
        let to = form_value(&self.sends[n].form(), "to").unwrap();
        PhoneNumber::parse(&format!("+{to}"), None).unwrap()
    }

    fn msisdn(&self, n: usize) -> String {
        form_value(&self.sends[n].form(), "to").unwrap()
    }

    async fn status(&self, n: usize) -> String {
        receipt_of(&self.app, "vonage", &vonage_message_id(n)).await
    }
}

fn signed_with(method: VonageSignatureMethod) -> Option<VonageReceipts> {
    Some(VonageReceipts {
        signature_secret: Secret::new(SIGNATURE_SECRET),
        signature_method: method,
    })
}

#[tokio::test]
async fn sms_providers_vonage_delivery_receipts_are_verified_and_recorded() {
    let sha256 = VonageSignatureMethod::Sha256;
    let sent = Sent::through_vonage(signed_with(sha256), 2460).await;
    let app = &sent.app;
    let callback = format!("{}/sms/receipts/vonage", app.config.public_origin());
    for send in &sent.sends {
        assert_eq!(form_value(&send.form(), "callback"), Some(callback.clone()));
    }
    let (id0, id1) = (vonage_message_id(0), vonage_message_id(1));
    let good = receipt(sha256, &id0, &sent.msisdn(0), "delivered", 0);

    // Refused: no sig; another secret's; a changed field; the same receipt
    // signed ten minutes ago (a replay) or ten minutes ahead; Twilio's
    // path, not configured.
    let unsigned: Vec<_> = good.iter().filter(|(k, _)| *k != "sig").cloned().collect();
    assert_eq!(deliver(app, "GET", &unsigned).await, 403);
    let mut forged = unsigned.clone();
    forged.push(("sig", vonage_signs(sha256, "guessed-secret", &unsigned)));
    assert_eq!(deliver(app, "GET", &forged).await, 403);
    let mut md5 = unsigned.clone();
    md5.push((
        "sig",
        vonage_signs(VonageSignatureMethod::Md5hash, SIGNATURE_SECRET, &unsigned),
    ));
    assert_eq!(deliver(app, "GET", &md5).await, 403, "another method");
    let mut changed = good.clone();
    changed[5].1 = "failed".into();
    assert_eq!(deliver(app, "POST", &changed).await, 403);
    for age in [600, -600] {
        let stale = receipt(sha256, &id0, &sent.msisdn(0), "failed", age);
        assert_eq!(deliver(app, "JSON", &stale).await, 403, "{age}");
        assert_eq!(deliver(app, "GET", &stale).await, 403, "{age}");
    }
    assert_eq!(post(app, &callback_params(), None).await, 404);
    assert_eq!(sent.status(0).await, "sent");

    // Recorded: delivered by GET, the same again (Vonage retries) by POST.
    assert_eq!(deliver(app, "GET", &good).await, 204);
    assert_eq!(deliver(app, "POST", &good).await, 204);
    assert_eq!(sent.status(0).await, "delivered");
    assert_eq!(
        codes_for(app, &sent.phone(0)).await,
        1,
        "a delivered code stays"
    );

    // `buffered` is on the way: nothing changes.
    let buffered = receipt(sha256, &id1, &sent.msisdn(1), "buffered", 0);
    assert_eq!(deliver(app, "JSON", &buffered).await, 204);
    assert_eq!(sent.status(1).await, "sent");

    // Expired (POST-JSON): withdrawn and refunded at once; the same
    // receipt again changes nothing more.
    let failed_phone = sent.phone(1);
    let before = codes_for(app, &failed_phone).await;
    let expired = receipt(sha256, &id1, &sent.msisdn(1), "expired", 0);
    assert_eq!(deliver(app, "JSON", &expired).await, 204);
    assert_eq!(sent.status(1).await, "failed");
    assert_eq!(codes_for(app, &failed_phone).await, before - 1);
    assert_eq!(deliver(app, "GET", &expired).await, 204);
    assert_eq!(codes_for(app, &failed_phone).await, before - 1);
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

    // Counted once each, by provider and country, repeats not again.
    let metrics = app.state.metrics.render();
    for line in [
        "gatehouse_sms_delivery_receipts_total{provider=\"vonage\",country=\"US\",status=\"delivered\"} 1",
        "gatehouse_sms_delivery_receipts_total{provider=\"vonage\",country=\"US\",status=\"failed\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
}

/// Vonage sends each parameter once, in one place: a second `sig` (the
/// good one again, or another before or after it), a second `status`
/// after the signed one, or parameters in both the query and the body
/// are refused, whatever they sign, and record nothing.
#[tokio::test]
async fn sms_providers_vonage_receipts_with_a_parameter_twice_are_refused() {
    let sha256 = VonageSignatureMethod::Sha256;
    let sent = Sent::through_vonage(signed_with(sha256), 2470).await;
    let app = &sent.app;
    let id = vonage_message_id(0);
    let failed = receipt(sha256, &id, &sent.msisdn(0), "failed", 0);
    let sig = failed.last().unwrap().1.clone();
    let zeros = "0".repeat(64);
    let mut repeats: Vec<(&str, Vec<(&'static str, String)>)> = vec![];
    for second in [sig.as_str(), zeros.as_str()] {
        let mut after = failed.clone();
        after.push(("sig", second.to_string()));
        repeats.push(("a second sig after", after));
        let mut before = failed.clone();
        before.insert(0, ("sig", second.to_string()));
        repeats.push(("a second sig before", before));
    }
    let mut status = failed.clone();
    status.push(("status", "delivered".into()));
    repeats.push(("a second status", status));
    for (what, params) in &repeats {
        for method in ["GET", "POST"] {
            assert_eq!(
                deliver(app, method, params).await,
                403,
                "{what} by {method}"
            );
        }
    }
    // A JSON object with a member twice: a wrong `sig`, then the good one.
    let members: Vec<String> = [("sig", zeros.clone())]
        .iter()
        .chain(failed.iter())
        .map(|(k, v)| format!("{}:{}", Value::from(*k), Value::from(v.as_str())))
        .collect();
    let twice = app
        .http
        .post(app.url("/sms/receipts/vonage"))
        .header("Content-Type", "application/json")
        .body(format!("{{{}}}", members.join(",")))
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status().as_u16(), 403, "a JSON member twice");
    // The good receipt in the query, another in the body: which would count?
    let delivered = receipt(sha256, &id, &sent.msisdn(0), "delivered", 0);
    let both = app
        .http
        .post(format!(
            "{}?{}",
            app.url("/sms/receipts/vonage"),
            query(&failed)
        ))
        .form(&delivered)
        .send()
        .await
        .unwrap();
    assert_eq!(both.status().as_u16(), 400, "query and body");
    assert_eq!(sent.status(0).await, "sent");
    assert_eq!(codes_for(app, &sent.phone(0)).await, 1, "nothing withdrawn");
    // The receipt itself, once, is good.
    assert_eq!(deliver(app, "POST", &failed).await, 204);
    assert_eq!(sent.status(0).await, "failed");
}

/// "MD5 hash", the dashboard's default method (and gatehouse's): a
/// receipt signed so is recorded and a failed one refunds.
#[tokio::test]
async fn sms_providers_vonage_receipts_signed_by_md5_hash_are_recorded() {
    let md5 = VonageSignatureMethod::default();
    assert_eq!(md5, VonageSignatureMethod::Md5hash);
    let sent = Sent::through_vonage(signed_with(md5), 2480).await;
    let app = &sent.app;
    let delivered = receipt(md5, &vonage_message_id(0), &sent.msisdn(0), "delivered", 0);
    let mut upper = delivered.clone();
    upper.last_mut().unwrap().1.make_ascii_uppercase();
    assert_eq!(deliver(app, "GET", &upper).await, 204, "hex of either case");
    assert_eq!(sent.status(0).await, "delivered");
    let failed_phone = sent.phone(1);
    let before = codes_for(app, &failed_phone).await;
    let rejected = receipt(md5, &vonage_message_id(1), &sent.msisdn(1), "rejected", 0);
    let mut tampered = rejected.clone();
    tampered[3].1 = vonage_message_id(0);
    assert_eq!(
        deliver(app, "POST", &tampered).await,
        403,
        "another message"
    );
    assert_eq!(deliver(app, "POST", &rejected).await, 204);
    assert_eq!(sent.status(1).await, "failed");
    assert_eq!(codes_for(app, &failed_phone).await, before - 1);
}

/// Without a signature secret Vonage's receipts are never read: the
/// messages ask for none and the path answers 404 to any receipt, signed
/// or not, however it comes.
#[tokio::test]
async fn sms_providers_vonage_receipts_are_not_served_without_a_signature_secret() {
    let sent = Sent::through_vonage(None, 2490).await;
    let app = &sent.app;
    for send in &sent.sends {
        assert_eq!(form_value(&send.form(), "callback"), None);
    }
    let md5 = VonageSignatureMethod::Md5hash;
    let failed = receipt(md5, &vonage_message_id(0), &sent.msisdn(0), "failed", 0);
    let unsigned: Vec<_> = failed
        .iter()
        .filter(|(k, _)| *k != "sig")
        .cloned()
        .collect();
    for params in [&failed, &unsigned] {
        for method in ["GET", "POST", "JSON"] {
            assert_eq!(deliver(app, method, params).await, 404, "{method}");
        }
    }
    assert_eq!(sent.status(0).await, "sent");
    assert_eq!(codes_for(app, &sent.phone(0)).await, 1);
}

/// `check-config` with `toml` as the file: exit code and stderr.
fn check_config(toml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gatehouse.toml");
    std::fs::write(&file, toml).unwrap();
    let args = ["--config", file.to_str().unwrap(), "check-config"];
    let output = crate::helpers::binary::command(&args, Vec::<(&str, &str)>::new(), dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stderr)
}

/// An unknown method stops start-up naming the key; a signature secret
/// that reads nothing (Vonage not among the senders, or its receipts off)
/// is a warning naming it, and the configuration stays valid.
#[test]
fn sms_providers_vonage_receipt_settings_are_checked_naming_the_key() {
    let vonage = "[sms.vonage]\napi_key = \"k\"\napi_secret = \"s\"\nfrom = \"Gatehouse\"\n\
                  delivery_receipts = true\nsignature_secret = \"x\"\n";
    let policy = "[sms.policy]\nallowed_countries = [\"US\"]\n";
    let (code, stderr) = check_config(&format!(
        "[sms]\nsender = \"vonage\"\n{policy}{vonage}signature_method = \"sha384\"\n"
    ));
    assert_eq!(code, 78, "{stderr}");
    assert!(stderr.contains("sms.vonage.signature_method"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");

    let (code, stderr) = check_config(&format!("{policy}{vonage}"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: configuration key `sms.vonage.signature_secret`"),
        "{stderr}"
    );
    let off = vonage.replace("delivery_receipts = true", "delivery_receipts = false");
    let (code, stderr) = check_config(&format!("[sms]\nsender = \"vonage\"\n{policy}{off}"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("delivery_receipts is false"), "{stderr}");

    let (code, stderr) = check_config(&format!("[sms]\nsender = \"vonage\"\n{policy}{vonage}"));
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
}
