//! One suite, run on SQLite and (with `TWOSTEP_TEST_POSTGRES_URL`) on PostgreSQL.

use std::sync::Arc;
use twostep_core::domain::{AccountKind, AddonState, Language, MethodKind};
use twostep_core::flow::{FlowKind, lockout};
use twostep_core::store::*;
use twostep_store::testing::{Backend, TestDb};
use twostep_store::{DbOptions, SqlStore};

twostep_store::on_both_databases!(sqlite, postgres;
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)] |backend, test| run(backend, test).await;
    organisations_have_unique_slugs,
    usernames_are_unique_per_organisation_without_case,
    profiles_created_while_fully_mandatory_are_mandatory,
    sessions_are_found_by_hash_with_their_owner,
    many_lookups_at_once_each_find_their_own_session_and_none_outlives_its_end,
    making_a_profile_mandatory_revokes_unverified_sessions_only,
    concurrent_totp_claims_of_one_step_succeed_once,
    concurrent_recovery_claims_of_one_code_succeed_once,
    a_flow_counts_at_most_its_failures_and_is_consumed_once,
    a_flow_is_read_with_its_account_while_it_lives,
    enabling_a_pending_method_issues_recovery_codes_once,
    parallel_wrong_guesses_never_pass_the_lockout_threshold,
    admin_reset_removes_methods_codes_and_sessions,
    audit_events_page_newest_first,
    sealed_secrets_not_under_a_key_are_listed_in_batches_with_their_context,
    a_reseal_applies_only_to_the_bytes_that_were_read,
    a_pending_method_re_encrypted_meanwhile_still_enables_once,
    last_use_is_recorded_in_batches_and_never_goes_back,
    a_flow_opens_one_session_however_many_ask_at_once,
    audit_events_recorded_at_once_are_each_written_once,
    a_second_step_settled_at_once_by_many_opens_one_session_and_counts_the_rest,
    a_settled_second_step_locks_at_the_threshold_and_writes_nothing_while_locked,
    a_second_step_whose_flow_ended_claims_nothing,
    one_step_claimed_at_once_from_many_flows_opens_one_session,
    a_passed_second_step_starts_the_count_of_failures_again,
    attempts_still_being_checked_hold_off_a_right_code,
);

async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Arc<SqlStore>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let Some(db) = TestDb::new(backend).await else { return };
    let options = DbOptions { max_connections: 16, ..DbOptions::default() };
    let store = SqlStore::connect(&db.url, &options).await.unwrap();
    store.migrate().await.unwrap();
    test(Arc::new(store.clone())).await;
    store.close().await;
}

const NOW: i64 = 1_800_000_000;
/// Whose enrollments the tests make.
const OWNER: EnrollmentOwner = EnrollmentOwner::Session(1);

async fn org_with_user(store: &SqlStore) -> (Organization, Profile, i64) {
    let org = store.create_org("acme", "Acme", Language::English).await.unwrap();
    let profile = store.create_profile(org.id, "technician", "Technician", false).await.unwrap();
    let id = store.create_account(new_account(org.id, "Maria", Some(profile.id))).await.unwrap();
    (org, profile, id)
}

fn new_account(org_id: i64, username: &str, profile_id: Option<i64>) -> NewAccount {
    NewAccount {
        org_id,
        username: username.into(),
        kind: if profile_id.is_some() { AccountKind::User } else { AccountKind::Contact },
        profile_id,
        password_hash: "$argon2id$fake".into(),
        phone_sealed: None,
        phone_hint: None,
        key_id: None,
        created_at: NOW,
    }
}

fn session(org_id: i64, account_id: i64, hash: &[u8], verified: bool) -> NewSession {
    NewSession {
        token_hash: hash.to_vec(),
        org_id,
        account_id,
        client: "web".into(),
        two_step_verified: verified,
        created_at: NOW,
        expires_at: NOW + 3600,
        ip: None,
        user_agent: None,
        second_factor: None,
        revoke_at: None,
    }
}

/// A second-step flow whose token hashes to `b"flow"`, alive for ten minutes from `NOW`.
fn two_step_flow(org_id: i64, account_id: i64) -> NewFlow {
    NewFlow {
        token_hash: b"flow".to_vec(),
        kind: FlowKind::TwoStep,
        org_id,
        account_id,
        client: "web".into(),
        created_at: NOW,
        expires_at: NOW + 600,
    }
}

async fn enable_totp(store: &SqlStore, account_id: i64, codes: Option<Vec<Vec<u8>>>) -> bool {
    let pending = Pending {
        account_id,
        owner: OWNER,
        kind: MethodKind::Totp,
        name: None,
        sealed: vec![1, 2, 3],
        key_id: "k".into(),
        phone_hint: None,
        expires_at: NOW + 600,
    };
    store.put_pending(pending.clone()).await.unwrap();
    store.enable_method(EnableMethod { pending, at: NOW, totp_step: Some(10), recovery_hashes: codes }).await.unwrap()
}

async fn organisations_have_unique_slugs(store: Arc<SqlStore>) {
    let org = store.create_org("acme", "Acme", Language::Portuguese).await.unwrap();
    assert_eq!(org.addon, AddonState::Unavailable);
    assert!(!org.two_step_enabled);
    assert_eq!(org.language, Language::Portuguese);
    assert!(matches!(store.create_org("acme", "Other", Language::English).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.org_by_slug("acme").await.unwrap().unwrap(), org);
    assert!(store.org_by_slug("nope").await.unwrap().is_none());
    store.set_addon_state(org.id, AddonState::Available).await.unwrap();
    assert_eq!(store.org_by_id(org.id).await.unwrap().addon, AddonState::Available);
}

async fn usernames_are_unique_per_organisation_without_case(store: Arc<SqlStore>) {
    let (org, profile, id) = org_with_user(&store).await;
    let dup = store.create_account(new_account(org.id, "MARIA", Some(profile.id))).await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    let found = store.account_by_username(org.id, "maria").await.unwrap().unwrap();
    assert_eq!(found.id, id);
    assert_eq!(found.username, "Maria");
    assert_eq!(found.profile.unwrap().slug, "technician");
    let other = store.create_org("globex", "Globex", Language::English).await.unwrap();
    store.create_account(new_account(other.id, "maria", None)).await.unwrap();
    let contact = store.account_by_username(other.id, "maria").await.unwrap().unwrap();
    assert_eq!(contact.kind, AccountKind::Contact);
    assert!(contact.profile.is_none());
}

async fn profiles_created_while_fully_mandatory_are_mandatory(store: Arc<SqlStore>) {
    let (org, profile, _) = org_with_user(&store).await;
    store.set_mandatory(org.id, None, true, NOW, NOW + 60).await.unwrap();
    assert!(store.org_by_id(org.id).await.unwrap().mandatory_for_organization);
    assert!(store.profile_by_slug(org.id, &profile.slug).await.unwrap().unwrap().mandatory);
    let later = store.create_profile(org.id, "manager", "Manager", false).await.unwrap();
    assert!(later.mandatory);
    store.set_mandatory(org.id, Some(later.id), false, NOW, NOW + 60).await.unwrap();
    assert!(!store.org_by_id(org.id).await.unwrap().mandatory_for_organization);
    let stats = store.profile_stats(org.id).await.unwrap();
    assert_eq!(stats.len(), 2);
    let tech = stats.iter().find(|s| s.profile.slug == "technician").unwrap();
    assert_eq!((tech.users, tech.enrolled, tech.profile.mandatory), (1, 0, true));
}

async fn sessions_are_found_by_hash_with_their_owner(store: Arc<SqlStore>) {
    let (org, _, id) = org_with_user(&store).await;
    let sid = store.create_session(session(org.id, id, b"hash-1", false)).await.unwrap();
    let s = store.session_by_hash(b"hash-1").await.unwrap().unwrap();
    assert_eq!((s.id, s.username.as_str(), s.org_slug.as_str()), (sid, "Maria", "acme"));
    assert_eq!(s.profile_slug.as_deref(), Some("technician"));
    assert!(!s.admin && !s.two_step_verified);
    assert!(store.session_by_hash(b"hash-2").await.unwrap().is_none());
    store.mark_stepped_up(sid, NOW + 5).await.unwrap();
    let s = store.session_by_hash(b"hash-1").await.unwrap().unwrap();
    assert_eq!(s.last_two_step_at, Some(NOW + 5));
    assert_eq!(store.sessions_of_account(id, NOW).await.unwrap().len(), 1);
    assert!(store.delete_session(sid).await.unwrap());
    assert!(!store.delete_session(sid).await.unwrap());
    assert!(store.session_by_hash(b"hash-1").await.unwrap().is_none());
}

async fn many_lookups_at_once_each_find_their_own_session_and_none_outlives_its_end(store: Arc<SqlStore>) {
    // On PostgreSQL lookups waiting together are answered by one statement; each must get
    // its own row, the same token asked for twice both, an unknown one none.
    let (org, _, maria) = org_with_user(&store).await;
    let bob = store.create_account(new_account(org.id, "bob", None)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..40u32 {
        let owner = if i % 2 == 0 { maria } else { bob };
        let id = store.create_session(session(org.id, owner, format!("many-{i}").as_bytes(), false)).await.unwrap();
        ids.push((id, owner));
    }
    let ask = |i: u32| {
        let store = store.clone();
        tokio::spawn(async move { (i, store.session_by_hash(format!("many-{i}").as_bytes()).await.unwrap()) })
    };
    for round in 0..3 {
        // 40 known tokens, each twice, and 20 unknown ones, all at once.
        let asked: Vec<_> = (0..40).chain(0..40).chain(100..120).map(ask).collect();
        for task in asked {
            let (i, found) = task.await.unwrap();
            match ids.get(i as usize) {
                Some(&(id, owner)) => {
                    let s = found.unwrap_or_else(|| panic!("round {round}: session {i} not found"));
                    assert_eq!((s.id, s.account_id), (id, owner), "round {round}: session {i}");
                    let name = if owner == maria { "Maria" } else { "bob" };
                    assert_eq!(s.username, name);
                }
                None => assert!(found.is_none(), "round {round}: unknown token {i} found a session"),
            }
        }
    }
    // An ended session is gone for the very next lookup, whoever asks beside it.
    assert!(store.delete_session(ids[7].0).await.unwrap());
    let asked: Vec<_> = (0..40).map(ask).collect();
    for task in asked {
        let (i, found) = task.await.unwrap();
        assert_eq!(found.is_some(), i != 7, "session {i}");
    }
}

async fn making_a_profile_mandatory_revokes_unverified_sessions_only(store: Arc<SqlStore>) {
    let (org, profile, id) = org_with_user(&store).await;
    let other_profile = store.create_profile(org.id, "manager", "Manager", false).await.unwrap();
    let manager = store.create_account(new_account(org.id, "bob", Some(other_profile.id))).await.unwrap();
    store.create_session(session(org.id, id, b"plain", false)).await.unwrap();
    store.create_session(session(org.id, id, b"verified", true)).await.unwrap();
    store.create_session(session(org.id, manager, b"manager", false)).await.unwrap();
    // While 2SV is off, a mandatory flag revokes nothing; enabling then does.
    store.set_mandatory(org.id, Some(profile.id), true, NOW, NOW + 86_400).await.unwrap();
    assert_eq!(store.session_by_hash(b"plain").await.unwrap().unwrap().revoke_at, None);
    store.set_two_step_enabled(org.id, true, NOW, NOW + 86_400).await.unwrap();
    assert_eq!(store.session_by_hash(b"plain").await.unwrap().unwrap().revoke_at, Some(NOW + 86_400));
    assert_eq!(store.session_by_hash(b"verified").await.unwrap().unwrap().revoke_at, None);
    assert_eq!(store.session_by_hash(b"manager").await.unwrap().unwrap().revoke_at, None);
    // Optional again: the pending revocation is lifted.
    store.set_mandatory(org.id, Some(profile.id), false, NOW + 10, NOW + 86_410).await.unwrap();
    assert_eq!(store.session_by_hash(b"plain").await.unwrap().unwrap().revoke_at, None);
}

/// Whether a second step of `account_id` claiming `claim` at `now` passes.
async fn claims(store: &SqlStore, account_id: i64, claim: Claim, now: i64) -> bool {
    let step = SecondStep { account_id, now, claim, open: None };
    matches!(store.settle_second_step(step).await.unwrap(), Settled::Accepted { .. })
}

async fn concurrent_totp_claims_of_one_step_succeed_once(store: Arc<SqlStore>) {
    let (_, _, account) = org_with_user(&store).await;
    assert!(enable_totp(&store, account, None).await);
    // Steps are claimed per authenticator app (SPEC §14: a user may have several).
    let method_id = store.methods(account).await.unwrap()[0].id;
    let step = move |step| Claim::TotpStep { method_id, step };
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { claims(&store, account, step(11), NOW).await })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    // Past the lock the eleven refusals may have started: the step used to confirm (10)
    // and anything older stay refused, a later one passes.
    let later = NOW + lockout::BASE_SECONDS;
    assert!(!claims(&store, account, step(10), later).await);
    assert!(!claims(&store, account, step(11), later).await);
    assert!(claims(&store, account, step(12), later).await);
}

async fn concurrent_recovery_claims_of_one_code_succeed_once(store: Arc<SqlStore>) {
    let (_, _, id) = org_with_user(&store).await;
    let hashes: Vec<Vec<u8>> = (0u8..10).map(|i| vec![i; 32]).collect();
    assert!(enable_totp(&store, id, Some(hashes)).await);
    assert_eq!(store.recovery_codes_remaining(id).await.unwrap(), 10);
    let code = |byte| Claim::RecoveryCode { hash: vec![byte; 32] };
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { claims(&store, id, code(3), NOW).await })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    assert_eq!(store.recovery_codes_remaining(id).await.unwrap(), 9);
    assert!(!claims(&store, id, code(42), NOW).await);
}

async fn a_flow_is_read_with_its_account_while_it_lives(store: Arc<SqlStore>) {
    let (org, profile, id) = org_with_user(&store).await;
    assert!(store.flow_and_account_by_hash(b"flow", NOW).await.unwrap().is_none());
    store.create_flow(two_step_flow(org.id, id)).await.unwrap();
    let (f, a) = store.flow_and_account_by_hash(b"flow", NOW).await.unwrap().unwrap();
    let alone = store.flow_by_hash(b"flow", NOW).await.unwrap().unwrap();
    assert_eq!(
        (f.id, f.kind, f.org_id, f.account_id, f.client.as_str()),
        (alone.id, FlowKind::TwoStep, org.id, id, "web")
    );
    assert_eq!((f.failures, f.expires_at, f.access_code_ok), (0, NOW + 600, false));
    let by_id = store.account_by_id(id).await.unwrap();
    assert_eq!((a.id, a.org_id, a.username.as_str(), a.kind), (id, org.id, "Maria", by_id.kind));
    assert_eq!(a.profile.as_ref().map(|p| (p.id, p.slug.as_str())), Some((profile.id, "technician")));
    assert_eq!(
        (a.password_hash.as_str(), a.display_name.as_str()),
        (by_id.password_hash.as_str(), by_id.display_name.as_str())
    );
    assert_eq!(store.flow_failure(f.id, 5).await.unwrap(), Some(1));
    let (f, _) = store.flow_and_account_by_hash(b"flow", NOW).await.unwrap().unwrap();
    assert_eq!(f.failures, 1);
    assert!(store.flow_and_account_by_hash(b"flow", NOW + 600).await.unwrap().is_none(), "expired flow found");
    assert!(store.consume_flow(f.id).await.unwrap());
    assert!(store.flow_and_account_by_hash(b"flow", NOW).await.unwrap().is_none(), "consumed flow found");
}

async fn a_flow_counts_at_most_its_failures_and_is_consumed_once(store: Arc<SqlStore>) {
    let (org, _, id) = org_with_user(&store).await;
    store.create_flow(two_step_flow(org.id, id)).await.unwrap();
    let f = store.flow_by_hash(b"flow", NOW).await.unwrap().unwrap();
    assert_eq!((f.kind, f.failures), (FlowKind::TwoStep, 0));
    assert!(store.flow_by_hash(b"flow", NOW + 600).await.unwrap().is_none(), "expired flow found");
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.flow_failure(f.id, 5).await.unwrap() })
        })
        .collect();
    let mut counted = Vec::new();
    for t in tasks {
        counted.extend(t.await.unwrap());
    }
    counted.sort();
    assert_eq!(counted, vec![1, 2, 3, 4, 5]);
    let consumers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.consume_flow(f.id).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for t in consumers {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

async fn enabling_a_pending_method_issues_recovery_codes_once(store: Arc<SqlStore>) {
    let (_, _, id) = org_with_user(&store).await;
    assert!(store.pending(id, MethodKind::Totp, OWNER, NOW).await.unwrap().is_none());
    let pending = Pending {
        account_id: id,
        owner: OWNER,
        kind: MethodKind::Totp,
        name: None,
        sealed: vec![9; 40],
        key_id: "k".into(),
        phone_hint: None,
        expires_at: NOW + 600,
    };
    store.put_pending(pending.clone()).await.unwrap();
    assert!(store.pending(id, MethodKind::Totp, OWNER, NOW + 600).await.unwrap().is_none(), "expired pending found");
    let enable = EnableMethod { pending, at: NOW, totp_step: Some(1), recovery_hashes: Some(vec![vec![1; 32]]) };
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let enable = enable.clone();
            tokio::spawn(async move { store.enable_method(enable).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
    let methods = store.methods(id).await.unwrap();
    assert_eq!(methods.len(), 1);
    assert_eq!(methods[0].kind, MethodKind::Totp);
    assert_eq!(store.recovery_codes_remaining(id).await.unwrap(), 1);
    assert_eq!(store.disable_method(id, MethodKind::Totp, false).await.unwrap(), Removal::Removed);
    assert_eq!(store.recovery_codes_remaining(id).await.unwrap(), 0, "codes outlived the last method");
}

async fn parallel_wrong_guesses_never_pass_the_lockout_threshold(store: Arc<SqlStore>) {
    let (_, _, id) = org_with_user(&store).await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                match store.reserve_second_step_attempt(id, NOW).await.unwrap() {
                    Ok(()) => {
                        store.second_step_failed(id, NOW).await.unwrap();
                        true
                    }
                    Err(_) => false,
                }
            })
        })
        .collect();
    let mut checked = 0;
    for t in tasks {
        checked += usize::from(t.await.unwrap());
    }
    assert_eq!(checked, lockout::THRESHOLD as usize);
    let retry = store.reserve_second_step_attempt(id, NOW).await.unwrap().unwrap_err();
    assert_eq!(retry, 900);
    // After the lock, the next ten failures lock for twice as long.
    let later = NOW + 901;
    for _ in 0..10 {
        store.reserve_second_step_attempt(id, later).await.unwrap().unwrap();
        store.second_step_failed(id, later).await.unwrap();
    }
    assert_eq!(store.reserve_second_step_attempt(id, later).await.unwrap(), Err(1800));
    // A success starts the count again.
    let after = later + 1801;
    store.reserve_second_step_attempt(id, after).await.unwrap().unwrap();
    store.second_step_passed(id, after).await.unwrap();
    for _ in 0..9 {
        store.reserve_second_step_attempt(id, after).await.unwrap().unwrap();
        assert_eq!(store.second_step_failed(id, after).await.unwrap(), None);
    }
}

async fn admin_reset_removes_methods_codes_and_sessions(store: Arc<SqlStore>) {
    let (org, _, id) = org_with_user(&store).await;
    assert!(enable_totp(&store, id, Some(vec![vec![1; 32]])).await);
    store.create_session(session(org.id, id, b"s", true)).await.unwrap();
    store.reset_two_step(id).await.unwrap();
    assert!(store.methods(id).await.unwrap().is_empty());
    assert_eq!(store.recovery_codes_remaining(id).await.unwrap(), 0);
    assert!(store.session_by_hash(b"s").await.unwrap().is_none());
    let report = store.account_report(org.id).await.unwrap();
    assert_eq!(report.len(), 1);
    assert!(report[0].methods.is_empty());
}

async fn audit_events_page_newest_first(store: Arc<SqlStore>) {
    let (org, _, _) = org_with_user(&store).await;
    for i in 0..5 {
        store
            .record_event(AuditEvent {
                org_id: Some(org.id),
                at: NOW + i,
                kind: format!("event.{i}"),
                actor: None,
                subject: Some("Maria".into()),
                client: Some("web".into()),
                ip: None,
                outcome: "success".into(),
            })
            .await
            .unwrap();
    }
    let page = store.events(org.id, 2, None, None).await.unwrap();
    assert_eq!(page.iter().map(|e| e.event.kind.as_str()).collect::<Vec<_>>(), ["event.4", "event.3"]);
    let next = store.events(org.id, 2, Some(page[1].id), None).await.unwrap();
    assert_eq!(next.iter().map(|e| e.event.kind.as_str()).collect::<Vec<_>>(), ["event.2", "event.1"]);
    let by_time = store.events(org.id, 10, None, Some(NOW + 1)).await.unwrap();
    assert_eq!(by_time.len(), 1);
}

/// maria: TOTP enabled under "old"; an SMS enrollment pending under "old"; a phone given
/// at creation under "old". boss: TOTP under "new".
async fn sealed_everywhere(store: &SqlStore) -> (i64, i64) {
    let (org, profile, maria) = org_with_user(store).await;
    assert!(enable_totp(store, maria, None).await);
    let boss = store
        .create_account(NewAccount {
            phone_sealed: Some(vec![9, 9]),
            phone_hint: Some("••••678".into()),
            key_id: Some("old".into()),
            ..new_account(org.id, "Boss", Some(profile.id))
        })
        .await
        .unwrap();
    let mut totp = Pending {
        account_id: boss,
        owner: OWNER,
        kind: MethodKind::Totp,
        name: None,
        sealed: vec![4, 4],
        key_id: "new".into(),
        phone_hint: None,
        expires_at: NOW + 600,
    };
    store.put_pending(totp.clone()).await.unwrap();
    assert!(
        store
            .enable_method(EnableMethod { pending: totp.clone(), at: NOW, totp_step: None, recovery_hashes: None })
            .await
            .unwrap()
    );
    totp.kind = MethodKind::Sms;
    totp.account_id = maria;
    totp.sealed = vec![5, 5];
    totp.key_id = "old".into();
    store.put_pending(totp).await.unwrap();
    (maria, boss)
}

async fn sealed_secrets_not_under_a_key_are_listed_in_batches_with_their_context(store: Arc<SqlStore>) {
    // enable_totp seals under "k".
    let (maria, boss) = sealed_everywhere(&store).await;
    let all = store.sealed_not_under("none", 100).await.unwrap();
    assert_eq!(all.len(), 4, "{all:?}");
    let not_new = store.sealed_not_under("new", 100).await.unwrap();
    let found: Vec<_> = not_new.iter().map(|r| (r.slot, r.account_id, r.key_id.clone(), r.sealed.clone())).collect();
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found.contains(&(SealedSlot::Method(MethodKind::Totp), maria, Some("k".into()), vec![1, 2, 3])));
    assert!(found.contains(&(SealedSlot::Pending(MethodKind::Sms), maria, Some("old".into()), vec![5, 5])));
    assert!(found.contains(&(SealedSlot::AccountPhone, boss, Some("old".into()), vec![9, 9])));
    let phone = not_new.iter().find(|r| r.slot == SealedSlot::AccountPhone).unwrap();
    assert_eq!(phone.username_key, "boss");
    assert_eq!(phone.org_id, store.org_by_slug("acme").await.unwrap().unwrap().id);
    // Batches: the same stable order, a limited number at a time.
    let first = store.sealed_not_under("new", 2).await.unwrap();
    assert_eq!(first.len(), 2);
    assert_eq!(first[0].slot, not_new[0].slot);
    let mut counts = store.sealed_counts().await.unwrap();
    counts.sort();
    assert_eq!(counts, [(Some("k".into()), 1), (Some("new".into()), 1), (Some("old".into()), 2)]);
}

async fn a_reseal_applies_only_to_the_bytes_that_were_read(store: Arc<SqlStore>) {
    let (maria, boss) = sealed_everywhere(&store).await;
    let records = store.sealed_not_under("new", 100).await.unwrap();
    for record in &records {
        assert!(store.reseal(record, &[7, 7, 7], "new").await.unwrap(), "{record:?}");
        // A second write of what was read finds it changed.
        assert!(!store.reseal(record, &[8, 8, 8], "new").await.unwrap(), "{record:?}");
    }
    assert!(store.sealed_not_under("new", 100).await.unwrap().is_empty());
    assert_eq!(store.sealed_counts().await.unwrap(), [(Some("new".into()), 4)]);
    let methods = store.methods(maria).await.unwrap();
    assert_eq!((methods[0].sealed.clone(), methods[0].key_id.as_str()), (vec![7, 7, 7], "new"));
    let pending = store.pending(maria, MethodKind::Sms, OWNER, NOW).await.unwrap().unwrap();
    assert_eq!((pending.sealed, pending.key_id.as_str()), (vec![7, 7, 7], "new"));
    assert_eq!(store.account_phone(boss).await.unwrap(), Some((vec![7, 7, 7], "new".to_owned())));

    // A concurrent write between the read and the reseal wins: the record is left alone.
    let read = store.sealed_not_under("newer", 100).await.unwrap();
    let pending = read.iter().find(|r| r.slot == SealedSlot::Pending(MethodKind::Sms)).unwrap();
    store
        .put_pending(Pending {
            account_id: maria,
            owner: OWNER,
            kind: MethodKind::Sms,
            name: None,
            sealed: vec![6, 6],
            key_id: "new".into(),
            phone_hint: None,
            expires_at: NOW + 600,
        })
        .await
        .unwrap();
    assert!(!store.reseal(pending, &[1], "newer").await.unwrap());
    let kept = store.pending(maria, MethodKind::Sms, OWNER, NOW).await.unwrap().unwrap();
    assert_eq!((kept.sealed, kept.key_id.as_str()), (vec![6, 6], "new"));
    // And a method disabled meanwhile is not brought back.
    let method = read.iter().find(|r| r.slot == SealedSlot::Method(MethodKind::Totp) && r.account_id == maria).unwrap();
    assert_eq!(store.disable_method(maria, MethodKind::Totp, false).await.unwrap(), Removal::Removed);
    assert!(!store.reseal(method, &[1], "newer").await.unwrap());
    assert!(store.methods(maria).await.unwrap().is_empty());
}

/// A newer release's migration already applied (an upgrade in progress, or rolled back).
async fn a_binary_starts_on_a_schema_migrated_by_a_newer_release(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let store = SqlStore::connect(&db.url, &DbOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    const NEWER: &str = "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, \
         execution_time) VALUES (99990101000000, 'from a newer release', CURRENT_TIMESTAMP, TRUE, ";
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query(sql_text(NEWER, "X'00', 0)")).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query(sql_text(NEWER, "'\\x00'::bytea, 0)")).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
    store.migrate().await.unwrap();
    assert!(db.applied_migrations().await.iter().any(|(v, _)| *v == 99990101000000));
    store.ping().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn sqlite_a_binary_starts_on_a_schema_migrated_by_a_newer_release() {
    a_binary_starts_on_a_schema_migrated_by_a_newer_release(Backend::Sqlite).await
}

#[tokio::test]
async fn postgres_a_binary_starts_on_a_schema_migrated_by_a_newer_release() {
    a_binary_starts_on_a_schema_migrated_by_a_newer_release(Backend::Postgres).await
}

fn sql_text(a: &str, b: &str) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(format!("{a}{b}"))
}

async fn a_pending_method_re_encrypted_meanwhile_still_enables_once(store: Arc<SqlStore>) {
    let (_, _, maria) = org_with_user(&store).await;
    let read = Pending {
        account_id: maria,
        owner: OWNER,
        kind: MethodKind::Totp,
        name: None,
        sealed: vec![1, 1],
        key_id: "old".into(),
        phone_hint: None,
        expires_at: NOW + 600,
    };
    store.put_pending(read.clone()).await.unwrap();
    // The rotation rewrites it between the confirmation's read and its claim.
    let record = store.sealed_not_under("new", 10).await.unwrap().remove(0);
    assert!(store.reseal(&record, &[2, 2], "new").await.unwrap());
    let enable = EnableMethod { pending: read.clone(), at: NOW, totp_step: Some(1), recovery_hashes: None };
    assert!(store.enable_method(enable.clone()).await.unwrap());
    assert!(!store.enable_method(enable).await.unwrap(), "one enrollment enabled twice");
    assert_eq!(store.methods(maria).await.unwrap().len(), 1);
    // A pending record replaced (a new secret, same key) is not the one that was confirmed.
    let first = Pending { sealed: vec![3, 3], key_id: "new".into(), ..read };
    store.put_pending(first.clone()).await.unwrap();
    store.put_pending(Pending { sealed: vec![4, 4], ..first.clone() }).await.unwrap();
    let enable = EnableMethod { pending: first, at: NOW, totp_step: Some(2), recovery_hashes: None };
    assert!(!store.enable_method(enable).await.unwrap());
}

// The session lookup may keep rows while the database is unchanged (SQLite's readers):
// a change made through another store, as `twostep` commands in another process make
// them, shows on the very next lookup.
mod lookups_see_every_commit {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::lookups_see_commits_made_elsewhere(twostep_store::testing::Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::lookups_see_commits_made_elsewhere(twostep_store::testing::Backend::Postgres).await
    }
}

async fn lookups_see_commits_made_elsewhere(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else { return };
    let server = SqlStore::connect(&db.url, &DbOptions::default()).await.unwrap();
    server.migrate().await.unwrap();
    let elsewhere = SqlStore::connect(&db.url, &DbOptions::default()).await.unwrap();
    let (org, profile, id) = org_with_user(&server).await;
    let sid = server.create_session(session(org.id, id, b"kept", false)).await.unwrap();
    // Looked up often enough that every reader connection holds it.
    for _ in 0..8 {
        let s = server.session_by_hash(b"kept").await.unwrap().unwrap();
        assert_eq!((s.revoke_at, s.two_step_verified), (None, false));
    }

    elsewhere.set_mandatory(org.id, Some(profile.id), true, NOW, NOW + 86_400).await.unwrap();
    elsewhere.set_two_step_enabled(org.id, true, NOW, NOW + 86_400).await.unwrap();
    for _ in 0..8 {
        assert_eq!(server.session_by_hash(b"kept").await.unwrap().unwrap().revoke_at, Some(NOW + 86_400));
    }
    elsewhere.mark_stepped_up(sid, NOW + 5).await.unwrap();
    for _ in 0..8 {
        let s = server.session_by_hash(b"kept").await.unwrap().unwrap();
        assert_eq!((s.revoke_at, s.two_step_verified), (None, true));
    }
    assert!(elsewhere.delete_session(sid).await.unwrap());
    for _ in 0..8 {
        assert!(server.session_by_hash(b"kept").await.unwrap().is_none());
    }
    // A session made meanwhile is found at once.
    elsewhere.create_session(session(org.id, id, b"new", false)).await.unwrap();
    assert!(server.session_by_hash(b"new").await.unwrap().is_some());
    elsewhere.close().await;
    server.close().await;
}

async fn last_use_is_recorded_in_batches_and_never_goes_back(store: Arc<SqlStore>) {
    let (org, _, id) = org_with_user(&store).await;
    let mut ids = Vec::new();
    for i in 0..1_005u32 {
        ids.push(store.create_session(session(org.id, id, format!("s{i}").as_bytes(), false)).await.unwrap());
    }
    // More than one statement's worth, one of them older than what is recorded.
    let mut touches: Vec<(i64, i64)> = ids.iter().map(|&sid| (sid, NOW + 120)).collect();
    touches[0].1 = NOW - 1;
    touches.push((i64::MAX, NOW + 120)); // a session that ended meanwhile: nothing to write
    store.touch_sessions(&touches).await.unwrap();
    store.touch_sessions(&[]).await.unwrap();
    let seen = |hash: String| {
        let store = store.clone();
        async move { store.session_by_hash(hash.as_bytes()).await.unwrap().unwrap().last_seen_at }
    };
    assert_eq!(seen("s0".into()).await, NOW, "an older moment is ignored");
    assert_eq!(seen("s1".into()).await, NOW + 120);
    assert_eq!(seen("s1004".into()).await, NOW + 120);
}

async fn a_flow_opens_one_session_however_many_ask_at_once(store: Arc<SqlStore>) {
    use twostep_core::oauth::OAuthStore;
    let (org, _, id) = org_with_user(&store).await;
    store.create_flow(two_step_flow(org.id, id)).await.unwrap();
    let f = store.flow_by_hash(b"flow", NOW).await.unwrap().unwrap();
    let callers: Vec<_> = (0..8u8)
        .map(|i| {
            let store = store.clone();
            let mut s = session(org.id, id, &[b's', i], true);
            s.second_factor = Some("totp".into());
            tokio::spawn(async move { store.open_session_from_flow(f.id, s).await.unwrap() })
        })
        .collect();
    let mut opened = Vec::new();
    for c in callers {
        opened.extend(c.await.unwrap());
    }
    assert_eq!(opened.len(), 1, "{opened:?}");
    // The others wrote nothing: one session, with its second factor, and no flow left.
    let sessions = store.sessions_of_account(id, NOW).await.unwrap();
    assert_eq!(sessions.iter().map(|s| s.id).collect::<Vec<_>>(), opened);
    assert!(sessions[0].two_step_verified);
    assert_eq!(store.session_second_factor(opened[0]).await.unwrap().as_deref(), Some("totp"));
    assert!(store.flow_by_hash(b"flow", NOW).await.unwrap().is_none());
    assert!(store.open_session_from_flow(f.id, session(org.id, id, b"late", true)).await.unwrap().is_none());
    assert!(store.session_by_hash(b"late").await.unwrap().is_none());
}

async fn audit_events_recorded_at_once_are_each_written_once(store: Arc<SqlStore>) {
    let (org, _, _) = org_with_user(&store).await;
    // More at once than one statement carries (256), so that some wait for a second turn.
    let tasks: Vec<_> = (0..600)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .record_event(AuditEvent {
                        org_id: Some(org.id),
                        at: NOW + i,
                        kind: format!("event.{i}"),
                        actor: Some("Maria".into()),
                        subject: None,
                        client: None,
                        ip: Some("192.0.2.1".into()),
                        outcome: "success".into(),
                    })
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let written = store.events(org.id, 1000, None, None).await.unwrap();
    let mut kinds: Vec<_> = written.iter().map(|e| e.event.kind.clone()).collect();
    kinds.sort();
    let mut expected: Vec<_> = (0..600).map(|i| format!("event.{i}")).collect();
    expected.sort();
    assert_eq!(kinds, expected);
    let first = written.iter().find(|e| e.event.kind == "event.7").unwrap();
    assert_eq!(
        (first.event.at, first.event.actor.as_deref(), first.event.ip.as_deref()),
        (NOW + 7, Some("Maria"), Some("192.0.2.1"))
    );
}

fn totp_step(method_id: i64, step: i64, flow: Option<(i64, NewSession)>, account_id: i64) -> SecondStep {
    SecondStep { account_id, now: NOW, claim: Claim::TotpStep { method_id, step }, open: flow }
}

async fn a_second_step_settled_at_once_by_many_opens_one_session_and_counts_the_rest(store: Arc<SqlStore>) {
    let (org, _, id) = org_with_user(&store).await;
    assert!(enable_totp(&store, id, None).await);
    let method = store.methods(id).await.unwrap()[0].id;
    store.create_flow(two_step_flow(org.id, id)).await.unwrap();
    let f = store.flow_by_hash(b"flow", NOW).await.unwrap().unwrap();
    // Eight submissions of one code on one flow: one session, the others refused.
    let callers: Vec<_> = (0..8u8)
        .map(|i| {
            let store = store.clone();
            let s = NewSession { second_factor: Some("totp".into()), ..session(org.id, id, &[b's', i], true) };
            tokio::spawn(
                async move { store.settle_second_step(totp_step(method, 11, Some((f.id, s)), id)).await.unwrap() },
            )
        })
        .collect();
    let mut settled = Vec::new();
    for c in callers {
        settled.push(c.await.unwrap());
    }
    let opened: Vec<i64> = settled
        .iter()
        .filter_map(|s| match s {
            Settled::Accepted { recovery_codes_remaining: None, session_id: Some(id) } => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(opened.len(), 1, "{settled:?}");
    // A loser either met the claimed step (a replay, counted) or, on PostgreSQL, never
    // anything else: each waited for the winner's row.
    let refused = settled.iter().filter(|s| **s == Settled::Refused { locked_until: None }).count();
    assert_eq!(refused, 7, "{settled:?}");
    let sessions = store.sessions_of_account(id, NOW).await.unwrap();
    assert_eq!(sessions.iter().map(|s| s.id).collect::<Vec<_>>(), opened);
    assert_eq!(store.session_second_factor(opened[0]).await.unwrap().as_deref(), Some("totp"));
    assert!(store.flow_by_hash(b"flow", NOW).await.unwrap().is_none());
    // The seven refusals count as failures: three more reach the threshold.
    assert_eq!(store.account_by_id(id).await.unwrap().locked_until, None);
    for _ in 0..2 {
        let refused = store.settle_second_step(totp_step(method, 11, None, id)).await.unwrap();
        assert_eq!(refused, Settled::Refused { locked_until: None });
    }
    let locked = store.settle_second_step(totp_step(method, 11, None, id)).await.unwrap();
    assert_eq!(locked, Settled::Refused { locked_until: Some(NOW + 900) });
}

async fn a_settled_second_step_locks_at_the_threshold_and_writes_nothing_while_locked(store: Arc<SqlStore>) {
    let (org, _, id) = org_with_user(&store).await;
    assert!(enable_totp(&store, id, Some(vec![vec![7; 32]])).await);
    let method = store.methods(id).await.unwrap()[0].id;
    let nothing = || SecondStep { account_id: id, now: NOW, claim: Claim::Nothing, open: None };
    // Fifty wrong guesses at once: exactly the threshold is looked at, then locked.
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let store = store.clone();
            let step = nothing();
            tokio::spawn(async move { store.settle_second_step(step).await.unwrap() })
        })
        .collect();
    let (mut refused, mut locked) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Settled::Refused { .. } => refused += 1,
            Settled::Locked { retry_after } => {
                assert!(retry_after > 0 && retry_after <= 900, "{retry_after}");
                locked += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((refused, locked), (lockout::THRESHOLD as usize, 50 - lockout::THRESHOLD as usize));
    // While locked, a right code claims nothing and opens nothing.
    store.create_flow(two_step_flow(org.id, id)).await.unwrap();
    let f = store.flow_by_hash(b"flow", NOW).await.unwrap().unwrap();
    let right = totp_step(method, 11, Some((f.id, session(org.id, id, b"s", true))), id);
    assert_eq!(store.settle_second_step(right.clone()).await.unwrap(), Settled::Locked { retry_after: 900 });
    assert!(store.session_by_hash(b"s").await.unwrap().is_none());
    assert!(store.flow_by_hash(b"flow", NOW).await.unwrap().is_some());
    // After the lock the same code passes, and a recovery code tells how many are left.
    let later = SecondStep { now: NOW + 900, ..right };
    assert!(matches!(
        store.settle_second_step(later).await.unwrap(),
        Settled::Accepted { session_id: Some(_), recovery_codes_remaining: None }
    ));
    let recovery =
        SecondStep { account_id: id, now: NOW + 901, claim: Claim::RecoveryCode { hash: vec![7; 32] }, open: None };
    assert_eq!(
        store.settle_second_step(recovery.clone()).await.unwrap(),
        Settled::Accepted { recovery_codes_remaining: Some(0), session_id: None }
    );
    assert_eq!(store.settle_second_step(recovery).await.unwrap(), Settled::Refused { locked_until: None });
}

async fn a_second_step_whose_flow_ended_claims_nothing(store: Arc<SqlStore>) {
    let (org, _, id) = org_with_user(&store).await;
    assert!(enable_totp(&store, id, None).await);
    let method = store.methods(id).await.unwrap()[0].id;
    store.create_flow(two_step_flow(org.id, id)).await.unwrap();
    let f = store.flow_by_hash(b"flow", NOW).await.unwrap().unwrap();
    store.consume_flow(f.id).await.unwrap();
    let step = totp_step(method, 11, Some((f.id, session(org.id, id, b"s", true))), id);
    assert_eq!(store.settle_second_step(step).await.unwrap(), Settled::FlowEnded);
    assert!(store.session_by_hash(b"s").await.unwrap().is_none());
    // The attempt was not counted: the lock comes at the tenth failure.
    let nothing = SecondStep { account_id: id, now: NOW, claim: Claim::Nothing, open: None };
    for _ in 1..lockout::THRESHOLD {
        assert_eq!(store.settle_second_step(nothing.clone()).await.unwrap(), Settled::Refused { locked_until: None });
    }
    assert_eq!(
        store.settle_second_step(nothing).await.unwrap(),
        Settled::Refused { locked_until: Some(NOW + lockout::BASE_SECONDS) }
    );
    // Nor was the step spent: after the lock it passes.
    assert!(claims(&store, id, Claim::TotpStep { method_id: method, step: 11 }, NOW + lockout::BASE_SECONDS).await);
}

/// Twelve flows of one account, each with the same code at once: the app's step is the
/// only thing they share, and it opens one session; the others' flows stay.
async fn one_step_claimed_at_once_from_many_flows_opens_one_session(store: Arc<SqlStore>) {
    let (org, _, id) = org_with_user(&store).await;
    assert!(enable_totp(&store, id, None).await);
    let method = store.methods(id).await.unwrap()[0].id;
    let mut flows = Vec::new();
    for i in 0..12u8 {
        let token_hash = vec![b'f', i];
        store.create_flow(NewFlow { token_hash: token_hash.clone(), ..two_step_flow(org.id, id) }).await.unwrap();
        flows.push(store.flow_by_hash(&token_hash, NOW).await.unwrap().unwrap().id);
    }
    let callers: Vec<_> = flows
        .iter()
        .enumerate()
        .map(|(i, &flow_id)| {
            let store = store.clone();
            let s = session(org.id, id, &[b's', i as u8], true);
            tokio::spawn(async move { store.settle_second_step(totp_step(method, 11, Some((flow_id, s)), id)).await })
        })
        .collect();
    let mut settled = Vec::new();
    for c in callers {
        settled.push(c.await.unwrap().unwrap());
    }
    // The others are replays, each a failure: the tenth locks, the eleventh meets the lock.
    let count = |wanted: &dyn Fn(&Settled) -> bool| settled.iter().filter(|s| wanted(s)).count();
    let opened = count(&|s| matches!(s, Settled::Accepted { session_id: Some(_), .. }));
    let refused = count(&|s| *s == Settled::Refused { locked_until: None });
    let locking = count(&|s| *s == Settled::Refused { locked_until: Some(NOW + lockout::BASE_SECONDS) });
    let locked = count(&|s| matches!(s, Settled::Locked { .. }));
    assert_eq!((opened, refused, locking, locked), (1, 9, 1, 1), "{settled:?}");
    assert_eq!(store.sessions_of_account(id, NOW).await.unwrap().len(), 1);
    let mut left = 0;
    for i in 0..12u8 {
        left += usize::from(store.flow_by_hash(&[b'f', i], NOW).await.unwrap().is_some());
    }
    assert_eq!(left, 11);
}

/// A right code after failures: the session opens, the sign-in is noted, and the count
/// of failures starts again (nine more are not a lock; the tenth is).
async fn a_passed_second_step_starts_the_count_of_failures_again(store: Arc<SqlStore>) {
    let (org, _, id) = org_with_user(&store).await;
    assert!(enable_totp(&store, id, None).await);
    let method = store.methods(id).await.unwrap()[0].id;
    let nothing = SecondStep { account_id: id, now: NOW, claim: Claim::Nothing, open: None };
    for _ in 1..lockout::THRESHOLD {
        assert_eq!(store.settle_second_step(nothing.clone()).await.unwrap(), Settled::Refused { locked_until: None });
    }
    store.create_flow(two_step_flow(org.id, id)).await.unwrap();
    let f = store.flow_by_hash(b"flow", NOW).await.unwrap().unwrap();
    let right = totp_step(method, 11, Some((f.id, session(org.id, id, b"s", true))), id);
    assert!(matches!(store.settle_second_step(right).await.unwrap(), Settled::Accepted { session_id: Some(_), .. }));
    assert!(store.flow_by_hash(b"flow", NOW).await.unwrap().is_none());
    let opened = store.session_by_hash(b"s").await.unwrap().unwrap();
    assert_eq!((opened.account_id, opened.two_step_verified), (id, true));
    let query = AccountQuery { account_id: Some(id), limit: 1, ..AccountQuery::default() };
    let summary = store.list_accounts(org.id, query).await.unwrap().remove(0);
    assert_eq!((summary.last_sign_in_at, summary.last_two_step_at), (Some(NOW), Some(NOW)));
    for _ in 1..lockout::THRESHOLD {
        assert_eq!(store.settle_second_step(nothing.clone()).await.unwrap(), Settled::Refused { locked_until: None });
    }
    assert_eq!(
        store.settle_second_step(nothing).await.unwrap(),
        Settled::Refused { locked_until: Some(NOW + lockout::BASE_SECONDS) }
    );
}

/// Ten attempts reserved and still being checked (text-message codes, keys) take the
/// whole allowance: a right app code meanwhile is held off, and passes once one is given back.
async fn attempts_still_being_checked_hold_off_a_right_code(store: Arc<SqlStore>) {
    let (org, _, id) = org_with_user(&store).await;
    assert!(enable_totp(&store, id, None).await);
    let method = store.methods(id).await.unwrap()[0].id;
    for _ in 0..lockout::THRESHOLD {
        assert_eq!(store.reserve_second_step_attempt(id, NOW).await.unwrap(), Ok(()));
    }
    store.create_flow(two_step_flow(org.id, id)).await.unwrap();
    let f = store.flow_by_hash(b"flow", NOW).await.unwrap().unwrap();
    let right = totp_step(method, 11, Some((f.id, session(org.id, id, b"s", true))), id);
    assert_eq!(store.settle_second_step(right.clone()).await.unwrap(), Settled::Locked { retry_after: 1 });
    assert!(store.session_by_hash(b"s").await.unwrap().is_none());
    store.release_second_step_attempt(id).await.unwrap();
    assert!(matches!(store.settle_second_step(right).await.unwrap(), Settled::Accepted { session_id: Some(_), .. }));
}

/// A store's session lookups from a second runtime while the first, where its first lookup
/// ran, is still there but runs nothing: they are answered on the second. After `close`,
/// lookups are refused.
#[test]
fn session_lookups_follow_the_runtime_that_asks_and_stop_when_the_store_closes() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let first = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let Some((db, store)) = first.block_on(async {
            let db = TestDb::new(backend).await?;
            let options = DbOptions { statement_timeout: std::time::Duration::from_secs(1), ..DbOptions::default() };
            let store = SqlStore::connect(&db.url, &options).await.unwrap();
            store.migrate().await.unwrap();
            let (org, _, maria) = org_with_user(&store).await;
            store.create_session(session(org.id, maria, b"runtimes", false)).await.unwrap();
            assert!(store.session_by_hash(b"runtimes").await.unwrap().is_some());
            Some((db, store))
        }) else {
            continue;
        };
        let second = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        second.block_on(async {
            let found = tokio::time::timeout(std::time::Duration::from_secs(5), store.session_by_hash(b"runtimes"))
                .await
                .expect("a lookup from the second runtime waited for the first");
            assert_eq!(found.unwrap().unwrap().username, "Maria", "{backend:?}");
        });
        // The pool's connections belong to the first runtime: it closes the store.
        first.block_on(async {
            store.close().await;
            if backend == Backend::Postgres {
                let refused = store.session_by_hash(b"runtimes").await;
                assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");
            }
        });
        drop(second);
        drop(first);
        drop(db);
    }
}
