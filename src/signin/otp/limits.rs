//! The limits on sending codes: a person's own (a number's cooldown and
//! hourly cap, a client network's hourly cap) and the names of
//! `[sms.policy]`'s caps (`pumping.rs` builds those).

use std::net::IpAddr;

use crate::config::OtpConfig;
use crate::domain::PhoneNumber;
use crate::store::codes::WindowLimit;

/// Which abuse limit stopped a code from being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// A code was sent to this phone moments ago.
    ResendCooldown,
    PhonePerHour,
    IpPerHour,
    /// Too many wrong codes for this phone, across all flows, this hour.
    FailuresPerHour,
    // `[sms.policy]`'s caps.
    InstancePerHour,
    CountryPerHour,
    CountryPerDay,
    /// Unverified codes to a country today, against its verified traffic.
    CountryAdaptive,
    Ipv6SitePerHour,
    /// The codes a number or a network gets without a bot challenge are
    /// used up: never answered as throttling, but as
    /// [`super::OtpError::ProofRequired`].
    FreeSends,
}

impl Limit {
    /// The metrics label (for the policy's caps, the setting's name).
    pub fn label(self) -> &'static str {
        match self {
            Limit::ResendCooldown => "resend_cooldown",
            Limit::PhonePerHour => "phone_per_hour",
            Limit::IpPerHour => "ip_per_hour",
            Limit::FailuresPerHour => "failures_per_hour",
            Limit::InstancePerHour => "max_per_hour",
            Limit::CountryPerHour => "max_per_country_per_hour",
            Limit::CountryPerDay => "max_per_country_per_day",
            Limit::CountryAdaptive => "adaptive",
            Limit::Ipv6SitePerHour => "max_per_ipv6_48_per_hour",
            Limit::FreeSends => "free_sends",
        }
    }

    /// One of `[sms.policy]`'s caps (as opposed to a person's own limits).
    pub fn is_policy(self) -> bool {
        matches!(
            self,
            Limit::InstancePerHour
                | Limit::CountryPerHour
                | Limit::CountryPerDay
                | Limit::CountryAdaptive
                | Limit::Ipv6SitePerHour
        )
    }
}

/// `[otp]`'s limits on one number and one client network; always enforced.
pub(super) fn per_person(
    policy: &OtpConfig,
    phone: &PhoneNumber,
    client_ip: Option<IpAddr>,
) -> Vec<WindowLimit<Limit>> {
    let limit = |name, kind, key: String, window: i64, max| WindowLimit {
        name,
        kind,
        key,
        window,
        max,
        enforced: true,
    };
    let phone_key = phone.as_str().to_string();
    let mut limits = vec![
        limit(
            Limit::ResendCooldown,
            "phone",
            phone_key.clone(),
            policy.resend_cooldown.as_secs() as i64,
            1,
        ),
        limit(
            Limit::PhonePerHour,
            "phone",
            phone_key,
            3600,
            policy.max_per_phone_per_hour,
        ),
    ];
    if let Some(ip) = client_ip {
        limits.push(limit(
            Limit::IpPerHour,
            "ip",
            network_key(ip),
            3600,
            policy.max_per_ip_per_hour,
        ));
    }
    limits.retain(|limit| limit.window > 0);
    limits
}

/// The key an address is throttled under: IPv4 per address, IPv6 per /64,
/// since one IPv6 host commonly owns a whole /64.
pub(super) fn network_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_throttled_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network_key(a), network_key(b));
        assert_ne!(network_key(a), network_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(network_key(mapped), "192.0.2.7");
    }
}
