//! Logging set-up: one subscriber for gatehouse and the forwarded Hydra lines.

use std::ffi::OsStr;
use std::io::IsTerminal;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber; logs go to stderr (journald picks them
/// up). Text is coloured only for a person at a terminal: never into the
/// journal, a pipe or a file, and never with `NO_COLOR` set.
pub fn init(log: &LogConfig) {
    let no_color = std::env::var_os("NO_COLOR");
    let ansi = wants_colour(std::io::stderr().is_terminal(), no_color.as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(log.level.to_env_filter())
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match log.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Colour for a terminal, unless `NO_COLOR` is set to anything but ""
/// (no-color.org).
fn wants_colour(terminal: bool, no_color: Option<&OsStr>) -> bool {
    terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_at_a_terminal_without_no_color() {
        assert!(wants_colour(true, None));
        assert!(wants_colour(true, Some(OsStr::new(""))));
        assert!(!wants_colour(true, Some(OsStr::new("1"))));
        assert!(!wants_colour(false, None));
    }
}
