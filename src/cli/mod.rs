//! The command line: `serve` and the subcommands that manage data rather
//! than serve (`users`, `clients`, `sessions`, `audit`, `backup`, `doctor`),
//! and `--version`.

pub mod audit;
pub mod backup;
pub mod clients;
pub mod doctor;
pub mod keys;
mod methods;
pub mod serve;
pub mod sessions;
pub mod store;
pub mod users;
pub mod version;
