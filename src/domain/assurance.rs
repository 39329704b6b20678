//! How strongly a sign-in proved the person: the `acr` gatehouse puts in
//! id_tokens, from the `amr` values (RFC 8176) of the sign-in, and what a
//! client's `acr_values` asks for.
//!
//! The levels, lowest first:
//! - `otp`: a one-time code (by text message, `sms`, or from an
//!   authenticator app, `otp`): anyone the person can be tricked into
//!   telling the code to can use it.
//! - `phr` (OpenID EAP ACR Values 1.0, "phishing-resistant"): a passkey
//!   that may be synced between devices (amr `swk`).
//! - `phrh` ("phishing-resistant, hardware-protected"): a passkey bound
//!   to its authenticator (amr `hwk`).
//!
//! A sign-in whose proof is unknown (a session from before gatehouse
//! recorded it, a legacy session exchanged) has no level: no `acr` is
//! sent and Hydra puts its default, `0`, in the token.

/// A level, ordered: a higher one satisfies a request for a lower one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Assurance {
    Otp,
    Phr,
    Phrh,
}

impl Assurance {
    /// The `acr` value.
    pub fn acr(self) -> &'static str {
        match self {
            Assurance::Otp => "otp",
            Assurance::Phr => "phr",
            Assurance::Phrh => "phrh",
        }
    }

    /// The level an `acr` value names, if it is one of gatehouse's.
    pub fn parse(acr: &str) -> Option<Assurance> {
        match acr {
            "otp" => Some(Assurance::Otp),
            "phr" => Some(Assurance::Phr),
            "phrh" => Some(Assurance::Phrh),
            _ => None,
        }
    }

    /// The level of a sign-in proved by `amr`: the strongest method in it.
    pub fn of_amr<S: AsRef<str>>(amr: &[S]) -> Option<Assurance> {
        amr.iter()
            .filter_map(|value| match value.as_ref() {
                "hwk" => Some(Assurance::Phrh),
                "swk" => Some(Assurance::Phr),
                "sms" | "otp" => Some(Assurance::Otp),
                _ => None,
            })
            .max()
    }

    /// Is this level phishing-resistant (a passkey)?
    pub fn is_phishing_resistant(self) -> bool {
        self >= Assurance::Phr
    }

    /// The least level a client's `acr_values` (in order of preference)
    /// accepts: the lowest of the values gatehouse knows; None when it
    /// names none of them (any sign-in will do, as without `acr_values`).
    pub fn required_by<S: AsRef<str>>(acr_values: &[S]) -> Option<Assurance> {
        acr_values
            .iter()
            .filter_map(|value| Assurance::parse(value.as_ref()))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_is_the_strongest_method_of_the_sign_in() {
        assert_eq!(Assurance::of_amr(&["sms"]), Some(Assurance::Otp));
        assert_eq!(Assurance::of_amr(&["otp"]), Some(Assurance::Otp));
        assert_eq!(Assurance::of_amr(&["swk", "user"]), Some(Assurance::Phr));
        assert_eq!(Assurance::of_amr(&["hwk", "user"]), Some(Assurance::Phrh));
        assert_eq!(Assurance::of_amr(&["legacy_session"]), None);
        assert_eq!(Assurance::of_amr::<&str>(&[]), None);
    }

    #[test]
    fn acr_values_require_the_lowest_level_gatehouse_knows_of_them() {
        assert_eq!(Assurance::required_by(&["phr"]), Some(Assurance::Phr));
        assert_eq!(
            Assurance::required_by(&["phrh", "phr"]),
            Some(Assurance::Phr)
        );
        assert_eq!(
            Assurance::required_by(&["phr", "otp"]),
            Some(Assurance::Otp),
            "a code is acceptable too"
        );
        assert_eq!(
            Assurance::required_by(&["urn:other", "phr"]),
            Some(Assurance::Phr)
        );
        assert_eq!(Assurance::required_by(&["urn:other"]), None);
        assert_eq!(Assurance::required_by::<&str>(&[]), None);
        assert!(Assurance::Phrh > Assurance::Phr && Assurance::Phr > Assurance::Otp);
        assert!(!Assurance::Otp.is_phishing_resistant());
    }
}
