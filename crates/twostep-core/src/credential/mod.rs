//! Credentials: passwords, TOTP, SMS codes and recovery codes. Time is a parameter.

pub mod password;
pub mod recovery;
pub mod sms_code;
pub mod strength;
pub mod totp;
