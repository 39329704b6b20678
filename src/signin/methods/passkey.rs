//! Passkeys (WebAuthn) with webauthn-rs, the Kanidm project's reviewed
//! library: registered on the offer after a sign-in by SMS, used on the
//! login page without a phone number or a text.
//!
//! Registration asks for a discoverable (resident) credential; webauthn-rs
//! asks for user verification and checks it. A sign-in is discoverable:
//! the authenticator names the credential and the person's user handle
//! (random, per person); both must belong together in the store, so a
//! credential presented with another person's handle is refused. The
//! signature counter is stored; one that does not grow (a cloned
//! authenticator) is refused by webauthn-rs. Ceremony state stays on the
//! server, used once, bound to its grant or login challenge.

use std::sync::Arc;
use std::time::Duration;

use url::Url;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Uuid, Webauthn, WebauthnBuilder,
};

use crate::directory::{Directory, DirectoryError, DirectoryUser};
use crate::infra::clock::Clock;
use crate::infra::random::{fill_random, random_hex};
use crate::store::passkeys::{self, StoredPasskey};
use crate::store::{Store, StoreError};

/// How long a ceremony may take (the browser's own prompt times out
/// sooner).
const CEREMONY_LIFETIME: Duration = Duration::from_secs(300);
const REGISTER: &str = "register";
const SIGN_IN: &str = "sign_in";

#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The ceremony is unknown, used, expired or another's.
    #[error("the passkey request has expired or was already used")]
    Expired,
    /// The browser's answer did not verify; `0` says why, for the log only.
    #[error("the passkey was refused: {0}")]
    Refused(&'static str),
    #[error("this account is disabled")]
    Disabled,
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A ceremony begun: its id, and the options for the browser's
/// `navigator.credentials` call (webauthn-rs's JSON).
#[derive(Debug, Clone)]
pub struct Ceremony {
    pub id: String,
    pub options: serde_json::Value,
}

/// Who signed in with a passkey, and how (RFC 8176 `amr`).
#[derive(Debug, Clone)]
pub struct PasskeySignIn {
    pub user: DirectoryUser,
    pub amr: Vec<String>,
}

#[derive(Clone)]
pub struct PasskeyService {
    webauthn: Arc<Webauthn>,
    store: Store,
    directory: Directory,
    clock: Clock,
}

impl PasskeyService {
    /// For the origin `public_url`: None when its host is not a domain name
    /// (WebAuthn has no relying party on an IP address).
    pub fn new(
        public_url: &Url,
        rp_name: &str,
        store: Store,
        directory: Directory,
        clock: Clock,
    ) -> Option<PasskeyService> {
        let rp_id = public_url.domain()?;
        let webauthn = WebauthnBuilder::new(rp_id, public_url)
            .ok()?
            .rp_name(rp_name)
            .build()
            .ok()?;
        Some(PasskeyService {
            webauthn: Arc::new(webauthn),
            store,
            directory,
            clock,
        })
    }

    /// Begins registering a passkey for `subject`, shown in the browser
    /// as `user_name`.
    pub async fn start_registration(
        &self,
        subject: &str,
        user_name: &str,
    ) -> Result<Ceremony, PasskeyError> {
        let mut fresh = [0u8; 16];
        fill_random(&mut fresh);
        let owner = subject.to_string();
        let (handle, existing) = self
            .store
            .run(move |db| {
                let handle = passkeys::user_handle(db, &owner, &fresh)?;
                Ok((handle, passkeys::of(db, &owner)?))
            })
            .await?;
        let handle = Uuid::from_slice(&handle).map_err(|_| PasskeyError::Refused("bad handle"))?;
        let exclude = existing
            .iter()
            .map(|p| p.credential_id.clone().into())
            .collect();
        let (options, state) = self
            .webauthn
            .start_passkey_registration(handle, user_name, user_name, Some(exclude))
            .map_err(|_| PasskeyError::Refused("registration options"))?;
        let mut options =
            serde_json::to_value(&options).map_err(|_| PasskeyError::Refused("json"))?;
        // A discoverable credential: signing in needs no name typed first.
        let selection = &mut options["publicKey"]["authenticatorSelection"];
        selection["residentKey"] = "required".into();
        selection["requireResidentKey"] = true.into();
        let state = serde_json::to_string(&state).map_err(|_| PasskeyError::Refused("json"))?;
        self.begin(REGISTER, subject, state, options).await
    }

    /// Finishes registering: the browser's answer (`credential`, JSON)
    /// to ceremony `id` of `subject`'s.
    pub async fn finish_registration(
        &self,
        subject: &str,
        id: &str,
        credential: &str,
    ) -> Result<(), PasskeyError> {
        let state = self.take(REGISTER, subject, id).await?;
        let state: PasskeyRegistration =
            serde_json::from_str(&state).map_err(|_| PasskeyError::Expired)?;
        let credential: RegisterPublicKeyCredential =
            serde_json::from_str(credential).map_err(|_| PasskeyError::Refused("malformed"))?;
        let transports = credential.response.transports.clone().unwrap_or_default();
        let passkey = self
            .webauthn
            .finish_passkey_registration(&credential, &state)
            .map_err(|error| {
                tracing::info!(%error, "a passkey registration did not verify");
                PasskeyError::Refused("registration did not verify")
            })?;
        let owner = subject.to_string();
        let now = self.clock.now();
        let stored = StoredPasskey {
            credential_id: passkey.cred_id().to_vec(),
            subject: owner.clone(),
            user_handle: Vec::new(),
            name: "Passkey".into(),
            passkey: serde_json::to_string(&passkey).map_err(|_| PasskeyError::Refused("json"))?,
            counter: 0,
            transports: serde_json::to_string(&transports).unwrap_or_else(|_| "[]".into()),
            created_at: now,
            last_used_at: None,
        };
        let added = self
            .store
            .run(move |db| {
                let user_handle = passkeys::user_handle(db, &owner, &[])?;
                passkeys::add(
                    db,
                    &StoredPasskey {
                        user_handle,
                        ..stored
                    },
                )
            })
            .await?;
        if added {
            Ok(())
        } else {
            Err(PasskeyError::Refused("credential registered already"))
        }
    }

    /// Begins a sign-in for the login challenge `login` (no person named:
    /// the authenticator offers its passkeys for this site).
    pub async fn start_sign_in(&self, login: &str) -> Result<Ceremony, PasskeyError> {
        let (options, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|_| PasskeyError::Refused("sign-in options"))?;
        let options = serde_json::to_value(&options).map_err(|_| PasskeyError::Refused("json"))?;
        let state = serde_json::to_string(&state).map_err(|_| PasskeyError::Refused("json"))?;
        self.begin(SIGN_IN, login, state, options).await
    }

    /// Finishes a sign-in: the browser's assertion (`credential`, JSON) to
    /// ceremony `id` of login challenge `login`.
    pub async fn finish_sign_in(
        &self,
        login: &str,
        id: &str,
        credential: &str,
    ) -> Result<PasskeySignIn, PasskeyError> {
        let state = self.take(SIGN_IN, login, id).await?;
        let state: DiscoverableAuthentication =
            serde_json::from_str(&state).map_err(|_| PasskeyError::Expired)?;
        let credential: PublicKeyCredential =
            serde_json::from_str(credential).map_err(|_| PasskeyError::Refused("malformed"))?;
        let (handle, credential_id) = self
            .webauthn
            .identify_discoverable_authentication(&credential)
            .map_err(|_| PasskeyError::Refused("no user handle"))?;
        let credential_id = credential_id.to_vec();
        let stored = self
            .store
            .run(move |db| passkeys::by_credential_id(db, &credential_id))
            .await?
            .ok_or(PasskeyError::Refused("unknown credential"))?;
        // The handle the authenticator gave must be the credential's owner's.
        if stored.user_handle != handle.as_bytes() {
            return Err(PasskeyError::Refused("another person's credential"));
        }
        let mut passkey: Passkey =
            serde_json::from_str(&stored.passkey).map_err(|_| PasskeyError::Refused("stored"))?;
        let result = self
            .webauthn
            .finish_discoverable_authentication(&credential, state, &[DiscoverableKey::from(&passkey)])
            .map_err(|error| {
                tracing::warn!(%error, subject = %stored.subject, "a passkey sign-in did not verify");
                PasskeyError::Refused("assertion did not verify (or the counter went back)")
            })?;
        passkey.update_credential(&result);
        let counter = result.counter();
        let json = serde_json::to_string(&passkey).map_err(|_| PasskeyError::Refused("json"))?;
        let now = self.clock.now();
        let (credential_id, checked) = (stored.credential_id.clone(), stored.counter);
        let recorded = self
            .store
            .run(move |db| passkeys::used(db, &credential_id, checked, &json, counter, now))
            .await?;
        if !recorded {
            return Err(PasskeyError::Refused("used concurrently"));
        }
        let user = self
            .directory
            .find_by_id(&stored.subject)
            .await?
            .ok_or(PasskeyError::Refused("no such person any more"))?;
        if user.disabled {
            return Err(PasskeyError::Disabled);
        }
        // A passkey that may be synced (backup eligible) is a software key.
        let key = if result.backup_eligible() {
            "swk"
        } else {
            "hwk"
        };
        let mut amr = vec![key.to_string()];
        if result.user_verified() {
            amr.push("user".to_string());
        }
        Ok(PasskeySignIn { user, amr })
    }

    /// Whether `subject` has a passkey.
    pub async fn has_passkey(&self, subject: &str) -> Result<bool, StoreError> {
        let owner = subject.to_string();
        let all = self.store.run(move |db| passkeys::of(db, &owner)).await?;
        Ok(!all.is_empty())
    }

    async fn begin(
        &self,
        kind: &'static str,
        binding: &str,
        state: String,
        options: serde_json::Value,
    ) -> Result<Ceremony, PasskeyError> {
        let id = random_hex(16);
        let expires_at = self.clock.now() + CEREMONY_LIFETIME.as_secs() as i64;
        let (ceremony, binding) = (id.clone(), binding.to_string());
        self.store
            .run(move |db| {
                passkeys::begin_ceremony(db, &ceremony, kind, &binding, &state, expires_at)
            })
            .await?;
        Ok(Ceremony { id, options })
    }

    async fn take(
        &self,
        kind: &'static str,
        binding: &str,
        id: &str,
    ) -> Result<String, PasskeyError> {
        let (id, binding, now) = (id.to_string(), binding.to_string(), self.clock.now());
        self.store
            .run(move |db| passkeys::take_ceremony(db, &id, kind, &binding, now))
            .await?
            .ok_or(PasskeyError::Expired)
    }
}
