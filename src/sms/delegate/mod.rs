//! Code delegates (`otp.issuer`): an existing system that sends a sign-in
//! code and later says whether what the person typed is it. Gatehouse asks
//! only after its own rules allow the send or the try (`signin::otp`), so a
//! delegate cannot weaken them; it only makes and checks the code.

mod grpc;
mod http;
mod twilio_verify;

use crate::config::{CodeIssuer, OtpConfig};
use crate::domain::PhoneNumber;

/// The delegate could not be asked, or answered something other than a
/// verdict: the person is told to try again later, nothing is counted.
#[derive(Debug, thiserror::Error)]
#[error("the code delegate ({issuer}) is unavailable: {problem}")]
pub struct DelegateError {
    pub issuer: &'static str,
    pub problem: String,
}

/// One code request: the number, and the opaque id that names it (a
/// random id gatehouse made for this code of this sign-in flow).
#[derive(Debug, Clone, Copy)]
pub struct Verification<'a> {
    pub phone: &'a PhoneNumber,
    pub flow_id: &'a str,
}

#[derive(Clone)]
pub enum CodeDelegate {
    Http(http::HttpDelegate),
    /// Boxed: a gRPC client is much larger than the others.
    Grpc(Box<grpc::GrpcDelegate>),
    TwilioVerify(twilio_verify::TwilioVerify),
}

impl CodeDelegate {
    /// The delegate `otp.issuer` names; None for gatehouse itself. Nothing
    /// is contacted yet (the gRPC channel needs a tokio runtime).
    pub fn from_config(otp: &OtpConfig) -> Result<Option<CodeDelegate>, DelegateError> {
        let missing = |key: &str| DelegateError {
            issuer: otp.issuer.as_str(),
            problem: format!("{key} is not set"),
        };
        Ok(Some(match otp.issuer {
            CodeIssuer::Gatehouse => return Ok(None),
            CodeIssuer::Http => {
                let url = otp
                    .http
                    .url
                    .as_ref()
                    .ok_or_else(|| missing("otp.http.url"))?;
                CodeDelegate::Http(http::HttpDelegate::new(url, &otp.http))
            }
            CodeIssuer::Grpc => {
                let url = otp
                    .grpc
                    .url
                    .as_ref()
                    .ok_or_else(|| missing("otp.grpc.url"))?;
                CodeDelegate::Grpc(Box::new(grpc::GrpcDelegate::new(url, &otp.grpc.settings)?))
            }
            CodeIssuer::TwilioVerify => CodeDelegate::TwilioVerify(
                twilio_verify::TwilioVerify::new(&otp.twilio_verify)
                    .ok_or_else(|| missing("otp.twilio_verify"))?,
            ),
        }))
    }

    pub fn issuer(&self) -> &'static str {
        match self {
            CodeDelegate::Http(_) => "http",
            CodeDelegate::Grpc(_) => "grpc",
            CodeDelegate::TwilioVerify(_) => "twilio_verify",
        }
    }

    /// Asks the delegate to send a code for `verification`.
    pub async fn start(&self, verification: Verification<'_>) -> Result<(), DelegateError> {
        let started = match self {
            CodeDelegate::Http(http) => http.start(verification).await,
            CodeDelegate::Grpc(grpc) => grpc.start(verification).await,
            CodeDelegate::TwilioVerify(twilio) => twilio.start(verification).await,
        };
        started.map_err(|problem| self.unavailable(problem))
    }

    /// Is `code` the code the delegate sent for `verification`?
    pub async fn check(
        &self,
        verification: Verification<'_>,
        code: &str,
    ) -> Result<bool, DelegateError> {
        let checked = match self {
            CodeDelegate::Http(http) => http.check(verification, code).await,
            CodeDelegate::Grpc(grpc) => grpc.check(verification, code).await,
            CodeDelegate::TwilioVerify(twilio) => twilio.check(verification, code).await,
        };
        checked.map_err(|problem| self.unavailable(problem))
    }

    /// Reaches the delegate without sending anything (for `doctor`): a
    /// gRPC connection (TLS and client certificate included), Twilio
    /// Verify's Service fetched with the credentials; an HTTP delegate has
    /// no such call (doctor checks its connection). What was proved.
    pub async fn probe(&self) -> Result<String, String> {
        match self {
            CodeDelegate::Http(_) => Ok("nothing to call".to_string()),
            CodeDelegate::Grpc(grpc) => grpc.probe().await,
            CodeDelegate::TwilioVerify(twilio) => twilio.probe().await,
        }
    }

    fn unavailable(&self, problem: String) -> DelegateError {
        tracing::warn!(issuer = self.issuer(), %problem, "the code delegate failed");
        DelegateError {
            issuer: self.issuer(),
            problem,
        }
    }
}
