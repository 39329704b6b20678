//! Vonage's SMS API: `POST /sms/json` with form fields `api_key`,
//! `api_secret`, `from`, `to` (E.164 without the `+`) and `text` (plus
//! `type=unicode` for text beyond ASCII). Vonage answers HTTP 200 whatever
//! happened; each message's `status` says: "0" sent (with its
//! `message-id`), else an error with its `error-text`.
//!
//! With delivery receipts on, each message names its `callback`; Vonage
//! signs the receipt (signed webhooks) with the account's signature
//! secret: [`verify`].

use std::time::Duration;

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;
use url::Url;

use super::answer::{self, short};
use super::{SmsError, SmsMessage};
use crate::config::{Secret, VonageConfig, VonageSignatureMethod};
use crate::infra::http::{self, Peer};

/// Where Vonage posts (or gets) delivery receipts, under `server.public_url`.
pub const RECEIPT_PATH: &str = "/sms/receipts/vonage";

/// How far a receipt's signed `timestamp` may be from now: a captured
/// receipt cannot be replayed later.
pub const RECEIPT_WINDOW_SECS: i64 = 300;

#[derive(Clone)]
pub struct Vonage {
    http: reqwest::Client,
    api_key: String,
    api_secret: Secret,
    from: String,
    base: String,
    timeout: Duration,
    /// `callback`, when delivery receipts are on.
    callback: Option<String>,
}

impl Vonage {
    pub fn new(config: &VonageConfig, public_url: &Url) -> Vonage {
        let callback = config.delivery_receipts.as_ref().map(|_| {
            let origin = public_url.as_str().trim_end_matches('/');
            format!("{origin}{RECEIPT_PATH}")
        });
        Vonage {
            http: http::client(Peer::Service {
                timeout: Some(config.timeout),
                ca_file: None,
            }),
            api_key: config.api_key.clone(),
            api_secret: config.api_secret.clone(),
            from: config.from.clone(),
            base: base(&config.base_url),
            timeout: config.timeout,
            callback,
        }
    }

    /// Sends the message; its `message-id`.
    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<Option<String>, SmsError> {
        let to = message.phone.as_str().trim_start_matches('+');
        let mut form = vec![
            ("api_key", self.api_key.as_str()),
            ("api_secret", self.api_secret.expose()),
            ("from", &self.from),
            ("to", to),
            ("text", &message.text),
        ];
        if !message.text.is_ascii() {
            form.push(("type", "unicode"));
        }
        if let Some(callback) = &self.callback {
            form.push(("callback", callback));
        }
        let request = self
            .http
            .post(format!("{}/sms/json", self.base))
            .form(&form);
        let answer = answer::send(request, self.timeout).await?;
        if answer.is_busy() {
            return Err(answer.unavailable("Vonage is busy or down"));
        }
        if !answer.status.is_success() {
            return Err(SmsError::Rejected(format!("HTTP {}", answer.status)));
        }
        let body = answer.json();
        let first = &body["messages"][0];
        let status = first["status"].as_str().unwrap_or("(none)");
        let detail = format!(
            "Vonage status {status}: {}",
            short(first["error-text"].as_str().unwrap_or_default())
        );
        match status {
            "0" => Ok(first["message-id"].as_str().map(str::to_string)),
            // Throttled; internal error; too many binds: try again later.
            "1" | "5" | "10" => Err(SmsError::Unavailable {
                reason: detail,
                retry_after: None,
            }),
            // Invalid message (an unknown number prefix); number barred.
            "6" | "7" => Err(SmsError::InvalidNumber(detail)),
            // Invalid parameters: final when it is the `to` number.
            "3" if names_the_recipient(first["error-text"].as_str().unwrap_or_default()) => {
                Err(SmsError::InvalidNumber(detail))
            }
            _ => Err(SmsError::Rejected(detail)),
        }
    }

    /// The account balance (`GET /account/get-balance`): proves the
    /// credentials and sends nothing.
    pub async fn check(&self) -> Result<String, String> {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("api_key", &self.api_key)
            .append_pair("api_secret", self.api_secret.expose())
            .finish();
        let request = self
            .http
            .get(format!("{}/account/get-balance?{query}", self.base));
        let answer = answer::send(request, self.timeout)
            .await
            .map_err(|e| e.to_string())?;
        if answer.status.is_success() {
            return Ok(format!("account {} answers its balance", self.api_key));
        }
        Err(format!("HTTP {}: {}", answer.status, short(&answer.text())))
    }
}

/// Does the receipt's `sig` sign its other parameters with `secret`, and
/// is its `timestamp` within [`RECEIPT_WINDOW_SECS`] of `now`? Vonage's
/// signing: every parameter but `sig`, sorted by name, as `&name=value`
/// with `&` and `=` in values turned into `_`; then MD5 of that and the
/// secret ("MD5 hash"), or an HMAC keyed with the secret; hex, compared
/// in constant time and without regard to case. Vonage sends each
/// parameter once: a name given twice (a second `sig`, a `status` after
/// the signed one) is no receipt of Vonage's, whatever it signs.
pub fn verify(
    secret: &str,
    method: VonageSignatureMethod,
    params: &[(String, String)],
    now: i64,
) -> bool {
    if !each_name_once(params) {
        return false;
    }
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let (Some(given), Some(timestamp)) = (param("sig"), param("timestamp")) else {
        return false;
    };
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|at| (now - at).abs() <= RECEIPT_WINDOW_SECS);
    let given = given.to_ascii_lowercase();
    let expected = signature(secret, method, params);
    fresh && given.as_bytes().ct_eq(expected.as_bytes()).into()
}

/// The lower-case hex signature of `params` (without `sig`).
pub fn signature(
    secret: &str,
    method: VonageSignatureMethod,
    params: &[(String, String)],
) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().filter(|(k, _)| k != "sig").collect();
    sorted.sort();
    let mut data = String::new();
    for (name, value) in sorted {
        data.push('&');
        data.push_str(name);
        data.push('=');
        data.push_str(&value.replace(['&', '='], "_"));
    }
    let key = secret.as_bytes();
    let digest = match method {
        VonageSignatureMethod::Md5hash => Md5::new_with_prefix(data + secret).finalize().to_vec(),
        VonageSignatureMethod::Md5 => hmac_md5(key, data.as_bytes()),
        VonageSignatureMethod::Sha1 => {
            ring_hmac(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key, &data)
        }
        VonageSignatureMethod::Sha256 => ring_hmac(ring::hmac::HMAC_SHA256, key, &data),
        VonageSignatureMethod::Sha512 => ring_hmac(ring::hmac::HMAC_SHA512, key, &data),
    };
    hex::encode(digest)
}

fn each_name_once(params: &[(String, String)]) -> bool {
    let mut names: Vec<&str> = params.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.windows(2).all(|pair| pair[0] != pair[1])
}

fn hmac_md5(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Md5>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn ring_hmac(algorithm: ring::hmac::Algorithm, key: &[u8], data: &str) -> Vec<u8> {
    let key = ring::hmac::Key::new(algorithm, key);
    ring::hmac::sign(&key, data.as_bytes()).as_ref().to_vec()
}

/// The base URL without its trailing slash.
pub(super) fn base(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_string()
}

/// "Invalid to address", "Missing to param": the word `to` in Vonage's
/// error text.
fn names_the_recipient(error_text: &str) -> bool {
    error_text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| word.eq_ignore_ascii_case("to"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Vonage's client libraries' own test: a=1, b=2 at 1461605396 with
    /// the secret "secret", "MD5 hash".
    #[test]
    fn md5_hash_signatures_match_vonages_libraries() {
        let params = pairs(&[("a", "1"), ("b", "2"), ("timestamp", "1461605396")]);
        let method = VonageSignatureMethod::Md5hash;
        assert_eq!(
            signature("secret", method, &params),
            "6af838ef94998832dbfc29020b564830"
        );
        let mut signed = params.clone();
        signed.push(("sig".into(), "6AF838EF94998832DBFC29020B564830".into()));
        assert!(verify("secret", method, &signed, 1461605396 + 60));
        assert!(
            !verify("secret", method, &signed, 1461605396 + 301),
            "stale"
        );
        assert!(!verify("other", method, &signed, 1461605396));
        assert!(!verify("secret", method, &params, 1461605396), "no sig");
    }

    /// An inbound message and the signature of each method with the
    /// secret "my_secret_key_for_testing": the known answers of Vonage's
    /// Node SDK's signature tests (`packages/sms/__tests__/__dataSets__`),
    /// which print the HMACs in upper case.
    #[test]
    fn every_method_matches_vonages_sdk_known_answers() {
        let params = pairs(&[
            ("message-timestamp", "2013-11-21 15:27:30"),
            ("messageId", "020000001B0FE827"),
            ("msisdn", "14843472194"),
            ("text", "Test again"),
            ("timestamp", "1385047698"),
            ("to", "13239877404"),
            ("type", "text"),
        ]);
        let secret = "my_secret_key_for_testing";
        for (method, expected) in [
            (
                VonageSignatureMethod::Md5hash,
                "d2e7b1dc968737c5998ad624e02f90b7",
            ),
            (
                VonageSignatureMethod::Md5,
                "DDEBD46008C2D4E93CCE578A332A52D5",
            ),
            (
                VonageSignatureMethod::Sha1,
                "27D0D05C2876C7CB1720DBCDBA4D492E1E55C09A",
            ),
            (
                VonageSignatureMethod::Sha256,
                "DDB8397C2B90AAC7F3882D306475C9A5058C92322EEF43C92B298B6E0FC0D330",
            ),
            (
                VonageSignatureMethod::Sha512,
                "E0D3C650F8C9D1A5C174D10DDDBFB003E561F59B265616208B0487C5D8194\
                 81CD3C311D59CF6165ECD1139622D5BA3A256C0D763AC4A9AD9144B5A426B94FE82",
            ),
        ] {
            assert_eq!(
                signature(secret, method, &params),
                expected.to_ascii_lowercase(),
                "{method:?}"
            );
            let mut signed = params.clone();
            signed.push(("sig".into(), expected.into()));
            assert!(verify(secret, method, &signed, 1385047698), "{method:?}");
            let other = if method == VonageSignatureMethod::Md5hash {
                VonageSignatureMethod::Md5
            } else {
                VonageSignatureMethod::Md5hash
            };
            assert!(!verify(secret, other, &signed, 1385047698), "{method:?}");
        }
    }

    /// Vonage sends each parameter once; whatever a repeat signs, it is
    /// refused: a second `sig` (the good one or another), a second
    /// `status` after the signed one, a second `timestamp`.
    #[test]
    fn a_parameter_given_twice_is_refused() {
        let method = VonageSignatureMethod::Md5hash;
        let mut good = pairs(&[
            ("messageId", "0A0000001234567B"),
            ("status", "delivered"),
            ("timestamp", "1461605396"),
        ]);
        let sig = signature("secret", method, &good);
        good.push(("sig".into(), sig.clone()));
        assert!(verify("secret", method, &good, 1461605396));
        for (name, value) in [
            ("sig", sig.as_str()),
            ("sig", "00000000000000000000000000000000"),
            ("status", "failed"),
            ("timestamp", "1461605396"),
        ] {
            let mut twice = good.clone();
            twice.push((name.into(), value.into()));
            assert!(!verify("secret", method, &twice, 1461605396), "{name}");
            twice.reverse();
            assert!(!verify("secret", method, &twice, 1461605396), "{name}");
        }
        // Even when the repeat is part of what was signed.
        let mut both = pairs(&[
            ("status", "delivered"),
            ("status", "failed"),
            ("timestamp", "1461605396"),
        ]);
        let sig = signature("secret", method, &both);
        both.push(("sig".into(), sig));
        assert!(!verify("secret", method, &both, 1461605396));
    }

    #[test]
    fn a_timestamp_that_is_no_number_is_refused() {
        let method = VonageSignatureMethod::Md5hash;
        for timestamp in ["", "soon", "1461605396.5", "-"] {
            let mut params = pairs(&[("a", "1"), ("timestamp", timestamp)]);
            let sig = signature("secret", method, &params);
            params.push(("sig".into(), sig));
            assert!(
                !verify("secret", method, &params, 1461605396),
                "{timestamp:?}"
            );
        }
    }

    #[test]
    fn ampersands_and_equals_signs_in_values_are_signed_as_underscores() {
        let method = VonageSignatureMethod::Sha256;
        let with = pairs(&[("text", "a&b=c"), ("timestamp", "1")]);
        let plain = pairs(&[("text", "a_b_c"), ("timestamp", "1")]);
        assert_eq!(
            signature("k", method, &with),
            signature("k", method, &plain)
        );
        // `openssl dgst -<hash> -hmac k` of "&text=a_b_c&timestamp=1".
        for (method, expected) in [
            (
                VonageSignatureMethod::Md5,
                "81fa4eeefceb0269c30e291282f24998",
            ),
            (
                VonageSignatureMethod::Sha1,
                "6b4baffcf044ed387000586e7856299360fb7eeb",
            ),
            (
                VonageSignatureMethod::Sha256,
                "38067891f37b162a23b4f84f846d4e2eac65f06c8dab2fb2f2b4c7103179115c",
            ),
            (
                VonageSignatureMethod::Sha512,
                "35e9af44c1b5beb26b03b2da570963b0c856bf2e3b248521dfd0a01a47695a7b\
                 1a5080021a4ac39283f3ca9c12f31180727d79917cecf961f8e377a4cf84bbdf",
            ),
        ] {
            assert_eq!(signature("k", method, &plain), expected, "{method:?}");
        }
    }

    #[test]
    fn only_errors_about_the_to_number_are_about_the_recipient() {
        assert!(names_the_recipient("Invalid to address"));
        assert!(names_the_recipient("Missing to param"));
        assert!(!names_the_recipient("Invalid from address"));
        assert!(!names_the_recipient("Invalid Parameters"));
        assert!(!names_the_recipient("Bad tonality"));
    }
}
