//! Against SMS pumping (`[sms.policy]`): which numbers may get a code at
//! all (their country and line type), and the caps beyond one number and
//! one address (the whole instance, a country per hour and per day, its
//! adaptive ceiling, an IPv6 /48). In monitor mode a rule that would refuse
//! is only logged and counted, and the code is sent.

use std::net::IpAddr;

use phonenumber::country;

use super::{Limit, OtpError};
use crate::config::{PolicyMode, SmsPolicy};
use crate::domain::{Line, PhoneNumber};
use crate::infra::metrics::Metrics;
use crate::store::codes::{self, WindowLimit};
use crate::store::{Db, StoreError};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;
/// The adaptive ceiling looks at this many days of verified codes.
const ADAPTIVE_DAYS: i64 = 14;

/// The key a number's country is counted under: "US", or "none" for
/// numbers of no single country (+800 ...).
pub(super) fn country_key(country: Option<country::Id>) -> String {
    country.map_or_else(|| "none".to_string(), |c| c.as_ref().to_string())
}

#[derive(Debug, Clone)]
pub(super) struct Pumping {
    policy: SmsPolicy,
}

impl Pumping {
    pub fn new(policy: SmsPolicy) -> Pumping {
        Pumping { policy }
    }

    fn enforced(&self) -> bool {
        self.policy.mode == PolicyMode::Enforce
    }

    /// The number itself: a country that is served, a line that can read a
    /// text and is not paid for by the call. Unset countries (development,
    /// stdout) allow all.
    pub fn check_number(
        &self,
        phone: &PhoneNumber,
        line: &Line,
        metrics: &Metrics,
    ) -> Result<(), OtpError> {
        let countries = self.policy.allowed_countries.as_ref();
        let refusal = if !countries.is_none_or(|list| list.allows(line.country)) {
            Some(("country", OtpError::CountryNotServed))
        } else if !self.policy.allowed_number_types.contains(&line.number_type) {
            Some(("number_type", OtpError::NumberTypeNotServed))
        } else {
            None
        };
        let Some((rule, error)) = refusal else {
            return Ok(());
        };
        self.report(rule, phone, metrics);
        if self.enforced() {
            Err(error)
        } else {
            Ok(())
        }
    }

    /// Logs and counts a rule that refused, or in monitor mode would have.
    pub fn report(&self, rule: &'static str, phone: &PhoneNumber, metrics: &Metrics) {
        let enforced = self.enforced();
        metrics.sms_refused(rule, enforced);
        let line = phone.line();
        let country = country_key(line.country);
        let number_type = line.number_type.name();
        if enforced {
            tracing::warn!(rule, phone = %phone.masked(), %country, number_type, "SMS policy refused a code");
        } else {
            tracing::warn!(rule, phone = %phone.masked(), %country, number_type, "SMS policy would refuse a code (monitor mode): sent anyway");
        }
    }

    /// The caps that do not depend on stored history.
    pub fn caps(&self, line: &Line, client_ip: Option<IpAddr>) -> Vec<WindowLimit<Limit>> {
        let country = country_key(line.country);
        let enforced = self.enforced();
        let cap = |name, kind, key: &str, window, max| WindowLimit {
            name,
            kind,
            key: key.to_string(),
            window,
            max,
            enforced,
        };
        let policy = &self.policy;
        let mut caps = vec![
            cap(
                Limit::InstancePerHour,
                "all",
                "*",
                HOUR,
                policy.max_per_hour,
            ),
            cap(
                Limit::CountryPerHour,
                "country",
                &country,
                HOUR,
                policy.max_per_country_per_hour,
            ),
            cap(
                Limit::CountryPerDay,
                "country",
                &country,
                DAY,
                policy.max_per_country_per_day,
            ),
        ];
        if let Some(site) = client_ip.and_then(ipv6_site) {
            caps.push(cap(
                Limit::Ipv6SitePerHour,
                "ip48",
                &site,
                HOUR,
                policy.max_per_ipv6_48_per_hour,
            ));
        }
        caps
    }

    /// The adaptive ceiling as a limit on codes sent to the country since
    /// midnight (UTC): unverified ones (sent less verified) stay under
    /// `SmsPolicy::adaptive_ceiling` of its busiest verified day in 14.
    /// Runs on the store's thread, in the trip that issues the code.
    pub fn adaptive_cap(
        &self,
        db: &Db,
        line: &Line,
        now: i64,
    ) -> Result<WindowLimit<Limit>, StoreError> {
        let country = country_key(line.country);
        let today = now.div_euclid(DAY);
        let (busiest, verified_today) =
            codes::verified_days(db, &country, today - ADAPTIVE_DAYS + 1, today)?;
        let ceiling = self.policy.adaptive_ceiling(busiest);
        Ok(WindowLimit {
            name: Limit::CountryAdaptive,
            kind: "country",
            key: country,
            // Events since midnight: `at > now - window`.
            window: now - today * DAY + 1,
            max: ceiling.saturating_add(verified_today),
            enforced: self.enforced(),
        })
    }
}

/// The /48 an IPv6 address is in (a site: 65,536 /64s); None for IPv4.
fn ipv6_site(ip: IpAddr) -> Option<String> {
    let IpAddr::V6(v6) = ip else {
        return None;
    };
    if v6.to_ipv4_mapped().is_some() {
        return None;
    }
    let s = v6.segments();
    Some(format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_sites_are_48s_and_ipv4_has_none() {
        let site = |ip: &str| ipv6_site(ip.parse().unwrap());
        assert_eq!(site("2001:db8:1:2::1"), site("2001:db8:1:ffff::9"));
        assert_ne!(site("2001:db8:1::1"), site("2001:db8:2::1"));
        assert_eq!(site("2001:db8:1::1").unwrap(), "2001:db8:1::/48");
        assert_eq!(site("192.0.2.1"), None);
        assert_eq!(site("::ffff:192.0.2.1"), None);
    }
}
