//! `[sms.policy]`: where codes may be sent, and how many, against SMS
//! pumping (bots asking for codes to numbers whose traffic pays them).

use std::collections::{BTreeSet, HashSet};

use phonenumber::country;
use serde::{Deserialize, Serialize};

use super::{ConfigError, SmsSenderKind};
use crate::domain::phone::parse_region;
use crate::domain::{Line, NumberType};

/// Refuse, or only log and count what would be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    Enforce,
    /// Every rule that would refuse logs and counts, and the code is sent:
    /// for tuning the limits on live traffic first.
    Monitor,
}

/// `allowed_countries`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Countries {
    /// `["*"]`.
    All,
    Only(HashSet<country::Id>),
}

impl Countries {
    pub fn allows(&self, country: Option<country::Id>) -> bool {
        match self {
            Countries::All => true,
            Countries::Only(list) => country.is_some_and(|c| list.contains(&c)),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "SmsPolicyFile", into = "SmsPolicyFile")]
pub struct SmsPolicy {
    pub mode: PolicyMode,
    /// None until set; a gateway sender requires it (see [`SmsPolicy::check_sender`]).
    pub allowed_countries: Option<Countries>,
    pub allowed_number_types: BTreeSet<NumberType>,
    /// Codes sent by this instance in any hour.
    pub max_per_hour: u32,
    pub max_per_country_per_hour: u32,
    pub max_per_country_per_day: u32,
    /// Codes per IPv6 /48 (a site) in an hour; each /64 keeps
    /// `otp.max_per_ip_per_hour`.
    pub max_per_ipv6_48_per_hour: u32,
    /// The adaptive ceiling: unverified codes to a country in a day stay
    /// under max(adaptive_floor, adaptive_ratio x the busiest day of
    /// verified codes to it in the last 14 days).
    pub adaptive_floor: u32,
    pub adaptive_ratio: f64,
}

impl SmsPolicy {
    /// Would a code be texted to a number on `line`: its country and kind
    /// of line are served (or the policy only reports, `mode = "monitor"`)?
    pub fn reaches(&self, line: &Line) -> bool {
        self.mode != PolicyMode::Enforce
            || (self
                .allowed_countries
                .as_ref()
                .is_none_or(|list| list.allows(line.country))
                && self.allowed_number_types.contains(&line.number_type))
    }

    /// The most unverified codes a country may get today, given its busiest
    /// day of verified codes in the last 14.
    pub fn adaptive_ceiling(&self, busiest_verified_day: u32) -> u32 {
        let scaled = (f64::from(busiest_verified_day) * self.adaptive_ratio).floor() as u32;
        scaled.max(self.adaptive_floor)
    }

    /// A gateway costs money per text: it needs a decision on countries.
    pub(super) fn check_sender(
        &self,
        sender: &SmsSenderKind,
        default_region: Option<country::Id>,
    ) -> Result<(), ConfigError> {
        if self.allowed_countries.is_some() || *sender == SmsSenderKind::Stdout {
            return Ok(());
        }
        let example = default_region.map_or("US".to_string(), |r| r.as_ref().to_string());
        Err(ConfigError::key(
            "sms.policy.allowed_countries",
            format!(
                "must be set when codes go to a gateway: list the countries you serve, \
                 e.g. [\"{example}\"], or [\"*\"] for all (each text to a country you do not \
                 serve is money an SMS-pumping bot can make you spend)"
            ),
        ))
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.allowed_number_types.is_empty() {
            return Err(ConfigError::key(
                "sms.policy.allowed_number_types",
                "may not be empty: no number could get a code",
            ));
        }
        if !(0.0..=100.0).contains(&self.adaptive_ratio) {
            return Err(ConfigError::key(
                "sms.policy.adaptive_ratio",
                "must be between 0 and 100",
            ));
        }
        for (key, value) in [
            ("sms.policy.max_per_hour", self.max_per_hour),
            (
                "sms.policy.max_per_country_per_hour",
                self.max_per_country_per_hour,
            ),
            (
                "sms.policy.max_per_country_per_day",
                self.max_per_country_per_day,
            ),
            (
                "sms.policy.max_per_ipv6_48_per_hour",
                self.max_per_ipv6_48_per_hour,
            ),
            ("sms.policy.adaptive_floor", self.adaptive_floor),
        ] {
            if value == 0 {
                return Err(ConfigError::key(key, "must be at least 1"));
            }
        }
        Ok(())
    }
}

impl Default for SmsPolicy {
    fn default() -> Self {
        SmsPolicy {
            mode: PolicyMode::Enforce,
            allowed_countries: None,
            allowed_number_types: [NumberType::Mobile, NumberType::FixedLineOrMobile].into(),
            max_per_hour: 1000,
            max_per_country_per_hour: 200,
            max_per_country_per_day: 1000,
            max_per_ipv6_48_per_hour: 100,
            adaptive_floor: 20,
            adaptive_ratio: 0.2,
        }
    }
}

/// `[sms.policy]` as written in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsPolicyFile {
    mode: PolicyMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    allowed_countries: Option<Vec<String>>,
    allowed_number_types: BTreeSet<NumberType>,
    max_per_hour: u32,
    max_per_country_per_hour: u32,
    max_per_country_per_day: u32,
    max_per_ipv6_48_per_hour: u32,
    adaptive_floor: u32,
    adaptive_ratio: f64,
}

impl TryFrom<SmsPolicyFile> for SmsPolicy {
    type Error = ConfigError;

    fn try_from(file: SmsPolicyFile) -> Result<Self, ConfigError> {
        Ok(SmsPolicy {
            mode: file.mode,
            allowed_countries: file.allowed_countries.map(countries).transpose()?,
            allowed_number_types: file.allowed_number_types,
            max_per_hour: file.max_per_hour,
            max_per_country_per_hour: file.max_per_country_per_hour,
            max_per_country_per_day: file.max_per_country_per_day,
            max_per_ipv6_48_per_hour: file.max_per_ipv6_48_per_hour,
            adaptive_floor: file.adaptive_floor,
            adaptive_ratio: file.adaptive_ratio,
        })
    }
}

fn countries(codes: Vec<String>) -> Result<Countries, ConfigError> {
    const KEY: &str = "sms.policy.allowed_countries";
    if codes.iter().any(|code| code.trim() == "*") {
        if codes.len() > 1 {
            return Err(ConfigError::key(KEY, "\"*\" means all: list nothing else"));
        }
        return Ok(Countries::All);
    }
    if codes.is_empty() {
        return Err(ConfigError::key(
            KEY,
            "may not be empty: no number could get a code",
        ));
    }
    let mut list = HashSet::new();
    for code in &codes {
        let Some(region) = parse_region(code) else {
            return Err(ConfigError::key(
                KEY,
                format!("`{code}` is not a country code such as \"US\" or \"DE\""),
            ));
        };
        list.insert(region);
    }
    Ok(Countries::Only(list))
}

impl From<SmsPolicy> for SmsPolicyFile {
    fn from(policy: SmsPolicy) -> Self {
        let allowed_countries = policy.allowed_countries.map(|countries| match countries {
            Countries::All => vec!["*".to_string()],
            Countries::Only(list) => {
                let mut codes: Vec<String> = list.iter().map(|c| c.as_ref().to_string()).collect();
                codes.sort();
                codes
            }
        });
        SmsPolicyFile {
            mode: policy.mode,
            allowed_countries,
            allowed_number_types: policy.allowed_number_types,
            max_per_hour: policy.max_per_hour,
            max_per_country_per_hour: policy.max_per_country_per_hour,
            max_per_country_per_day: policy.max_per_country_per_day,
            max_per_ipv6_48_per_hour: policy.max_per_ipv6_48_per_hour,
            adaptive_floor: policy.adaptive_floor,
            adaptive_ratio: policy.adaptive_ratio,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{assert_names_key, from_toml};

    const GATEWAY: &str =
        "[sms]\nsender = \"webhook\"\n[sms.webhook]\nurl = \"https://sms.example/send\"\n";

    #[test]
    fn a_gateway_needs_a_decision_on_countries() {
        assert_names_key(GATEWAY, "`sms.policy.allowed_countries`");
        let with_region = format!("{GATEWAY}[users]\ndefault_region = \"de\"\n");
        let error = from_toml(&with_region).unwrap_err().to_string();
        assert!(error.contains("[\"DE\"]"), "{error}");
        let all = from_toml(&format!(
            "{GATEWAY}[sms.policy]\nallowed_countries = [\"*\"]\n"
        ));
        assert_eq!(
            all.unwrap().sms.policy.allowed_countries,
            Some(Countries::All)
        );
        // Development: codes go to the log, nothing is paid for.
        assert!(from_toml("")
            .unwrap()
            .sms
            .policy
            .allowed_countries
            .is_none());
    }

    #[test]
    fn policy_settings_are_checked() {
        for toml in [
            "[sms.policy]\nallowed_countries = [\"Narnia\"]\n",
            "[sms.policy]\nallowed_countries = []\n",
            "[sms.policy]\nallowed_countries = [\"*\", \"US\"]\n",
        ] {
            assert_names_key(toml, "`sms.policy.allowed_countries`");
        }
        let unknown = from_toml("[sms.policy]\nallowed_number_types = [\"satellite\"]\n");
        let error = unknown.unwrap_err().to_string();
        assert!(
            error.contains("`sms.policy.allowed_number_types"),
            "{error}"
        );
        assert_names_key(
            "[sms.policy]\nallowed_number_types = []\n",
            "`sms.policy.allowed_number_types`",
        );
        assert_names_key("[sms.policy]\nmode = \"maybe\"\n", "`sms.policy.mode`");
        assert_names_key(
            "[sms.policy]\nmax_per_country_per_day = 0\n",
            "`sms.policy.max_per_country_per_day`",
        );
        assert_names_key(
            "[sms.policy]\nadaptive_ratio = -1.0\n",
            "`sms.policy.adaptive_ratio`",
        );
    }

    #[test]
    fn the_settings_read_back_as_printed() {
        let toml = "[sms.policy]\nmode = \"monitor\"\nallowed_countries = [\"us\", \"DE\"]\n\
                    allowed_number_types = [\"mobile\"]\n";
        let config = from_toml(toml).unwrap();
        let policy = &config.sms.policy;
        assert_eq!(policy.mode, PolicyMode::Monitor);
        let expected: HashSet<_> = [country::Id::US, country::Id::DE].into();
        assert_eq!(policy.allowed_countries, Some(Countries::Only(expected)));
        let again = from_toml(&config.to_toml()).unwrap();
        assert_eq!(again.sms.policy.allowed_countries, policy.allowed_countries);
        assert_eq!(
            again.sms.policy.allowed_number_types,
            policy.allowed_number_types
        );
    }

    #[test]
    fn the_adaptive_ceiling_follows_verified_traffic() {
        let policy = SmsPolicy::default();
        assert_eq!(policy.adaptive_ceiling(0), 20, "the floor");
        assert_eq!(policy.adaptive_ceiling(99), 20);
        assert_eq!(policy.adaptive_ceiling(500), 100, "0.2 x 500");
    }
}
