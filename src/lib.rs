//! Gatehouse: a phone-OTP login, consent and logout provider for Ory Hydra.
//!
//! The layers, each importing only from the ones below it (docs/ARCHITECTURE.md):
//! [`web`] (HTTP) → [`signin`] (the sign-in use cases) → [`hydra`], [`store`],
//! [`directory`], [`sms`], [`forward_auth`] (adapters) → [`domain`],
//! [`config`], [`infra`]. [`startup`] wires them into an [`Application`];
//! [`cli`] is the command line around it.

pub mod cli;
pub mod config;
pub mod directory;
pub mod domain;
pub mod forward_auth;
pub mod hydra;
pub mod i18n;
pub mod infra;
pub mod jobs;
pub mod signin;
pub mod sms;
pub mod startup;
pub mod store;
pub mod web;

pub use startup::{Application, StartupError};
pub use web::AppState;
