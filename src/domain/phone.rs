//! Phone numbers in E.164 form (`+15550001001`), parsed with `phonenumber`.

use std::fmt;

use phonenumber::country;

/// Longest input worth handing to the parser; real numbers are far shorter.
const MAX_INPUT_CHARS: usize = 64;

/// A valid phone number, normalised to E.164.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

/// Why a typed phone number was refused, in words for the person typing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    #[error("Please enter a phone number.")]
    Empty,
    #[error("That does not look like a phone number.")]
    NotANumber,
    #[error("Please include the country code, starting with + (for example +44 7911 123456).")]
    MissingCountryCode,
    #[error("That number is not valid for its country. Please check it.")]
    Invalid,
}

impl PhoneNumber {
    /// Parses what a person typed. Numbers without `+` are read as numbers of
    /// `default_region` when one is configured.
    pub fn parse(
        input: &str,
        default_region: Option<country::Id>,
    ) -> Result<PhoneNumber, PhoneNumberError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        if input.chars().count() > MAX_INPUT_CHARS
            || !input
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
            || !input.chars().any(|c| c.is_ascii_digit())
        {
            return Err(PhoneNumberError::NotANumber);
        }
        // "00" is the international prefix almost everywhere: read it as "+".
        let input = match input.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => input.to_string(),
        };
        let international = input.starts_with('+');
        if !international && default_region.is_none() {
            return Err(PhoneNumberError::MissingCountryCode);
        }
        let region = if international { None } else { default_region };
        let number =
            phonenumber::parse(region, &input).map_err(|_| PhoneNumberError::NotANumber)?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneNumberError::Invalid);
        }
        Ok(PhoneNumber(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// Rebuilds a number that was stored in E.164 by [`PhoneNumber::parse`].
    pub fn from_trusted_e164(e164: String) -> PhoneNumber {
        PhoneNumber(e164)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+1555•••1001`: enough for a person to recognise, for logs and pages.
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.chars().collect();
        if chars.len() <= 6 {
            return self.0.clone();
        }
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("{head}\u{2022}\u{2022}\u{2022}{tail}")
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What kind of line a number is, from the phonenumber metadata (names as
/// written in `sms.policy.allowed_number_types`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum NumberType {
    Mobile,
    FixedLine,
    /// Where the number alone cannot tell (the US and Canada, among others).
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    SharedCost,
    PersonalNumber,
    Voip,
    Pager,
    Uan,
    Voicemail,
    /// Short codes, emergency and carrier numbers, and what fits no pattern.
    Unknown,
}

impl NumberType {
    pub fn name(self) -> &'static str {
        match self {
            NumberType::Mobile => "mobile",
            NumberType::FixedLine => "fixed_line",
            NumberType::FixedLineOrMobile => "fixed_line_or_mobile",
            NumberType::TollFree => "toll_free",
            NumberType::PremiumRate => "premium_rate",
            NumberType::SharedCost => "shared_cost",
            NumberType::PersonalNumber => "personal_number",
            NumberType::Voip => "voip",
            NumberType::Pager => "pager",
            NumberType::Uan => "uan",
            NumberType::Voicemail => "voicemail",
            NumberType::Unknown => "unknown",
        }
    }

    fn of(kind: phonenumber::Type) -> NumberType {
        use phonenumber::Type as T;
        match kind {
            T::Mobile => NumberType::Mobile,
            T::FixedLine => NumberType::FixedLine,
            T::FixedLineOrMobile => NumberType::FixedLineOrMobile,
            T::TollFree => NumberType::TollFree,
            T::PremiumRate => NumberType::PremiumRate,
            T::SharedCost => NumberType::SharedCost,
            T::PersonalNumber => NumberType::PersonalNumber,
            T::Voip => NumberType::Voip,
            T::Pager => NumberType::Pager,
            T::Uan => NumberType::Uan,
            T::Voicemail => NumberType::Voicemail,
            _ => NumberType::Unknown,
        }
    }
}

/// Where a number is and what kind of line it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    /// None for numbers of no single country (+800, +882 ...).
    pub country: Option<country::Id>,
    pub number_type: NumberType,
}

impl PhoneNumber {
    /// Its country and line type, from the phonenumber metadata.
    pub fn line(&self) -> Line {
        match phonenumber::parse(None, &self.0) {
            Ok(number) => Line {
                country: number.country().id(),
                number_type: NumberType::of(number.number_type(&phonenumber::metadata::DATABASE)),
            },
            Err(_) => Line {
                country: None,
                number_type: NumberType::Unknown,
            },
        }
    }
}

/// A region code such as "US" or "de" (case-insensitive).
pub fn parse_region(region: &str) -> Option<country::Id> {
    region.trim().to_ascii_uppercase().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_a_country_and_a_type() {
        let line = |n: &str| PhoneNumber::parse(n, None).unwrap().line();
        let us = Some(country::Id::US);
        for (number, country, kind) in [
            ("+12015550123", us, NumberType::FixedLineOrMobile),
            ("+19005550123", us, NumberType::PremiumRate),
            ("+18005550123", us, NumberType::TollFree),
            ("+4915112345678", Some(country::Id::DE), NumberType::Mobile),
            (
                "+442071838750",
                Some(country::Id::GB),
                NumberType::FixedLine,
            ),
        ] {
            assert_eq!(
                line(number),
                Line {
                    country,
                    number_type: kind
                },
                "{number}"
            );
        }
    }
    use proptest::prelude::*;

    fn us() -> Option<country::Id> {
        parse_region("us")
    }

    #[test]
    fn international_numbers_become_e164() {
        for typed in [
            "+1 201-555-0123",
            "+1 (201) 555 0123",
            "+12015550123",
            "0012015550123",
        ] {
            assert_eq!(
                PhoneNumber::parse(typed, None).unwrap().as_str(),
                "+12015550123",
                "{typed}"
            );
        }
        assert_eq!(
            PhoneNumber::parse("+44 7911 123456", None)
                .unwrap()
                .as_str(),
            "+447911123456"
        );
    }

    #[test]
    fn national_numbers_use_the_default_region() {
        assert_eq!(
            PhoneNumber::parse("(201) 555-0123", us()).unwrap().as_str(),
            "+12015550123"
        );
        assert_eq!(
            PhoneNumber::parse("201 555 0123", None),
            Err(PhoneNumberError::MissingCountryCode)
        );
    }

    #[test]
    fn garbage_is_refused_in_plain_words() {
        assert_eq!(PhoneNumber::parse("  ", us()), Err(PhoneNumberError::Empty));
        assert_eq!(
            PhoneNumber::parse("call me", us()),
            Err(PhoneNumberError::NotANumber)
        );
        assert_eq!(
            PhoneNumber::parse("+1 555", None),
            Err(PhoneNumberError::Invalid)
        );
        assert_eq!(
            PhoneNumber::parse(&"1".repeat(200), us()),
            Err(PhoneNumberError::NotANumber)
        );
    }

    #[test]
    fn masked_hides_the_middle() {
        let phone = PhoneNumber::parse("+12015550123", None).unwrap();
        assert_eq!(phone.masked(), "+120\u{2022}\u{2022}\u{2022}23");
    }

    #[test]
    fn regions_are_case_insensitive() {
        assert_eq!(parse_region("de"), parse_region("DE"));
        assert!(parse_region("DE").is_some());
        assert!(parse_region("Germany").is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parse_never_panics(input in any::<String>()) {
            let _ = PhoneNumber::parse(&input, us());
            let _ = PhoneNumber::parse(&input, None);
        }

        #[test]
        fn phone_like_input_never_panics(input in "[+0-9 ()-]{0,40}") {
            if let Ok(phone) = PhoneNumber::parse(&input, us()) {
                prop_assert!(phone.as_str().starts_with('+'));
                // Parsing the E.164 form again is a fixed point.
                prop_assert_eq!(PhoneNumber::parse(phone.as_str(), None), Ok(phone.clone()));
            }
        }
    }
}
