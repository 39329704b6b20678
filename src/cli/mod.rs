//! Subcommands that manage data rather than serve: `users`, `clients`.

pub mod clients;
pub mod sessions;
pub mod users;
