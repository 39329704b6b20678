//! What every request handler shares: the services, built once at start-up.

use std::ops::Deref;
use std::sync::Arc;

use crate::config::Config;
use crate::directory::Directory;
use crate::forward_auth::ForwardAuth;
use crate::hydra::HydraClient;
use crate::infra::metrics::Metrics;
use crate::signin::accept::Acceptor;
use crate::signin::account::AccountService;
use crate::signin::audit::AuditTrail;
use crate::signin::bot_challenge::BotChallenge;
use crate::signin::browser::BrowserSignIn;
use crate::signin::challenges::ChallengeMemory;
use crate::signin::headless::HeadlessService;
use crate::signin::methods::Methods;
use crate::signin::otp::receipts::DeliveryReceipts;
use crate::signin::otp::OtpService;
use crate::store::Store;

use super::{Csrf, HydraProxy, Ui};

/// Shared by every request handler: one pointer to the services, so that
/// the clone axum makes for each extractor and middleware is one atomic
/// increment. (Cloning the services themselves, a few dozen reference
/// counts, took most of a cached forward-auth check's CPU: gatehouse-bench
/// `fa-cached`, profiled with perf.)
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> AppState {
        AppState(Arc::new(services))
    }
}

impl Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services, built once at start-up.
pub struct Services {
    pub config: Arc<Config>,
    pub store: Store,
    pub directory: Directory,
    pub hydra: HydraClient,
    pub proxy: HydraProxy,
    pub otp: OtpService,
    /// What SMS providers say became of the texts they took.
    pub receipts: DeliveryReceipts,
    pub bot_challenge: BotChallenge,
    pub csrf: Csrf,
    pub challenges: ChallengeMemory,
    pub forward_auth: ForwardAuth,
    pub metrics: Metrics,
    pub headless: HeadlessService,
    pub browser: BrowserSignIn,
    pub accept: Acceptor,
    /// Where consent and logout record their events.
    pub audit: AuditTrail,
    /// Authenticator apps, and the offer to set one up after a sign-in.
    pub methods: Methods,
    /// The account page's sign-in and the person's changes there.
    pub account: AccountService,
    /// The languages and the branding of the pages.
    pub ui: Ui,
}
