//! Each provider receives exactly the request its documentation describes,
//! and `doctor`'s credential check sends no text.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::otp::phone;
use gatehouse::sms::{CredentialCheck, Provider};

/// The form's fields as a map (each name once).
fn fields(request: &ReceivedRequest) -> BTreeMap<String, String> {
    let form = request.form();
    let map: BTreeMap<String, String> = form.iter().cloned().collect();
    assert_eq!(map.len(), form.len(), "a field twice: {form:?}");
    map
}

fn expected(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The message id the receipts table keeps for the provider's one text.
async fn remembered_id(fx: &StandaloneOtp, provider: &str) -> Option<String> {
    let sql = format!("SELECT message_id FROM sms_receipts WHERE provider = '{provider}'");
    let rows = fx.rows(&sql).await;
    rows.first()
        .and_then(|row| row["message_id"].as_str().map(str::to_string))
}

#[tokio::test]
async fn sms_providers_twilio_receives_the_documented_messages_request() {
    let stand_in = twilio(vec![Outcome::Accept]).await;
    let fx = sending_through(vec![twilio_sender(&stand_in)]).await;
    let phone = phone(2401);
    ask_code(&fx, &phone).await;
    let sends = stand_in.wait_for_sends(1).await;
    fx.outbox_drained().await;
    let request = &sends[0];
    assert_eq!(
        request.uri,
        format!("/2010-04-01/Accounts/{TWILIO_SID}/Messages.json")
    );
    assert_eq!(
        request.header("authorization"),
        Some(basic(TWILIO_SID, TWILIO_TOKEN).as_str())
    );
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = fields(request);
    let code = code_in(&form["Body"]);
    assert_eq!(
        form,
        expected(&[
            ("To", phone.as_str()),
            ("From", TWILIO_FROM),
            ("Body", &format!("Your Gatehouse sign-in code is {code}")),
        ])
    );
    assert_eq!(
        remembered_id(&fx, "twilio").await,
        Some(twilio_message_sid(0)),
        "the Message SID is kept for its status callback"
    );
    let code = gatehouse::domain::OtpCode::parse(&code, 6).unwrap();
    fx.otp
        .verify(&test_flow(&phone), &phone, &code)
        .await
        .expect("the code Twilio carried works");
}

#[tokio::test]
async fn sms_providers_vonage_receives_the_documented_sms_api_request() {
    let stand_in = vonage(vec![Outcome::Accept]).await;
    let fx = sending_through(vec![vonage_sender(&stand_in)]).await;
    let phone = phone(2402);
    ask_code(&fx, &phone).await;
    let sends = stand_in.wait_for_sends(1).await;
    fx.outbox_drained().await;
    let request = &sends[0];
    assert_eq!(request.uri, "/sms/json");
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    let form = fields(request);
    let code = code_in(&form["text"]);
    assert_eq!(
        form,
        expected(&[
            ("api_key", VONAGE_KEY),
            ("api_secret", VONAGE_SECRET),
            ("from", "Gatehouse"),
            // E.164 without the leading +, as Vonage asks.
            ("to", phone.as_str().trim_start_matches('+')),
            ("text", &format!("Your Gatehouse sign-in code is {code}")),
        ])
    );
    assert_eq!(
        remembered_id(&fx, "vonage").await.as_deref(),
        Some(vonage_message_id(0).as_str())
    );
    assert_eq!(challenges(&fx).await, 1, "the code stays usable");
}

#[tokio::test]
async fn sms_providers_messagebird_receives_the_documented_messages_request() {
    let stand_in = messagebird(vec![Outcome::Accept]).await;
    let fx = sending_through(vec![messagebird_sender(&stand_in)]).await;
    let phone = phone(2403);
    ask_code(&fx, &phone).await;
    let sends = stand_in.wait_for_sends(1).await;
    fx.outbox_drained().await;
    let request = &sends[0];
    assert_eq!(request.uri, "/messages");
    assert_eq!(
        request.header("authorization"),
        Some(format!("AccessKey {BIRD_KEY}").as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    let body = request.json();
    let code = code_in(body["body"].as_str().unwrap());
    let msisdn: u64 = phone.as_str()[1..].parse().unwrap();
    assert_eq!(
        body,
        json!({
            "recipients": [msisdn],
            "originator": "Gatehouse",
            "body": format!("Your Gatehouse sign-in code is {code}"),
        })
    );
    assert_eq!(
        remembered_id(&fx, "messagebird").await.as_deref(),
        Some("e8077d803532c0b5937c639b60216938")
    );
}

#[tokio::test]
async fn sms_providers_aws_sns_receives_a_sigv4_signed_publish() {
    let stand_in = aws_sns(vec![Outcome::Accept]).await;
    let fx = sending_through(vec![aws_sns_sender(&stand_in)]).await;
    let phone = phone(2404);
    ask_code(&fx, &phone).await;
    let sends = stand_in.wait_for_sends(1).await;
    fx.outbox_drained().await;
    let request = &sends[0];
    assert_eq!(request.uri, "/");
    assert_eq!(
        request.header("content-type"),
        Some("application/x-www-form-urlencoded; charset=utf-8")
    );
    let form = fields(request);
    let code = code_in(&form["Message"]);
    assert_eq!(
        form,
        expected(&[
            ("Action", "Publish"),
            ("Version", "2010-03-31"),
            ("PhoneNumber", phone.as_str()),
            ("Message", &format!("Your Gatehouse sign-in code is {code}")),
            ("MessageAttributes.entry.1.Name", "AWS.SNS.SMS.SMSType"),
            ("MessageAttributes.entry.1.Value.DataType", "String"),
            (
                "MessageAttributes.entry.1.Value.StringValue",
                "Transactional"
            ),
        ])
    );
    // SigV4 in the Authorization header, for this key, region and service,
    // over content-type, host and x-amz-date; the stand-in recomputed it.
    let authorization = request.header("authorization").unwrap();
    let date = &request.header("x-amz-date").unwrap()[..8];
    assert!(
        authorization.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={AWS_KEY_ID}/{date}/{AWS_REGION}/sns/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature="
        )),
        "{authorization}"
    );
    assert_eq!(Some(authorization.to_string()), expected_sigv4(request));
    assert_eq!(
        remembered_id(&fx, "aws_sns").await.as_deref(),
        Some("567910cd-659e-55d4-8ccb-5aaf14679dc0")
    );
}

#[tokio::test]
async fn sms_providers_a_wrong_sigv4_signature_is_what_the_sns_stand_in_refuses() {
    let stand_in = aws_sns(vec![Outcome::Accept]).await;
    let mut config = Config::default();
    let SmsSenderKind::AwsSns(mut sns) = aws_sns_sender(&stand_in) else {
        unreachable!()
    };
    sns.secret_access_key = Secret::new("not-the-secret");
    config.sms.sender = SmsSenderKind::AwsSns(sns);
    let fx = sending_through(vec![config.sms.sender.clone()]).await;
    let phone = phone(2405);
    ask_code(&fx, &phone).await;
    stand_in.wait_for_sends(1).await;
    // SignatureDoesNotMatch is a 403: refused, the code withdrawn.
    fx.outbox_drained().await;
    assert_eq!(challenges(&fx).await, 0);
}

#[tokio::test]
async fn sms_providers_credential_checks_send_nothing() {
    let stand_ins = [
        twilio(vec![Outcome::Accept]).await,
        vonage(vec![Outcome::Accept]).await,
        messagebird(vec![Outcome::Accept]).await,
        aws_sns(vec![Outcome::Accept]).await,
    ];
    let kinds = [
        twilio_sender(&stand_ins[0]),
        vonage_sender(&stand_ins[1]),
        messagebird_sender(&stand_ins[2]),
        aws_sns_sender(&stand_ins[3]),
    ];
    let config = Config::default();
    for (stand_in, kind) in stand_ins.iter().zip(&kinds) {
        let provider = Provider::from_config(kind, &config.sms, &config.server.public_url).unwrap();
        match provider.check_credentials().await {
            CredentialCheck::Accepted(_) => {}
            other => panic!("{}: {other:?}", kind.name()),
        }
        assert_eq!(stand_in.sink.received().len(), 1, "{}", kind.name());
        assert!(stand_in.sends().is_empty(), "{} sent a text", kind.name());
    }
    // Twilio's is the documented account fetch.
    let fetch = &stand_ins[0].sink.received()[0];
    assert_eq!(fetch.method, "GET");
    assert_eq!(fetch.uri, format!("/2010-04-01/Accounts/{TWILIO_SID}.json"));
    // Wrong credentials are told apart.
    let SmsSenderKind::Twilio(mut wrong) = kinds[0].clone() else {
        unreachable!()
    };
    wrong.auth_token = Secret::new("wrong");
    let wrong = SmsSenderKind::Twilio(wrong);
    let provider = Provider::from_config(&wrong, &config.sms, &config.server.public_url).unwrap();
    match provider.check_credentials().await {
        CredentialCheck::Refused(why) => assert!(why.contains("401"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn sms_providers_doctor_checks_each_configured_provider() {
    let first = twilio(vec![Outcome::Accept]).await;
    let second = vonage(vec![Outcome::Accept]).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::helpers::test_config(dir.path().to_path_buf());
    config.sms.sender = twilio_sender(&first);
    let SmsSenderKind::Vonage(mut vonage) = vonage_sender(&second) else {
        unreachable!()
    };
    vonage.api_secret = Secret::new("wrong");
    config.sms.fallbacks = vec![SmsSenderKind::Vonage(vonage)];
    let mut lines = Vec::new();
    gatehouse::cli::doctor::run(&config, |finding| lines.push(finding.to_string())).await;
    let sms: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("SMS provider"))
        .collect();
    assert_eq!(sms.len(), 2, "{lines:#?}");
    assert!(
        sms[0].starts_with("ok: SMS provider twilio: credentials accepted"),
        "{sms:?}"
    );
    assert!(
        sms[1].starts_with("problem: SMS provider vonage"),
        "{sms:?}"
    );
    assert!(sms[1].contains("[sms.vonage]"), "{sms:?}");
    assert!(first.sends().is_empty() && second.sends().is_empty());
}
