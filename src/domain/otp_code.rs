//! One-time codes as typed by people: exactly N digits, spaces and dashes allowed.

use std::fmt;

/// A code of exactly the configured number of digits.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtpCodeError {
    #[error("Please enter the code from the text message.")]
    Empty,
    #[error("The code is made of digits only.")]
    NotDigits,
    #[error("The code has {expected} digits.")]
    WrongLength { expected: usize },
}

impl OtpCode {
    pub fn parse(input: &str, length: usize) -> Result<OtpCode, OtpCodeError> {
        let mut digits = String::with_capacity(length);
        for c in input.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '\t' => {}
                _ => return Err(OtpCodeError::NotDigits),
            }
            if digits.len() > length {
                return Err(OtpCodeError::WrongLength { expected: length });
            }
        }
        match digits.len() {
            0 => Err(OtpCodeError::Empty),
            n if n == length => Ok(OtpCode(digits)),
            _ => Err(OtpCodeError::WrongLength { expected: length }),
        }
    }

    /// Wraps a freshly generated code (already exactly `length` digits).
    pub(crate) fn from_generated(digits: String) -> OtpCode {
        OtpCode(digits)
    }

    pub fn digits(&self) -> &str {
        &self.0
    }
}

/// Codes are secrets: `{:?}` never shows one.
impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn people_typing_is_tolerated() {
        for typed in ["123456", " 123 456 ", "123-456", "1 2 3 4 5 6"] {
            assert_eq!(OtpCode::parse(typed, 6).unwrap().digits(), "123456");
        }
    }

    #[test]
    fn wrong_codes_are_refused() {
        assert_eq!(OtpCode::parse("", 6), Err(OtpCodeError::Empty));
        assert_eq!(OtpCode::parse(" - ", 6), Err(OtpCodeError::Empty));
        assert_eq!(
            OtpCode::parse("12345", 6),
            Err(OtpCodeError::WrongLength { expected: 6 })
        );
        assert_eq!(
            OtpCode::parse("1234567", 6),
            Err(OtpCodeError::WrongLength { expected: 6 })
        );
        assert_eq!(OtpCode::parse("12345a", 6), Err(OtpCodeError::NotDigits));
        // Non-ASCII digits are not digits here.
        assert_eq!(OtpCode::parse("١٢٣٤٥٦", 6), Err(OtpCodeError::NotDigits));
    }

    #[test]
    fn debug_hides_the_code() {
        let code = OtpCode::parse("123456", 6).unwrap();
        assert!(!format!("{code:?}").contains("123456"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parse_never_panics(input in any::<String>(), length in 0usize..12) {
            if let Ok(code) = OtpCode::parse(&input, length) {
                prop_assert_eq!(code.digits().len(), length);
                prop_assert!(code.digits().bytes().all(|b| b.is_ascii_digit()));
            }
        }
    }
}
