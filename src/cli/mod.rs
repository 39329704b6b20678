//! The command line: `serve` and the subcommands that manage data rather
//! than serve (`users`, `clients`, `sessions`, `backup`, `doctor`), and
//! `--version`.

pub mod backup;
pub mod clients;
pub mod doctor;
pub mod serve;
pub mod sessions;
pub mod users;
pub mod version;
