//! Everything about Ory Hydra: its admin API client (with the errors it
//! answers), its public API and, in supervised mode, the child process
//! gatehouse runs and watches.

pub mod admin;
pub mod config_file;
pub mod error;
pub mod migrations;
pub mod public;
pub mod signing_keys;
pub mod supervisor;
pub mod types;
pub mod version;

pub use admin::HydraClient;
pub use error::HydraError;
pub use supervisor::HydraSupervisor;
pub use types::{
    AcceptConsent, AcceptLogin, ConsentRequest, ConsentSession, Introspection, LoginRequest,
    LogoutRequest, NewClient, OAuth2Client, OidcContext, Redirect, Reject,
};
pub use version::PINNED_VERSION;
