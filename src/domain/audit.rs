//! What the audit trail records: the kinds of event, their results and the
//! ways a person proved who they are. Each is a closed list of names, so
//! that a metrics label or a stored row can only hold a known value; a new
//! kind (a passkey added, a TOTP removed) is one more variant here.

use std::fmt;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A code was queued for a number.
    CodeSent,
    /// No code was sent: a limit, the SMS policy, or no such person.
    CodeRefused,
    SigninSucceeded,
    SigninFailed,
    ConsentGranted,
    ConsentDenied,
    Logout,
    /// `gatehouse sessions revoke` (or `users disable`).
    SessionsRevoked,
    UserAdded,
    /// A user's profile changed (`gatehouse users import`).
    UserUpdated,
    UserDisabled,
    UserEnabled,
    ClientCreated,
    ClientDeleted,
    /// A passkey or authenticator app was removed (by the person on their
    /// account page, or by an operator: `gatehouse users methods --remove`).
    MethodRemoved,
}

impl EventKind {
    pub const ALL: &'static [EventKind] = &[
        EventKind::CodeSent,
        EventKind::CodeRefused,
        EventKind::SigninSucceeded,
        EventKind::SigninFailed,
        EventKind::ConsentGranted,
        EventKind::ConsentDenied,
        EventKind::Logout,
        EventKind::SessionsRevoked,
        EventKind::UserAdded,
        EventKind::UserUpdated,
        EventKind::UserDisabled,
        EventKind::UserEnabled,
        EventKind::ClientCreated,
        EventKind::ClientDeleted,
        EventKind::MethodRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::CodeSent => "code_sent",
            EventKind::CodeRefused => "code_refused",
            EventKind::SigninSucceeded => "signin_succeeded",
            EventKind::SigninFailed => "signin_failed",
            EventKind::ConsentGranted => "consent_granted",
            EventKind::ConsentDenied => "consent_denied",
            EventKind::Logout => "logout",
            EventKind::SessionsRevoked => "sessions_revoked",
            EventKind::UserAdded => "user_added",
            EventKind::UserUpdated => "user_updated",
            EventKind::UserDisabled => "user_disabled",
            EventKind::UserEnabled => "user_enabled",
            EventKind::ClientCreated => "client_created",
            EventKind::ClientDeleted => "client_deleted",
            EventKind::MethodRemoved => "method_removed",
        }
    }

    /// The kind named `name` (as [`EventKind::as_str`] writes it).
    pub fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// Every name, for messages that list them.
    pub fn names() -> String {
        let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        names.join(", ")
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    /// The person, a limit or a policy said no (a wrong code, a throttled
    /// number, a denied consent).
    Refused,
    /// Something gatehouse depends on failed (the directory, Hydra, the
    /// database).
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Error => "error",
        }
    }
}

/// How a person proved who they are (or tried to).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignInMethod {
    /// A code by SMS.
    Sms,
    /// A session of the existing system (the token exchange).
    Exchange,
    /// Hydra remembered the browser's earlier sign-in.
    Remembered,
    /// A code from an authenticator app.
    Totp,
    /// A passkey (WebAuthn).
    Passkey,
}

impl SignInMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SignInMethod::Sms => "sms",
            SignInMethod::Exchange => "exchange",
            SignInMethod::Remembered => "remembered",
            SignInMethod::Totp => "totp",
            SignInMethod::Passkey => "passkey",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_from_their_names() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(EventKind::parse("signin"), None);
        assert!(EventKind::names().contains("consent_denied"));
    }
}
