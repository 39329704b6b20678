//! Everything about Ory Hydra: its admin API client and, in supervised mode,
//! the child process gatehouse runs and watches.

pub mod client;
pub mod config_file;
pub mod supervisor;

pub use client::HydraClient;
pub use supervisor::HydraSupervisor;
