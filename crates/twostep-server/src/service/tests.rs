//! The service's rules without HTTP: sign-in (password, second step, enrollment), policy,
//! step-up and the lockout, on an in-memory SQLite database and a clock the test moves.

use crate::config::Config;
use crate::service::auth::{self, LoginInput, LoginOutcome};
use crate::service::codes::{CodeMethod, Proof};
use crate::service::me::{self, Caller};
use crate::service::{Refusal, RequestMeta};
use crate::startup::{Parts, build_state};
use crate::state::AppState;
use std::sync::Arc;
use twostep_core::credential::{password, totp};
use twostep_core::crypto::SecretKey;
use twostep_core::domain::{AccountKind, AddonState, Language, MethodKind, Password};
use twostep_core::flow::{STEP_UP_WINDOW, lockout};
use twostep_core::store::{NewAccount, prelude::*};
use twostep_core::{Clock, ManualClock};
use twostep_store::{DbOptions, SqlStore};

const PASSWORD: &str = "correct horse battery";

/// Organisation `acme` (2SV connected and enabled) with a `technician` profile and the
/// user `maria` in it, on a fresh in-memory database.
struct Rig {
    state: AppState,
    clock: Arc<ManualClock>,
    org_id: i64,
    profile_id: i64,
}

impl Rig {
    async fn new() -> Self {
        // One connection: an in-memory SQLite database lives as long as its connection.
        let options = DbOptions { max_connections: 1, ..DbOptions::default() };
        let store = SqlStore::connect("sqlite::memory:", &options).await.unwrap();
        store.migrate().await.unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        let clock = Arc::new(ManualClock::new(1_800_000_000));
        let now = clock.now();
        let org = store.create_org("acme", "Acme", Language::English).await.unwrap();
        store.set_addon_state(org.id, AddonState::Connected).await.unwrap();
        store.set_two_step_enabled(org.id, true, now, now + 86_400).await.unwrap();
        let profile = store.create_profile(org.id, "technician", "Technician", false).await.unwrap();
        store
            .create_account(NewAccount {
                org_id: org.id,
                username: "maria".into(),
                kind: AccountKind::User,
                profile_id: Some(profile.id),
                password_hash: password::hash(&Password::new(PASSWORD)).unwrap(),
                phone_sealed: None,
                phone_hint: None,
                key_id: None,
                created_at: now,
            })
            .await
            .unwrap();
        let parts = Parts { store, key: SecretKey::generate(), clock: clock.clone() as Arc<dyn Clock>, demo: true };
        let state = build_state(Config::default(), parts).unwrap();
        Self { state, clock, org_id: org.id, profile_id: profile.id }
    }

    fn meta() -> RequestMeta {
        RequestMeta { ip: Some("203.0.113.9".into()), user_agent: None }
    }

    async fn login(&self) -> Result<LoginOutcome, Refusal> {
        let input = LoginInput {
            organization: "acme".into(),
            username: "maria".into(),
            password: Password::new(PASSWORD),
            client: "web".into(),
            device_token: None,
        };
        auth::login(&self.state, input, &Self::meta()).await
    }

    /// A session of maria's, straight after the password (she has no method yet).
    async fn session(&self) -> Caller {
        let LoginOutcome::Authenticated { session } = self.login().await.unwrap() else {
            panic!("expected a session");
        };
        Caller::Session(auth::authenticate(&self.state, &session.token).await.unwrap())
    }

    /// Enrolls an authenticator app for `caller`; returns its secret.
    async fn enroll_totp(&self, caller: &Caller) -> Vec<u8> {
        let started = me::start_totp(&self.state, caller, None, &Self::meta()).await.unwrap();
        let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &started.secret).unwrap();
        let code = totp::code_at(&secret, self.clock.now());
        me::confirm(&self.state, caller, MethodKind::Totp, &code, &Self::meta()).await.unwrap();
        secret
    }

    /// The current code of `secret` at a fresh time step, so it has not been used.
    fn next_code(&self, secret: &[u8]) -> String {
        self.clock.advance(totp::PERIOD);
        totp::code_at(secret, self.clock.now())
    }

    async fn flow(&self) -> String {
        match self.login().await.unwrap() {
            LoginOutcome::TwoStepRequired { flow, .. } => flow.token,
            other => panic!("expected a second step, got {other:?}"),
        }
    }

    async fn verify(&self, flow: &str, code: &str) -> Result<auth::Verified, Refusal> {
        auth::verify(&self.state, flow, Proof::Code(CodeMethod::Totp, code), false, &Self::meta()).await
    }
}

/// A code that is not `code`.
fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}

#[tokio::test]
async fn a_password_alone_opens_a_session_while_two_step_is_optional_and_unset() {
    let rig = Rig::new().await;
    assert!(matches!(rig.login().await.unwrap(), LoginOutcome::Authenticated { .. }));
}

#[tokio::test]
async fn a_wrong_password_is_invalid_credentials() {
    let rig = Rig::new().await;
    let input = LoginInput {
        organization: "acme".into(),
        username: "maria".into(),
        password: Password::new("not her password"),
        client: "web".into(),
        device_token: None,
    };
    assert!(matches!(auth::login(&rig.state, input, &Rig::meta()).await, Err(Refusal::InvalidCredentials)));
}

#[tokio::test]
async fn a_user_with_a_method_passes_the_second_step_once_per_code() {
    let rig = Rig::new().await;
    let secret = rig.enroll_totp(&rig.session().await).await;
    let flow = rig.flow().await;
    let code = rig.next_code(&secret);
    let verified = rig.verify(&flow, &code).await.unwrap();
    let session = auth::authenticate(&rig.state, &verified.session.token).await.unwrap();
    assert!(session.two_step_verified);
    // The flow is spent, and the code cannot be used again in another one.
    assert!(matches!(rig.verify(&flow, &code).await, Err(Refusal::FlowExpired)));
    let again = rig.flow().await;
    assert!(matches!(rig.verify(&again, &code).await, Err(Refusal::InvalidCode { .. })));
}

#[tokio::test]
async fn a_mandatory_profile_sends_a_user_without_a_method_to_enrollment() {
    let rig = Rig::new().await;
    let now = rig.clock.now();
    rig.state.store.set_mandatory(rig.org_id, Some(rig.profile_id), true, now, now).await.unwrap();
    match rig.login().await.unwrap() {
        LoginOutcome::EnrollmentRequired { access_code_required, .. } => assert!(!access_code_required),
        other => panic!("expected enrollment, got {other:?}"),
    }
}

#[tokio::test]
async fn binding_another_factor_needs_a_second_step_within_fifteen_minutes() {
    let rig = Rig::new().await;
    let secret = rig.enroll_totp(&rig.session().await).await;
    let flow = rig.flow().await;
    let verified = rig.verify(&flow, &rig.next_code(&secret)).await.unwrap();
    let caller = Caller::Session(auth::authenticate(&rig.state, &verified.session.token).await.unwrap());
    assert!(me::start_totp(&rig.state, &caller, None, &Rig::meta()).await.is_ok());
    rig.clock.advance(STEP_UP_WINDOW + 1);
    let caller = Caller::Session(auth::authenticate(&rig.state, &verified.session.token).await.unwrap());
    assert!(matches!(me::start_totp(&rig.state, &caller, None, &Rig::meta()).await, Err(Refusal::StepUpRequired)));
}

#[tokio::test]
async fn ten_wrong_codes_lock_the_second_step_for_fifteen_minutes() {
    let rig = Rig::new().await;
    let secret = rig.enroll_totp(&rig.session().await).await;
    let code = rig.next_code(&secret);
    let mut wrong_codes = 0;
    while wrong_codes < lockout::THRESHOLD {
        // A flow allows five wrong codes; then a new sign-in starts another.
        let flow = rig.flow().await;
        for _ in 0..twostep_core::flow::MAX_FLOW_FAILURES {
            match rig.verify(&flow, wrong(&code)).await {
                Err(Refusal::InvalidCode { .. }) => wrong_codes += 1,
                other => panic!("expected a wrong code, got {:?}", other.map(|_| ())),
            }
        }
    }
    // Locked: even the right password is told to come back later.
    match rig.login().await {
        Err(Refusal::TwoStepLocked { retry_after }) => {
            assert!(retry_after > 0 && retry_after <= lockout::BASE_SECONDS)
        }
        other => panic!("expected the lock, got {other:?}"),
    }
    rig.clock.advance(lockout::BASE_SECONDS + 1);
    let flow = rig.flow().await;
    let code = rig.next_code(&secret);
    assert!(rig.verify(&flow, &code).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hash_whose_request_went_away_keeps_its_place_until_it_ends() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    let rig = Rig::new().await;
    let cores = rig.state.hash_permits.available_permits();
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let job = |running: Arc<AtomicUsize>, most: Arc<AtomicUsize>| {
        move || {
            most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(200));
            running.fetch_sub(1, Ordering::SeqCst);
        }
    };
    // As many requests as may hash at once go away 50 ms into their hashes; as many again
    // wait their turn meanwhile.
    let mut requests = Vec::new();
    for i in 0..2 * cores {
        let (state, job) = (rig.state.clone(), job(running.clone(), most.clone()));
        requests.push(tokio::spawn(async move {
            if i < cores {
                let cut_off = tokio::time::timeout(Duration::from_millis(50), crate::service::blocking(&state, job));
                assert!(cut_off.await.is_err(), "the request went away before its hash ended");
            } else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                crate::service::blocking(&state, job).await.unwrap();
            }
        }));
    }
    for request in requests {
        request.await.unwrap();
    }
    assert_eq!(running.load(Ordering::SeqCst), 0);
    assert_eq!(most.load(Ordering::SeqCst), cores, "never more hashes at once than cores");
    assert_eq!(rig.state.hash_permits.available_permits(), cores);
}
