//! Subcommands that manage data rather than serve: `users`, `clients`.

pub mod users;
