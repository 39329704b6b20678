//! Types that can only hold valid values: parse once at the edge, trust after.

pub mod assurance;
pub mod audit;
pub mod flow;
pub mod otp_code;
pub mod phone;
pub mod request_path;

pub use assurance::Assurance;
pub use audit::{EventKind, Outcome, SignInMethod};
pub use flow::FlowId;
pub use otp_code::{OtpCode, OtpCodeError};
pub use phone::{Line, NumberType, PhoneNumber, PhoneNumberError};
pub use request_path::{RequestPath, RequestPathError};
