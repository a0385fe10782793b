//! The sign-in flow: what a flow token may do and how wrong codes wear it out (SPEC §4).

use crate::Timestamp;

/// A flow lives at most ten minutes.
pub const FLOW_TTL: i64 = 10 * 60;
/// A flow dies after this many wrong codes.
pub const MAX_FLOW_FAILURES: i64 = 5;
/// An unconfirmed TOTP secret lives ten minutes (SPEC §5).
pub const PENDING_TTL: i64 = 10 * 60;
/// Disabling a method, changing the phone or regenerating recovery codes needs a
/// second step within this many seconds (SPEC §5).
pub const STEP_UP_WINDOW: i64 = 15 * 60;

/// The two kinds of flow, each granting only its own next steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowKind {
    /// `two_step_required`: may send an SMS code and verify a code.
    TwoStep,
    /// `two_step_enrollment_required`: may call only the enrollment endpoints.
    Enrollment,
}

impl FlowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TwoStep => "two_step",
            Self::Enrollment => "enrollment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "two_step" => Some(Self::TwoStep),
            "enrollment" => Some(Self::Enrollment),
            _ => None,
        }
    }
}

/// What a wrong code leaves of a flow, given its failure count after this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    Remaining(i64),
    Exhausted,
}

pub fn after_failure(failures: i64) -> AfterFailure {
    let remaining = MAX_FLOW_FAILURES - failures;
    if remaining > 0 { AfterFailure::Remaining(remaining) } else { AfterFailure::Exhausted }
}

/// Whether a session's last second step is recent enough for a sensitive change.
pub fn stepped_up(last_two_step_at: Option<Timestamp>, now: Timestamp) -> bool {
    last_two_step_at.is_some_and(|at| now - at <= STEP_UP_WINDOW && at <= now)
}

/// The per-account lockout (SPEC §4; NIST SP 800-63B 5.2.2): 10 consecutive wrong codes
/// lock the second step for 15 minutes, doubling with each further lock.
pub mod lockout {
    use crate::Timestamp;

    pub const THRESHOLD: i64 = 10;
    pub const BASE_SECONDS: i64 = 15 * 60;
    /// Doubling stops here (15 min × 2^10 ≈ 10 days).
    const MAX_DOUBLINGS: i64 = 10;

    /// How long the `lock_number`-th lock (1-based) lasts.
    pub fn duration(lock_number: i64) -> i64 {
        BASE_SECONDS << (lock_number.clamp(1, MAX_DOUBLINGS + 1) - 1)
    }

    /// Seconds left on a lock, if one holds at `now`.
    pub fn remaining(locked_until: Option<Timestamp>, now: Timestamp) -> Option<i64> {
        locked_until.filter(|until| *until > now).map(|until| until - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_allows_five_wrong_codes() {
        assert_eq!(after_failure(1), AfterFailure::Remaining(4));
        assert_eq!(after_failure(4), AfterFailure::Remaining(1));
        assert_eq!(after_failure(5), AfterFailure::Exhausted);
        assert_eq!(after_failure(6), AfterFailure::Exhausted);
    }

    #[test]
    fn step_up_lasts_fifteen_minutes() {
        assert!(stepped_up(Some(1000), 1000 + 15 * 60));
        assert!(!stepped_up(Some(1000), 1000 + 15 * 60 + 1));
        assert!(!stepped_up(None, 1000));
    }

    #[test]
    fn locks_double_from_fifteen_minutes() {
        assert_eq!(lockout::duration(1), 900);
        assert_eq!(lockout::duration(2), 1800);
        assert_eq!(lockout::duration(3), 3600);
        assert_eq!(lockout::duration(100), 900 << 10);
        assert_eq!(lockout::remaining(Some(100), 40), Some(60));
        assert_eq!(lockout::remaining(Some(100), 100), None);
        assert_eq!(lockout::remaining(None, 100), None);
    }
}
