//! Subcommands of the `gatehouse` binary that do more than start the server.

pub mod clients;
