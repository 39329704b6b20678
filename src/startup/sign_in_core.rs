//! The sign-in core start-up opens (database, directory, codes, bot
//! challenge, audit trail, form key) and the sign-in services built on it.

use super::StartupError;
use crate::config::{self, Config};
use crate::directory::Directory;
use crate::hydra::public::HydraPublic;
use crate::hydra::HydraClient;
use crate::infra::clock::Clock;
use crate::infra::data_dir::DataDir;
use crate::infra::{metrics, secrets};
use crate::signin::accept::Acceptor;
use crate::signin::account::{AccountParts, AccountService};
use crate::signin::audit::AuditTrail;
use crate::signin::bot_challenge::BotChallenge;
use crate::signin::browser::BrowserSignIn;
use crate::signin::methods::{Methods, PasskeyService, TotpService};
use crate::signin::otp::{OtpPolicy, OtpService};
use crate::signin::{challenges, headless};
use crate::sms::delegate::CodeDelegate;
use crate::sms::SmsSender;
use crate::store::{Store, StoreError};
use crate::web;

/// What signing in rests on, whoever asks: the database, the user
/// directory, the one-time codes and the CSRF key of the forms.
pub(super) struct SignInCore {
    pub(super) store: Store,
    pub(super) directory: Directory,
    pub(super) otp: OtpService,
    pub(super) bot: BotChallenge,
    pub(super) csrf: web::Csrf,
    pub(super) audit: AuditTrail,
    pub(super) methods: Methods,
    /// The server key the account page's cookies are sealed under.
    account_key: Vec<u8>,
}

impl SignInCore {
    /// Opens the database and loads (or creates, on the first start) the
    /// secrets in the data dir.
    pub(super) async fn open(
        config: &Config,
        clock: &Clock,
        metrics: &metrics::Metrics,
    ) -> Result<SignInCore, StartupError> {
        let files = DataDir::new(&config.data_dir);
        let opening = config.clone();
        let store = tokio::task::spawn_blocking(move || Store::open_configured(&opening))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))??;

        let otp_key_path = files.otp_secret();
        let otp_key = secrets::create_private_dir(&files.secrets())
            .and_then(|()| secrets::load_or_create(&otp_key_path))
            .map_err(|source| StartupError::Secret {
                path: otp_key_path,
                source,
            })?;
        if config.unsafe_development_mode {
            tracing::warn!(
                "unsafe_development_mode = true: settings that are unsafe in production are allowed"
            );
        }
        if config.sms.sender == config::SmsSenderKind::Stdout
            && config.server.public_url.scheme() == "https"
        {
            tracing::warn!(
                "sms.sender = \"stdout\" prints sign-in codes to the log: development only"
            );
        }
        for notice in &config.sms.notices {
            tracing::warn!("{notice}");
        }
        let directory =
            Directory::from_config(&config.directory, store.clone())?.with_metrics(metrics.clone());
        let otp = OtpService::new(
            store.clone(),
            directory.clone(),
            SmsSender::from_config(&config.sms, &config.server.public_url),
            OtpPolicy::from_config(config),
            otp_key.as_bytes(),
            clock.clone(),
        )
        .with_delegate(CodeDelegate::from_config(&config.otp)?)
        .with_metrics(metrics.clone());
        let bot = BotChallenge::new(
            &config.bot_challenge,
            otp_key.as_bytes(),
            store.clone(),
            otp.clone(),
        )
        .with_metrics(metrics.clone());
        let audit = AuditTrail::new(
            store.clone(),
            otp_key.as_bytes(),
            &config.events,
            clock.clone(),
        )
        .with_metrics(metrics.clone());
        let totp = TotpService::new(
            store.clone(),
            directory.clone(),
            otp_key.as_bytes(),
            clock.clone(),
            config.otp.max_attempts,
            &config.sms.app_name,
        );
        let passkey = PasskeyService::new(
            &config.server.public_url,
            &config.sms.app_name,
            store.clone(),
            directory.clone(),
            clock.clone(),
        );
        if passkey.is_none() && config.login.offers(config::LoginMethod::Passkey) {
            tracing::warn!(
                "login.methods offers passkeys, but server.public_url's host is not a domain \
                 name (WebAuthn needs one): passkeys are not offered"
            );
        }
        let methods = Methods::new(
            store.clone(),
            clock.clone(),
            config.login.clone(),
            totp,
            passkey,
        );
        let csrf_key_path = files.csrf_secret();
        let csrf_key =
            secrets::load_or_create(&csrf_key_path).map_err(|source| StartupError::Secret {
                path: csrf_key_path,
                source,
            })?;
        let csrf = web::Csrf::new(
            csrf_key.as_bytes(),
            config.server.public_url.scheme() == "https",
        );
        Ok(SignInCore {
            store,
            directory,
            otp,
            bot,
            csrf,
            audit,
            methods,
            account_key: otp_key.as_bytes().to_vec(),
        })
    }
}

impl SignInCore {
    /// The headless API's service, on this core and Hydra's two APIs.
    pub(super) fn headless(
        &self,
        config: &Config,
        hydra: &HydraClient,
        accept: &Acceptor,
    ) -> headless::HeadlessService {
        let hydra_apis = headless::HydraApis::for_config(config, hydra.clone());
        let service = headless::HeadlessService::new(
            config.headless.clone(),
            self.store.clone(),
            self.directory.clone(),
            hydra_apis,
            accept.clone(),
            self.otp.clone(),
            self.bot.clone(),
        )
        .with_audit(self.audit.clone());
        if config.login.offers(config::LoginMethod::Totp) {
            service.with_totp(self.methods.totp.clone())
        } else {
            service
        }
    }

    /// The account page's service (`/account`), a client of Hydra's.
    pub(super) fn account(
        &self,
        config: &Config,
        hydra: &HydraClient,
        clock: &Clock,
    ) -> AccountService {
        let parts = AccountParts {
            hydra: hydra.clone(),
            public: HydraPublic::new(
                config.hydra_public_url(),
                config.server.public_url.clone(),
                config.hydra.ca_file(),
            ),
            issuer: config.server.public_url.clone(),
            hydra_for_browsers: match config.hydra.mode {
                config::HydraMode::Supervised => config.server.public_url.clone(),
                config::HydraMode::External { .. } => config.hydra_public_url(),
            },
            server_key: self.account_key.clone(),
            store: self.store.clone(),
            directory: self.directory.clone(),
            clock: clock.clone(),
            audit: self.audit.clone(),
        };
        AccountService::new(parts, config.login.clone(), config.sms.policy.clone())
    }

    /// The browser sign-in's service.
    pub(super) fn browser(
        &self,
        hydra: &HydraClient,
        accept: &Acceptor,
        challenges: &challenges::ChallengeMemory,
        metrics: &metrics::Metrics,
    ) -> BrowserSignIn {
        BrowserSignIn::new(
            hydra.clone(),
            accept.clone(),
            self.otp.clone(),
            self.methods.clone(),
            self.bot.clone(),
            challenges.clone(),
            metrics.clone(),
        )
        .with_audit(self.audit.clone())
    }
}
