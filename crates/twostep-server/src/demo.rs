//! `twostep serve --demo`: a demo organisation to try every journey within a minute.

use crate::state::AppState;
use rand::Rng;
use twostep_core::credential::password;
use twostep_core::domain::{AccountKind, AddonState, Language, Password};
use twostep_core::store::NewAccount;

/// Someone the demo created, with the password shown once.
pub struct DemoAccount {
    pub username: &'static str,
    pub profile: &'static str,
    pub password: String,
}

/// A generated password with 99 bits from the OS CSPRNG (SPEC §11.9 asks for ≥ 80): five
/// groups of four characters from 31 without look-alikes (no 0/o, 1/l/i), e.g.
/// `k7mq-x3tp-9fhw-r2nd-c8vs`.
pub fn random_password() -> String {
    const ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let groups: Vec<String> =
        (0..5).map(|_| (0..4).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect()).collect();
    groups.join("-")
}

/// Seeds organisation `demo` if the database does not have it yet; `None` if it does.
pub async fn seed(state: &AppState) -> anyhow::Result<Option<Vec<DemoAccount>>> {
    let store = &state.store;
    if store.org_by_slug("demo").await?.is_some() {
        return Ok(None);
    }
    let org = store.create_org("demo", "Demo Maintenance Co.", Language::English).await?;
    store.set_addon_state(org.id, AddonState::Available).await?;
    let admin = store.create_profile(org.id, "administrator", "Administrator", true).await?;
    let technician = store.create_profile(org.id, "technician", "Technician", false).await?;
    let manager = store.create_profile(org.id, "manager", "Manager", false).await?;
    let people = [
        ("admin", "administrator", Some(admin.id)),
        ("ana", "technician", Some(technician.id)),
        ("bruno", "technician", Some(technician.id)),
        ("carla", "manager", Some(manager.id)),
        ("contact", "contact", None),
    ];
    let mut created = Vec::new();
    for (username, profile, profile_id) in people {
        let password = random_password();
        let pw = Password::new(password.clone());
        let hash = tokio::task::spawn_blocking(move || password::hash(&pw)).await??;
        store
            .create_account(NewAccount {
                org_id: org.id,
                username: username.into(),
                kind: if profile_id.is_some() { AccountKind::User } else { AccountKind::Contact },
                profile_id,
                password_hash: hash,
                phone_sealed: None,
                phone_hint: None,
                key_id: None,
                created_at: state.now(),
            })
            .await?;
        created.push(DemoAccount { username, profile, password });
    }
    Ok(Some(created))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_carry_at_least_80_bits() {
        let p = random_password();
        let symbols = p.chars().filter(|c| *c != '-').count() as f64;
        assert!(symbols * 31f64.log2() >= 80.0, "{p}");
        assert_ne!(p, random_password());
    }
}
