//! Does 2SV apply to this account on this client? (SPEC §3.5–3.6) — the one place where
//! that rule lives; the API, the pages and the reports all ask here.

use crate::domain::{AccountKind, ClientName};
use std::collections::BTreeMap;

/// What the policy needs to know about an account.
#[derive(Debug, Clone, Copy)]
pub struct Subject {
    /// 2SV is enabled for the organisation (add-on connected and switched on).
    pub org_enabled: bool,
    pub kind: AccountKind,
    /// The account's profile is mandatory.
    pub profile_mandatory: bool,
    /// The user has at least one enabled method.
    pub has_method: bool,
}

/// What 2SV means for an account right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// No second step: 2SV is off, the account is a contact, or the user is optional and
    /// has no method.
    None,
    /// The user has a method and must pass a second step.
    Verify,
    /// 2SV is mandatory and the user has no method: enrollment at sign-in.
    Enroll,
}

impl Requirement {
    pub fn applies(self) -> bool {
        !matches!(self, Self::None)
    }
}

/// SPEC §3.5: contacts never; users when 2SV is enabled and (their profile is mandatory
/// or they have at least one method).
pub fn requirement(s: Subject) -> Requirement {
    if !s.org_enabled || s.kind == AccountKind::Contact {
        return Requirement::None;
    }
    match (s.has_method, s.profile_mandatory) {
        (true, _) => Requirement::Verify,
        (false, true) => Requirement::Enroll,
        (false, false) => Requirement::None,
    }
}

/// Whether 2SV is mandatory for the account (what the admin report calls `required`).
pub fn mandatory(s: Subject) -> bool {
    s.org_enabled && s.kind == AccountKind::User && s.profile_mandatory
}

/// What a sign-in with a correct password leads to (the diagram of SPEC §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInStep {
    Authenticated,
    UnsupportedClient,
    TwoStepRequired,
    EnrollmentRequired,
}

pub fn sign_in_step(requirement: Requirement, client_supports_two_step: bool) -> SignInStep {
    match requirement {
        Requirement::None => SignInStep::Authenticated,
        // SPEC §3.6: refusing opted-in users too keeps older apps from being a bypass.
        _ if !client_supports_two_step => SignInStep::UnsupportedClient,
        Requirement::Verify => SignInStep::TwoStepRequired,
        Requirement::Enroll => SignInStep::EnrollmentRequired,
    }
}

/// Which client apps exist and whether each supports 2SV (SPEC §2), with configuration
/// merged over the defaults.
#[derive(Debug, Clone)]
pub struct ClientRegistry(BTreeMap<String, bool>);

impl Default for ClientRegistry {
    fn default() -> Self {
        let defaults =
            [("web", true), ("api", true), ("technician-app", false), ("next-app", false), ("direct", false)];
        Self(defaults.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }
}

impl ClientRegistry {
    pub fn with_overrides(overrides: impl IntoIterator<Item = (ClientName, bool)>) -> Self {
        let mut registry = Self::default();
        for (name, two_step) in overrides {
            registry.0.insert(name.as_str().to_owned(), two_step);
        }
        registry
    }

    /// `None` for a client nobody configured (answered with 400 `unknown_client`).
    pub fn supports_two_step(&self, client: &str) -> Option<bool> {
        self.0.get(client).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, bool)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(org_enabled: bool, profile_mandatory: bool, has_method: bool) -> Subject {
        Subject { org_enabled, kind: AccountKind::User, profile_mandatory, has_method }
    }

    #[test]
    fn contacts_are_never_asked_for_a_second_step() {
        let contact = Subject { kind: AccountKind::Contact, ..user(true, true, true) };
        assert_eq!(requirement(contact), Requirement::None);
        assert!(!mandatory(contact));
    }

    #[test]
    fn nothing_applies_while_2sv_is_off_even_with_methods() {
        assert_eq!(requirement(user(false, true, true)), Requirement::None);
        assert!(!mandatory(user(false, true, false)));
    }

    #[test]
    fn optional_users_are_asked_only_once_they_have_a_method() {
        assert_eq!(requirement(user(true, false, false)), Requirement::None);
        assert_eq!(requirement(user(true, false, true)), Requirement::Verify);
    }

    #[test]
    fn mandatory_users_without_a_method_must_enroll() {
        assert_eq!(requirement(user(true, true, false)), Requirement::Enroll);
        assert_eq!(requirement(user(true, true, true)), Requirement::Verify);
        assert!(mandatory(user(true, true, true)));
    }

    #[test]
    fn unsupported_clients_are_refused_only_when_2sv_applies() {
        assert_eq!(sign_in_step(Requirement::None, false), SignInStep::Authenticated);
        assert_eq!(sign_in_step(Requirement::Verify, false), SignInStep::UnsupportedClient);
        assert_eq!(sign_in_step(Requirement::Enroll, false), SignInStep::UnsupportedClient);
        assert_eq!(sign_in_step(Requirement::Verify, true), SignInStep::TwoStepRequired);
        assert_eq!(sign_in_step(Requirement::Enroll, true), SignInStep::EnrollmentRequired);
    }

    #[test]
    fn the_client_defaults_follow_the_spec_and_config_overrides_them() {
        let r = ClientRegistry::default();
        assert_eq!(r.supports_two_step("web"), Some(true));
        assert_eq!(r.supports_two_step("api"), Some(true));
        assert_eq!(r.supports_two_step("technician-app"), Some(false));
        assert_eq!(r.supports_two_step("next-app"), Some(false));
        assert_eq!(r.supports_two_step("direct"), Some(false));
        assert_eq!(r.supports_two_step("fax"), None);
        let r = ClientRegistry::with_overrides([
            (ClientName::parse("technician-app").unwrap(), true),
            (ClientName::parse("kiosk").unwrap(), false),
        ]);
        assert_eq!(r.supports_two_step("technician-app"), Some(true));
        assert_eq!(r.supports_two_step("kiosk"), Some(false));
    }
}
