//! Why a sign-in did not go through: one error for the browser flow, the
//! headless API and the token exchange. The web layer turns it into a page
//! or a JSON answer, each in one place (`web/error.rs`, `web/api_error.rs`).

use std::time::Duration;

use crate::config::ProofKind;
use crate::directory::DirectoryError;
use crate::domain::otp_code::OtpCodeError;
use crate::domain::phone::PhoneNumberError;
use crate::hydra::public::PublicError;
use crate::hydra::HydraError;
use crate::sms::delegate::DelegateError;
use crate::store::StoreError;

use super::otp::{Limit, OtpError};

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    // What the person typed or did.
    #[error("{0}")]
    InvalidPhone(#[from] PhoneNumberError),
    #[error("{0}")]
    MalformedCode(#[from] OtpCodeError),
    #[error("wrong code; {attempts_left} tries left")]
    WrongCode { attempts_left: u32 },
    /// Too many wrong tries: the code (and a headless session) is dead.
    #[error("too many wrong codes")]
    CodeDead,
    /// Expired, already used, replaced by a newer code, or never sent.
    #[error("the code has expired or was already used")]
    CodeExpired,
    #[error("too many codes requested ({limit:?}); retry in {retry_after:?}")]
    Throttled { limit: Limit, retry_after: Duration },
    /// `sms.policy`: the number's country, or its kind of line, gets no codes.
    #[error("codes are not sent to this country")]
    CountryNotServed,
    #[error("codes are not sent to this kind of number")]
    NumberTypeNotServed,
    /// One of `sms.policy`'s caps: said alike whichever it was.
    #[error("refused by sms.policy ({0:?})")]
    SendingRefused(Limit),
    #[error("this account is disabled")]
    AccountDisabled,
    /// A passkey sign-in was refused or could not be checked.
    #[error(transparent)]
    Passkey(#[from] super::methods::passkey::PasskeyError),
    /// The client asked for a phishing-resistant sign-in (`acr_values`):
    /// a code (text or app) does not do.
    #[error("this sign-in needs a passkey")]
    PasskeyRequired,
    /// The bot challenge was not met (no proof, a wrong, expired or used
    /// one, or the provider said no or did not answer): the client is told
    /// the same whichever, and which `ProofKind` to send.
    #[error("the bot challenge was not met")]
    BotChallenge(ProofKind),

    // What an app asked for (headless API and token exchange).
    #[error("the client may not use the headless API")]
    UnauthorizedClient,
    #[error("the scope `{0}` is not allowed for this client")]
    InvalidScope(String),
    #[error("unknown, used or expired session")]
    InvalidSession,
    /// `[headless.token_exchange] url` is not set.
    #[error("token exchange is not enabled")]
    ExchangeNotEnabled,
    #[error("the client may not exchange legacy tokens")]
    ExchangeNotAllowed,
    /// The verifier said no, or named no user of gatehouse.
    #[error("the legacy token was not accepted")]
    InvalidToken,

    // What gatehouse depends on.
    #[error("the legacy-session verifier: {0}")]
    VerifierUnavailable(String),
    #[error(transparent)]
    HydraAdmin(#[from] HydraError),
    #[error(transparent)]
    HydraPublic(#[from] PublicError),
    /// Hydra's answers do not fit together (another subject or client in
    /// the consent than in the login): never the person's fault.
    #[error("Hydra's flow is inconsistent: {0}")]
    Inconsistent(&'static str),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The code delegate (`otp.issuer`) could not send or check a code.
    #[error(transparent)]
    CodeDelegate(#[from] DelegateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SignInError {
    /// Did the person fail to prove themselves (as opposed to something
    /// failing on the way)? Counted as a failed sign-in in the metrics.
    pub fn is_failed_proof(&self) -> bool {
        matches!(
            self,
            SignInError::WrongCode { .. }
                | SignInError::CodeDead
                | SignInError::CodeExpired
                | SignInError::AccountDisabled
                | SignInError::InvalidToken
        )
    }
}

/// The one place the code policy's answers become sign-in errors.
impl From<OtpError> for SignInError {
    fn from(error: OtpError) -> Self {
        match error {
            OtpError::Throttled { limit, retry_after } => {
                SignInError::Throttled { limit, retry_after }
            }
            OtpError::CountryNotServed => SignInError::CountryNotServed,
            OtpError::NumberTypeNotServed => SignInError::NumberTypeNotServed,
            OtpError::PolicyRefused(limit) => SignInError::SendingRefused(limit),
            OtpError::WrongCode { attempts_left } => SignInError::WrongCode { attempts_left },
            OtpError::TooManyAttempts => SignInError::CodeDead,
            OtpError::Expired => SignInError::CodeExpired,
            OtpError::Disabled => SignInError::AccountDisabled,
            OtpError::ProofRequired(kind) => SignInError::BotChallenge(kind),
            OtpError::Directory(e) => SignInError::Directory(e),
            OtpError::Delegate(e) => SignInError::CodeDelegate(e),
            OtpError::Store(e) => SignInError::Store(e),
        }
    }
}
