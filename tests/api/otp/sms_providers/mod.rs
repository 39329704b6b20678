//! The SMS providers (issue 24): in-test stand-ins that speak each
//! provider's documented API (path, method, auth header or SigV4
//! signature, form or JSON fields, and the providers' own answers and
//! error bodies), written from the providers' documentation, not from
//! gatehouse's code. `requests` checks what each one receives,
//! `failover` the chain of `sms.senders`, `receipts` Twilio's status
//! callbacks and `vonage_receipts` Vonage's delivery receipts through the
//! real server.

mod failover;
mod receipts;
mod requests;
mod vonage_receipts;

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use super::{test_flow, StandaloneOtp};
use crate::helpers::{ReceivedRequest, WebhookSink};
use gatehouse::config::{
    AwsSnsConfig, Config, MessageBirdConfig, Secret, SmsSenderKind, TwilioConfig, TwilioOrigin,
    VonageConfig,
};
use gatehouse::domain::PhoneNumber;
use gatehouse::sms::{sigv4_sign, SigV4Request, SigV4Signing};

pub const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const TWILIO_TOKEN: &str = "twilio-auth-token";
pub const TWILIO_FROM: &str = "+15005550006";
pub const VONAGE_KEY: &str = "abcd1234";
pub const VONAGE_SECRET: &str = "vonage-api-secret";
pub const BIRD_KEY: &str = "bird-access-key";
pub const AWS_KEY_ID: &str = "AKIDEXAMPLE";
pub const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
pub const AWS_REGION: &str = "eu-west-1";

/// What a stand-in answers a well-formed send with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Accept,
    /// The provider's 500 (its documented internal-error body).
    ServerError,
    /// The provider's "this number is invalid" answer.
    InvalidNumber,
}

/// A provider's stand-in on a loopback port; it records every request.
pub struct StandIn {
    pub sink: WebhookSink,
}

impl StandIn {
    pub fn base_url(&self) -> url::Url {
        self.sink.url.parse().unwrap()
    }

    /// The sends it received (not the credential checks).
    pub fn sends(&self) -> Vec<ReceivedRequest> {
        self.sink
            .received()
            .into_iter()
            .filter(|r| r.method == axum::http::Method::POST && !is_sns_check(r))
            .collect()
    }

    /// Waits for `count` sends.
    pub async fn wait_for_sends(&self, count: usize) -> Vec<ReceivedRequest> {
        let started = std::time::Instant::now();
        loop {
            let sends = self.sends();
            if sends.len() >= count {
                return sends;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{sends:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn is_sns_check(request: &ReceivedRequest) -> bool {
    form_value(&request.form(), "Action").as_deref() == Some("GetSMSAttributes")
}

pub(super) fn form_value(form: &[(String, String)], name: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// The n-th well-formed send gets `outcomes[n]` (the last one repeats).
fn pick(outcomes: &[Outcome], n: usize) -> Outcome {
    outcomes[n.min(outcomes.len() - 1)]
}

pub(super) fn json_answer(status: u16, body: Value) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
}

fn xml_answer(status: u16, body: String) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        [(axum::http::header::CONTENT_TYPE, "text/xml")],
        body,
    )
        .into_response()
}

pub(super) fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// Twilio's REST errors: `{"code", "message", "more_info", "status"}`.
pub(super) fn twilio_error(status: u16, code: u32, message: &str) -> Response {
    json_answer(
        status,
        json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status,
        }),
    )
}

/// Twilio's Messages resource and Account fetch.
pub async fn twilio(outcomes: Vec<Outcome>) -> StandIn {
    let messages = format!("/2010-04-01/Accounts/{TWILIO_SID}/Messages.json");
    let account = format!("/2010-04-01/Accounts/{TWILIO_SID}.json");
    let sends = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sink = WebhookSink::answering("/", move |_, request| {
        let answer = if request.header("authorization") != Some(&basic(TWILIO_SID, TWILIO_TOKEN)) {
            twilio_error(401, 20003, "Authenticate")
        } else if request.method == "GET" && request.uri == account {
            json_answer(
                200,
                json!({"sid": TWILIO_SID, "friendly_name": "Gatehouse", "status": "active",
                       "type": "Full"}),
            )
        } else if request.method != "POST" || request.uri != messages {
            twilio_error(404, 20404, "The requested resource was not found")
        } else {
            let n = sends.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            twilio_send(request, pick(&outcomes, n), n)
        };
        std::future::ready(answer)
    })
    .await;
    StandIn { sink }
}

/// The SID the Twilio stand-in gives its `n`-th message.
pub fn twilio_message_sid(n: usize) -> String {
    format!("SM{n:032}")
}

fn twilio_send(request: &ReceivedRequest, outcome: Outcome, n: usize) -> Response {
    let form = request.form();
    let Some(to) = form_value(&form, "To") else {
        return twilio_error(400, 21604, "A 'To' phone number is required.");
    };
    let from = form_value(&form, "From");
    if from.is_none() && form_value(&form, "MessagingServiceSid").is_none() {
        return twilio_error(400, 21603, "A 'From' phone number is required.");
    }
    let Some(body) = form_value(&form, "Body") else {
        return twilio_error(400, 21602, "Message body is required.");
    };
    match outcome {
        Outcome::Accept => json_answer(
            201,
            json!({
                "account_sid": TWILIO_SID, "api_version": "2010-04-01", "body": body,
                "date_created": "Thu, 24 Aug 2023 05:01:45 +0000", "direction": "outbound-api",
                "error_code": null, "error_message": null, "from": from, "num_segments": "1",
                "price": null, "sid": twilio_message_sid(n), "status": "queued", "to": to,
                "uri": format!("/2010-04-01/Accounts/{TWILIO_SID}/Messages/{}.json",
                               twilio_message_sid(n)),
            }),
        ),
        Outcome::ServerError => twilio_error(500, 20500, "An internal server error has occurred"),
        Outcome::InvalidNumber => twilio_error(
            400,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        ),
    }
}

/// Vonage's SMS API (`POST /sms/json`) and its balance.
pub async fn vonage(outcomes: Vec<Outcome>) -> StandIn {
    let sends = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sink = WebhookSink::answering("/", move |_, request| {
        let answer = if request.method == "GET" && request.uri.starts_with("/account/get-balance?")
        {
            let query = request.uri.split_once('?').unwrap().1;
            let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            if form_value(&pairs, "api_secret").as_deref() == Some(VONAGE_SECRET) {
                json_answer(200, json!({"value": 10.28, "autoReload": false}))
            } else {
                json_answer(
                    401,
                    json!({"type": "https://developer.nexmo.com/api-errors#unauthorized",
                           "title": "Invalid credentials supplied",
                           "detail": "You did not provide correct credentials."}),
                )
            }
        } else if request.method != "POST" || request.uri != "/sms/json" {
            StatusCode::NOT_FOUND.into_response()
        } else {
            let n = sends.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            vonage_send(request, pick(&outcomes, n), n)
        };
        std::future::ready(answer)
    })
    .await;
    StandIn { sink }
}

/// Vonage answers 200 whatever happened; each message's `status` says.
fn vonage_message(fields: Value) -> Response {
    json_answer(200, json!({"message-count": "1", "messages": [fields]}))
}

/// The `message-id` Vonage gives the n-th send.
pub fn vonage_message_id(n: usize) -> String {
    format!("0A00000001{n:07X}")
}

fn vonage_send(request: &ReceivedRequest, outcome: Outcome, n: usize) -> Response {
    let form = request.form();
    for name in ["from", "to", "api_key", "api_secret", "text"] {
        if form_value(&form, name).is_none() {
            let text = format!("Missing {name} param");
            return vonage_message(json!({"status": "2", "error-text": text}));
        }
    }
    if form_value(&form, "api_key").as_deref() != Some(VONAGE_KEY)
        || form_value(&form, "api_secret").as_deref() != Some(VONAGE_SECRET)
    {
        return vonage_message(json!({"status": "4", "error-text": "Bad Credentials"}));
    }
    let to = form_value(&form, "to").unwrap();
    match outcome {
        Outcome::Accept => vonage_message(json!({
            "to": to, "message-id": vonage_message_id(n), "status": "0",
            "remaining-balance": "3.14159265", "message-price": "0.03330000", "network": "12345",
        })),
        Outcome::ServerError => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Outcome::InvalidNumber => {
            vonage_message(json!({"status": "3", "error-text": "Invalid to address"}))
        }
    }
}

/// Bird's REST messages API (`POST /messages`) and its balance.
pub async fn messagebird(outcomes: Vec<Outcome>) -> StandIn {
    let sends = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sink = WebhookSink::answering("/", move |_, request| {
        let bird_error = |status, code, description: &str, parameter: Value| {
            json_answer(
                status,
                json!({"errors": [{"code": code, "description": description,
                                   "parameter": parameter}]}),
            )
        };
        let answer = if request.header("authorization") != Some(&format!("AccessKey {BIRD_KEY}")) {
            bird_error(401, 2, "Request not allowed (incorrect access_key)", json!("access_key"))
        } else if request.method == "GET" && request.uri == "/balance" {
            json_answer(200, json!({"payment": "prepaid", "type": "credits", "amount": 42.5}))
        } else if request.method != "POST" || request.uri != "/messages" {
            bird_error(404, 20, "message not found", Value::Null)
        } else {
            let n = sends.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            let complete = body["recipients"].is_array()
                && body["originator"].is_string()
                && body["body"].is_string();
            match pick(&outcomes, n) {
                _ if !complete => bird_error(422, 9, "no (correct) recipients found", json!("recipients")),
                Outcome::Accept => json_answer(
                    201,
                    json!({
                        "id": "e8077d803532c0b5937c639b60216938",
                        "href": "https://rest.messagebird.com/messages/e8077d803532c0b5937c639b60216938",
                        "direction": "mt", "type": "sms", "originator": body["originator"],
                        "body": body["body"], "reference": null, "validity": null, "gateway": 10,
                        "typeDetails": {}, "datacoding": "plain", "mclass": 1,
                        "scheduledDatetime": null, "createdDatetime": "2016-05-03T14:26:57+00:00",
                        "recipients": {"totalCount": 1, "totalSentCount": 1,
                                       "totalDeliveredCount": 0, "totalDeliveryFailedCount": 0,
                                       "items": [{"recipient": body["recipients"][0],
                                                  "status": "sent",
                                                  "statusDatetime": "2016-05-03T14:26:57+00:00"}]},
                    }),
                ),
                Outcome::ServerError => bird_error(500, 99, "internal error", Value::Null),
                Outcome::InvalidNumber => {
                    bird_error(422, 9, "no (correct) recipients found", json!("recipients"))
                }
            }
        };
        std::future::ready(answer)
    })
    .await;
    StandIn { sink }
}

/// SNS's query-protocol error: `<ErrorResponse><Error>...`.
fn sns_error(status: u16, kind: &str, code: &str, message: &str) -> Response {
    xml_answer(
        status,
        format!(
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\n  <Error>\n    \
             <Type>{kind}</Type>\n    <Code>{code}</Code>\n    <Message>{message}</Message>\n  \
             </Error>\n  <RequestId>9dd01905-5012-5f99-8663-4b3ecd0dfaef</RequestId>\n\
             </ErrorResponse>"
        ),
    )
}

/// The `Authorization` header AWS would expect for `request`: recomputed
/// with the same aws-sigv4 crate, at the request's own `X-Amz-Date`.
pub fn expected_sigv4(request: &ReceivedRequest) -> Option<String> {
    let date = request.header("x-amz-date")?;
    let time = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .ok()?
        .and_utc()
        .into();
    let url = format!("http://{}{}", request.header("host")?, request.uri);
    let headers = vec![(
        "content-type".to_string(),
        request.header("content-type")?.to_string(),
    )];
    let signing = SigV4Signing {
        access_key_id: AWS_KEY_ID,
        secret_access_key: AWS_SECRET,
        session_token: None,
        region: AWS_REGION,
        service: "sns",
        time,
        content_sha256_header: false,
    };
    let signable = SigV4Request {
        method: request.method.as_str(),
        url: &url,
        headers: &headers,
        body: &request.body,
    };
    let (added, _) = sigv4_sign(&signable, &signing).ok()?;
    added
        .into_iter()
        .find(|(name, _)| name == "authorization")
        .map(|(_, value)| value)
}

/// Amazon SNS: `Publish` to a phone number and `GetSMSAttributes`.
pub async fn aws_sns(outcomes: Vec<Outcome>) -> StandIn {
    let sends = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sink = WebhookSink::answering("/", move |_, request| {
        let form = request.form();
        let action = form_value(&form, "Action").unwrap_or_default();
        let answer = if request.header("authorization").is_none()
            || request.header("authorization").map(str::to_string) != expected_sigv4(request)
        {
            sns_error(
                403,
                "Sender",
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        } else if action == "GetSMSAttributes" {
            xml_answer(
                200,
                "<GetSMSAttributesResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\">\
                 <GetSMSAttributesResult><attributes/></GetSMSAttributesResult>\
                 <ResponseMetadata><RequestId>1</RequestId></ResponseMetadata>\
                 </GetSMSAttributesResponse>"
                    .into(),
            )
        } else if action != "Publish" || form_value(&form, "Message").is_none() {
            sns_error(
                400,
                "Sender",
                "InvalidParameter",
                "Invalid parameter: Message",
            )
        } else {
            let n = sends.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let phone = form_value(&form, "PhoneNumber").unwrap_or_default();
            match pick(&outcomes, n) {
                Outcome::Accept => xml_answer(
                    200,
                    "<PublishResponse xmlns=\"https://sns.amazonaws.com/doc/2010-03-31/\">\
                     <PublishResult><MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId>\
                     </PublishResult><ResponseMetadata>\
                     <RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0</RequestId>\
                     </ResponseMetadata></PublishResponse>"
                        .into(),
                ),
                Outcome::ServerError => sns_error(
                    500,
                    "Receiver",
                    "InternalError",
                    "Indicates an internal service error.",
                ),
                Outcome::InvalidNumber => sns_error(
                    400,
                    "Sender",
                    "InvalidParameter",
                    &format!(
                        "Invalid parameter: PhoneNumber Reason: {phone} is not valid to publish to"
                    ),
                ),
            }
        };
        std::future::ready(answer)
    })
    .await;
    StandIn { sink }
}

pub fn twilio_sender(stand_in: &StandIn) -> SmsSenderKind {
    SmsSenderKind::Twilio(TwilioConfig {
        account_sid: TWILIO_SID.into(),
        auth_token: Secret::new(TWILIO_TOKEN),
        origin: TwilioOrigin::From(TWILIO_FROM.into()),
        base_url: stand_in.base_url(),
        timeout: Duration::from_secs(5),
        delivery_receipts: false,
    })
}

pub fn vonage_sender(stand_in: &StandIn) -> SmsSenderKind {
    SmsSenderKind::Vonage(VonageConfig {
        api_key: VONAGE_KEY.into(),
        api_secret: Secret::new(VONAGE_SECRET),
        from: "Gatehouse".into(),
        base_url: stand_in.base_url(),
        timeout: Duration::from_secs(5),
        delivery_receipts: None,
    })
}

pub fn messagebird_sender(stand_in: &StandIn) -> SmsSenderKind {
    SmsSenderKind::MessageBird(MessageBirdConfig {
        access_key: Secret::new(BIRD_KEY),
        originator: "Gatehouse".into(),
        base_url: stand_in.base_url(),
        timeout: Duration::from_secs(5),
    })
}

pub fn aws_sns_sender(stand_in: &StandIn) -> SmsSenderKind {
    SmsSenderKind::AwsSns(AwsSnsConfig {
        region: AWS_REGION.into(),
        access_key_id: AWS_KEY_ID.into(),
        secret_access_key: Secret::new(AWS_SECRET),
        base_url: stand_in.base_url(),
        timeout: Duration::from_secs(5),
    })
}

/// The OTP service sending through `senders`, in order.
pub async fn sending_through(senders: Vec<SmsSenderKind>) -> StandaloneOtp {
    let unused = WebhookSink::start(500).await;
    StandaloneOtp::with(unused, move |config: &mut Config| {
        let mut senders = senders.into_iter();
        config.sms.sender = senders.next().unwrap();
        config.sms.fallbacks = senders.collect();
    })
    .await
}

/// Asks for a code to `phone`; the answer never waits for the gateway.
pub async fn ask_code(fx: &StandaloneOtp, phone: &PhoneNumber) {
    fx.otp
        .issue(&test_flow(phone), phone, Some("192.0.2.1".parse().unwrap()))
        .await
        .expect("code issued");
}

/// The code in a text "Your Gatehouse sign-in code is 123456".
pub fn code_in(text: &str) -> String {
    let code = text.rsplit(' ').next().unwrap().to_string();
    assert_eq!(code.len(), 6, "{text}");
    code
}

/// The sign-in codes (challenge rows) the database holds.
pub async fn challenges(fx: &StandaloneOtp) -> i64 {
    fx.number("SELECT count(*) FROM otp_challenges").await
}
