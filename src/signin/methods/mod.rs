//! Sign-in methods next to the SMS code, and the short window after a
//! sign-in in which the person may set one up.
//!
//! Right after a sign-in by SMS, before the browser goes back to Hydra,
//! the person is offered an authenticator app (`login.methods`), unless
//! they have one or said "not now" within `login.offer_again_after`. The
//! offer is an [`EnrolmentGrant`]: a random token the browser keeps in a
//! cookie (the store keeps only its SHA-256), naming the person and where
//! the sign-in goes on, for [`GRANT_LIFETIME`]. Whoever holds the token may
//! add a method to that person, and nothing else.

pub mod passkey;
pub mod totp;

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::config::{LoginConfig, LoginMethod};
use crate::infra::clock::Clock;
use crate::infra::random::random_hex;
use crate::store::credentials::{self, EnrolmentGrant};
use crate::store::passkeys;
use crate::store::{Store, StoreError};

pub use passkey::PasskeyService;
pub use totp::{NewTotp, TotpService};

/// How long the offer after a sign-in stays open: time to scan a QR code.
pub const GRANT_LIFETIME: Duration = Duration::from_secs(600);

/// An open grant, found by its token.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The SHA-256 of the browser's token: the row's key.
    token_hash: Vec<u8>,
    pub subject: String,
    /// Where the sign-in goes on (Hydra's redirect).
    pub continue_to: String,
}

impl Grant {
    /// A value that names this grant without giving its token away (what
    /// the forms' CSRF tokens are bound to).
    pub fn binding(&self) -> String {
        hex::encode(&self.token_hash)
    }
}

#[derive(Clone)]
pub struct Methods {
    store: Store,
    clock: Clock,
    login: LoginConfig,
    pub totp: TotpService,
    /// None when `login.methods` leaves passkeys out, or the public URL's
    /// host is no domain name (WebAuthn needs one).
    pub passkey: Option<PasskeyService>,
}

impl Methods {
    pub fn new(
        store: Store,
        clock: Clock,
        login: LoginConfig,
        totp: TotpService,
        passkey: Option<PasskeyService>,
    ) -> Methods {
        let passkey = passkey.filter(|_| login.offers(LoginMethod::Passkey));
        Methods {
            store,
            clock,
            login,
            totp,
            passkey,
        }
    }

    /// Whether the pages offer `method` (passkeys only where they work).
    pub fn offers(&self, method: LoginMethod) -> bool {
        match method {
            LoginMethod::Passkey => self.passkey.is_some(),
            method => self.login.offers(method),
        }
    }

    /// After `subject` signed in by SMS: the token of a new grant when the
    /// offer applies, else None (go straight on to `continue_to`).
    pub async fn offer_after_sign_in(
        &self,
        subject: &str,
        continue_to: &str,
    ) -> Result<Option<String>, StoreError> {
        let (apps, keys) = (
            self.offers(LoginMethod::Totp),
            self.offers(LoginMethod::Passkey),
        );
        if !apps && !keys {
            return Ok(None);
        }
        let now = self.clock.now();
        let token = random_hex(32);
        let token_hash = hash(&token);
        let grant = EnrolmentGrant {
            subject: subject.to_string(),
            continue_to: continue_to.to_string(),
            expires_at: now + GRANT_LIFETIME.as_secs() as i64,
        };
        let offered = self
            .store
            .run(move |db| {
                let has_app = credentials::totp_of(db, &grant.subject)?
                    .iter()
                    .any(|app| app.confirmed);
                let has_key = !passkeys::of(db, &grant.subject)?.is_empty();
                // Offered while one of the offered methods is missing.
                let missing = (apps && !has_app) || (keys && !has_key);
                if !missing || credentials::offer_declined(db, &grant.subject, now)? {
                    return Ok(false);
                }
                credentials::add_grant(db, &token_hash, &grant)?;
                Ok(true)
            })
            .await?;
        Ok(offered.then_some(token))
    }

    /// The open grant `token` names, if any.
    pub async fn grant(&self, token: &str) -> Result<Option<Grant>, StoreError> {
        let token_hash = hash(token);
        let now = self.clock.now();
        let found = {
            let token_hash = token_hash.clone();
            self.store
                .run(move |db| credentials::grant(db, &token_hash, now))
                .await?
        };
        Ok(found.map(|grant| Grant {
            token_hash,
            subject: grant.subject,
            continue_to: grant.continue_to,
        }))
    }

    /// "Not now": the grant ends and the offer waits
    /// `login.offer_again_after`.
    pub async fn decline(&self, grant: &Grant) -> Result<(), StoreError> {
        let until = self.clock.now() + self.login.offer_again_after.as_secs() as i64;
        let (token_hash, subject) = (grant.token_hash.clone(), grant.subject.clone());
        self.store
            .run(move |db| {
                credentials::decline_offer(db, &subject, until)?;
                credentials::end_grant(db, &token_hash)
            })
            .await
    }

    /// The person goes on: the grant ends.
    pub async fn finish(&self, grant: &Grant) -> Result<(), StoreError> {
        let token_hash = grant.token_hash.clone();
        self.store
            .run(move |db| credentials::end_grant(db, &token_hash))
            .await
    }
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
