//! Twilio's Messages resource: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`
//! with form fields `To`, `From` (or `MessagingServiceSid`), `Body` and,
//! when delivery receipts are on, `StatusCallback`; HTTP Basic auth with
//! the Account SID and Auth Token. Errors come back as
//! `{"code": 21211, "message": ..., "more_info": ..., "status": 400}`.
//!
//! Status callbacks are signed: `X-Twilio-Signature` is the Base64
//! HMAC-SHA1, keyed with the Auth Token, of the callback URL followed by
//! each POST parameter's name and value, sorted by name ([`signature`]).

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use url::Url;

use super::answer::{self, short};
use super::{SmsError, SmsMessage};
use crate::config::{Secret, TwilioConfig, TwilioOrigin};
use crate::infra::http::{self, Peer};

/// Where Twilio posts status callbacks, under `server.public_url`.
pub const RECEIPT_PATH: &str = "/sms/receipts/twilio";

/// Twilio's error codes that mean "this number cannot get this text":
/// invalid `To` (21211), invalid phone number (21401), a number type
/// without SMS (21407), an invalid `To` for the channel (21421), an
/// unsubscribed recipient (21610), unreachable by SMS (21612), not a
/// mobile number (21614).
const NUMBER_ERRORS: &[u64] = &[21211, 21401, 21407, 21421, 21610, 21612, 21614];

#[derive(Clone)]
pub struct Twilio {
    http: reqwest::Client,
    account_sid: String,
    auth_token: Secret,
    origin: TwilioOrigin,
    base: String,
    timeout: Duration,
    /// `StatusCallback`, when delivery receipts are on.
    status_callback: Option<String>,
}

impl Twilio {
    pub fn new(config: &TwilioConfig, public_url: &Url) -> Twilio {
        let status_callback = config.delivery_receipts.then(|| {
            let origin = public_url.as_str().trim_end_matches('/');
            format!("{origin}{RECEIPT_PATH}")
        });
        Twilio {
            http: http::client(Peer::Service {
                timeout: Some(config.timeout),
                ca_file: None,
            }),
            account_sid: config.account_sid.clone(),
            auth_token: config.auth_token.clone(),
            origin: config.origin.clone(),
            base: config.base_url.as_str().trim_end_matches('/').to_string(),
            timeout: config.timeout,
            status_callback,
        }
    }

    fn account_url(&self) -> String {
        format!("{}/2010-04-01/Accounts/{}", self.base, self.account_sid)
    }

    /// Creates the Message; its SID.
    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<Option<String>, SmsError> {
        let mut form = vec![("To", message.phone.as_str()), ("Body", &message.text)];
        match &self.origin {
            TwilioOrigin::From(from) => form.push(("From", from)),
            TwilioOrigin::MessagingService(sid) => form.push(("MessagingServiceSid", sid)),
        }
        if let Some(url) = &self.status_callback {
            form.push(("StatusCallback", url));
        }
        let request = self
            .http
            .post(format!("{}/Messages.json", self.account_url()))
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&form);
        let answer = answer::send(request, self.timeout).await?;
        let body = answer.json();
        if answer.status.is_success() {
            return Ok(body["sid"].as_str().map(str::to_string));
        }
        let code = body["code"].as_u64().unwrap_or_default();
        let detail = format!(
            "Twilio error {code}: {}",
            short(body["message"].as_str().unwrap_or_default())
        );
        Err(answer.refusal(detail, false, NUMBER_ERRORS.contains(&code)))
    }

    /// Fetches the Account (`GET /2010-04-01/Accounts/{sid}.json`): proves
    /// the credentials and sends nothing.
    pub async fn check(&self) -> Result<String, String> {
        let request = self
            .http
            .get(format!("{}.json", self.account_url()))
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()));
        let answer = answer::send(request, self.timeout)
            .await
            .map_err(|e| e.to_string())?;
        let body = answer.json();
        if answer.status.is_success() {
            let status = body["status"].as_str().unwrap_or("unknown");
            return Ok(format!("account {} is {status}", self.account_sid));
        }
        Err(format!(
            "HTTP {}: {}",
            answer.status,
            short(body["message"].as_str().unwrap_or_default())
        ))
    }
}

/// `X-Twilio-Signature` for a request to `url` with these POST parameters.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        auth_token.as_bytes(),
    );
    STANDARD.encode(ring::hmac::sign(&key, &signed_data(url, params)).as_ref())
}

/// Does `header` sign `url` and `params` with `auth_token`? Compared in
/// constant time.
pub fn verify(auth_token: &str, url: &str, params: &[(String, String)], header: &str) -> bool {
    let Ok(given) = STANDARD.decode(header.trim()) else {
        return false;
    };
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
        auth_token.as_bytes(),
    );
    ring::hmac::verify(&key, &signed_data(url, params), &given).is_ok()
}

/// The URL, then each parameter's name and value, sorted by name.
fn signed_data(url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = url.as_bytes().to_vec();
    for (name, value) in sorted {
        data.extend_from_slice(name.as_bytes());
        data.extend_from_slice(value.as_bytes());
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(caller: &str) -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", caller),
            ("Digits", "1234"),
            ("From", caller),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// The examples of Twilio's request-validation documentation (its
    /// helper libraries' docs give the same ones).
    #[test]
    fn signatures_match_twilios_documented_examples() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        for (caller, expected) in [
            ("+14158675309", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            ("+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        ] {
            let mut shuffled = params(caller);
            shuffled.reverse();
            assert_eq!(signature("12345", url, &shuffled), expected);
            assert!(verify("12345", url, &shuffled, expected));
        }
        let good = params("+14158675309");
        assert!(!verify("12346", url, &good, "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(!verify("12345", url, &good, "not base64!"));
        let mut changed = good.clone();
        changed[2].1 = "1235".into();
        assert!(!verify(
            "12345",
            url,
            &changed,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }
}
