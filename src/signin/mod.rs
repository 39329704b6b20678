//! The sign-in use cases, free of HTTP and SQL: the browser flow, the
//! headless API for apps, the one-time-code policy, the accept calls at
//! Hydra, the claims that go into tokens and the legacy-session exchange.

pub mod accept;
pub mod account;
pub mod audit;
pub mod bot_challenge;
pub mod browser;
pub mod challenges;
pub mod claims;
pub mod error;
pub mod headless;
pub mod legacy_session;
pub mod login_requests;
pub mod methods;
pub mod otp;
