//! Amazon SNS `Publish` to a phone number: a query-protocol POST
//! (`Action=Publish&Version=2010-03-31&PhoneNumber=...&Message=...`, as
//! `application/x-www-form-urlencoded; charset=utf-8`) to the regional
//! endpoint, with `AWS.SNS.SMS.SMSType` = `Transactional`, signed with SigV4
//! by `aws-sigv4` ([`super::sigv4`]). The answer is XML:
//! `<PublishResponse><PublishResult><MessageId>` or an `<ErrorResponse>`
//! whose `<Code>` says what went wrong.

use std::time::{Duration, SystemTime};

use super::answer::{self, short, Answer};
use super::sigv4::{self, SigV4Request, SigV4Signing};
use super::{SmsError, SmsMessage};
use crate::config::{AwsSnsConfig, Secret};
use crate::infra::http::{self, Peer};

const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Error codes that mean "later": SNS's throttling and its own faults.
const BUSY_CODES: &[&str] = &[
    "Throttling",
    "ThrottledException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
];

#[derive(Clone)]
pub struct AwsSns {
    http: reqwest::Client,
    region: String,
    access_key_id: String,
    secret_access_key: Secret,
    url: String,
    timeout: Duration,
}

impl AwsSns {
    pub fn new(config: &AwsSnsConfig) -> AwsSns {
        AwsSns {
            http: http::client(Peer::Service {
                timeout: Some(config.timeout),
                ca_file: None,
            }),
            region: config.region.clone(),
            access_key_id: config.access_key_id.clone(),
            secret_access_key: config.secret_access_key.clone(),
            url: config.base_url.to_string(),
            timeout: config.timeout,
        }
    }

    /// POSTs the query-protocol `params`, signed; the answer.
    async fn call(&self, params: &[(&str, &str)]) -> Result<Answer, SmsError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish()
            .into_bytes();
        let headers = vec![("content-type".to_string(), CONTENT_TYPE.to_string())];
        let request = SigV4Request {
            method: "POST",
            url: &self.url,
            headers: &headers,
            body: &body,
        };
        let signing = SigV4Signing {
            access_key_id: &self.access_key_id,
            secret_access_key: self.secret_access_key.expose(),
            session_token: None,
            region: &self.region,
            service: "sns",
            time: SystemTime::now(),
            content_sha256_header: false,
        };
        let (signed, _) = sigv4::sign(&request, &signing).map_err(SmsError::Rejected)?;
        let mut builder = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE);
        for (name, value) in signed {
            builder = builder.header(name, value);
        }
        answer::send(builder.body(body), self.timeout).await
    }

    /// Publishes the text to the number; its `MessageId`.
    pub async fn send(&self, message: &SmsMessage<'_>) -> Result<Option<String>, SmsError> {
        let answer = self
            .call(&[
                ("Action", "Publish"),
                ("Version", "2010-03-31"),
                ("PhoneNumber", message.phone.as_str()),
                ("Message", &message.text),
                ("MessageAttributes.entry.1.Name", "AWS.SNS.SMS.SMSType"),
                ("MessageAttributes.entry.1.Value.DataType", "String"),
                (
                    "MessageAttributes.entry.1.Value.StringValue",
                    "Transactional",
                ),
            ])
            .await?;
        let text = answer.text();
        if answer.status.is_success() {
            return Ok(element(&text, "MessageId").map(str::to_string));
        }
        let code = element(&text, "Code").unwrap_or_default();
        let said = element(&text, "Message").unwrap_or_default();
        let detail = format!("SNS {code}: {}", short(said));
        let invalid_number = code.starts_with("InvalidParameter") && said.contains("PhoneNumber");
        Err(answer.refusal(detail, BUSY_CODES.contains(&code), invalid_number))
    }

    /// `GetSMSAttributes`: proves the keys and the region, sends nothing.
    pub async fn check(&self) -> Result<String, String> {
        let answer = self
            .call(&[("Action", "GetSMSAttributes"), ("Version", "2010-03-31")])
            .await
            .map_err(|e| e.to_string())?;
        let text = answer.text();
        if answer.status.is_success() {
            return Ok(format!("signed requests to {} are accepted", self.url));
        }
        let code = element(&text, "Code").unwrap_or_default();
        let said = element(&text, "Message").unwrap_or_default();
        Err(format!("HTTP {}: {code}: {}", answer.status, short(said)))
    }
}

/// The text of the first `<name>` element (SNS's answers are small and
/// flat; its values are escaped, which a log line can bear).
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(xml[start..end].trim())
}

#[cfg(test)]
mod tests {
    use super::element;

    #[test]
    fn elements_are_read_from_snss_answers() {
        let ok = "<PublishResponse xmlns=\"https://sns.amazonaws.com/doc/2010-03-31/\">\
                  <PublishResult><MessageId>567910cd-659e-55d4-8ccb-5aaf14679dc0</MessageId>\
                  </PublishResult><ResponseMetadata><RequestId>d74b8436-ae13-5ab4-a9ff-ce54dfea72a0\
                  </RequestId></ResponseMetadata></PublishResponse>";
        assert_eq!(
            element(ok, "MessageId"),
            Some("567910cd-659e-55d4-8ccb-5aaf14679dc0")
        );
        assert_eq!(element(ok, "Code"), None);
    }
}
