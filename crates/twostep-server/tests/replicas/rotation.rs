//! Key rotation while replicas serve (docs/deploy.md, "Rotating the secret key"): replicas
//! A and B seal with the old key and can already open the new one; replica C has switched
//! to the new key and still opens the old one; after the rotation, replica D holds the new
//! key alone.

use crate::support::{Cluster, Replica};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use twostep_core::aad::Aad;
use twostep_core::credential::totp;
use twostep_core::crypto::{Keyring, SecretKey};
use twostep_core::domain::{AccountKind, Username};
use twostep_core::store::{NewAccount, prelude::*};
use twostep_server::rotation::{self, RotateOptions};

const BOSS_PHONE: &str = "+351912345678";
const CARLA_PHONE: &str = "+351912345679";
const DORA_PHONE: &str = "+351912345670";

struct Keys {
    _dir: tempfile::TempDir,
    old: SecretKey,
    new: SecretKey,
    old_file: PathBuf,
}

/// Secrets of every kind, sealed under the old key (the cluster's).
struct Seeded {
    maria_totp: Vec<u8>,
    ana_totp: Vec<u8>,
    /// The sessions that began ana's and carla's pending enrollments: only they may
    /// confirm them (SPEC §11.2).
    ana: String,
    carla: String,
}

async fn start() -> Option<(Cluster, Keys)> {
    let dir = tempfile::tempdir().unwrap();
    let new_file = dir.path().join("twostep-2.key");
    let new = twostep_server::key::create(&new_file).unwrap();
    // Step 1 of the procedure: every replica can open the new key before anyone seals with it.
    let cluster = Cluster::start_with(2, |c| c.previous_key_files = vec![new_file.clone()]).await?;
    let old_file = dir.path().join("twostep.key");
    std::fs::write(&old_file, cluster.key.to_hex().as_str()).unwrap();
    let old = cluster.key.clone();
    Some((cluster, Keys { _dir: dir, old, new, old_file }))
}

/// A replica that seals with `key` and opens `previous` too, on the cluster's database.
async fn replica(c: &Cluster, name: &'static str, key: &SecretKey, previous: Vec<PathBuf>) -> Replica {
    let mut config = c.config.clone();
    config.previous_key_files = previous;
    Replica::start(name, config, key.clone(), c.clock.clone()).await
}

async fn seed(c: &Cluster, keys: &Keys) -> Seeded {
    c.at_top_of_hour();
    c.acme().await;
    c.user("ana", "technician").await;
    c.user("carla", "technician").await;
    let maria = c.a().session("maria").await;
    let (maria_totp, _) = c.enroll_totp(&maria, c.a(), c.b()).await;
    let boss = c.a().session("boss").await;
    assert_eq!(c.a().post("/api/v1/me/two-step/sms", Some(&boss), json!({ "phone": BOSS_PHONE })).await.status, 202);
    let code = c.a().last_sms_code(BOSS_PHONE);
    assert_eq!(c.b().post("/api/v1/me/two-step/sms/confirm", Some(&boss), json!({ "code": code })).await.status, 200);
    // Enrollments left pending: a TOTP secret and a phone number.
    let ana = c.a().session("ana").await;
    let r = c.a().post("/api/v1/me/two-step/totp", Some(&ana), json!({})).await;
    let ana_totp =
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, r.body["secret"].as_str().unwrap()).unwrap();
    let carla = c.a().session("carla").await;
    assert_eq!(c.a().post("/api/v1/me/two-step/sms", Some(&carla), json!({ "phone": CARLA_PHONE })).await.status, 202);
    // A phone number given at account creation (`twostep user create --phone`).
    let org = c.store().org_by_slug("acme").await.unwrap().unwrap();
    let username = Username::parse("Dora").unwrap();
    let aad = Aad::AccountPhone { org_id: org.id, username_key: &username.key() }.bytes();
    c.store()
        .create_account(NewAccount {
            org_id: org.id,
            username: "Dora".into(),
            kind: AccountKind::Contact,
            profile_id: None,
            password_hash: crate::support::password_hash(),
            phone_sealed: Some(keys.old.seal(DORA_PHONE.as_bytes(), &aad).unwrap()),
            phone_hint: Some("••••670".into()),
            key_id: Some(keys.old.id().to_owned()),
            created_at: c.now(),
        })
        .await
        .unwrap();
    assert_eq!(under(c, &keys.old).await, 5, "{:?}", c.store().sealed_counts().await.unwrap());
    Seeded { maria_totp, ana_totp, ana, carla }
}

/// How many secrets `key` holds.
async fn under(c: &Cluster, key: &SecretKey) -> i64 {
    let counts = c.store().sealed_counts().await.unwrap();
    counts.iter().find(|(id, _)| id.as_deref() == Some(key.id())).map_or(0, |(_, n)| *n)
}

/// maria signs in with TOTP, the flow started on `start` and finished on `finish`.
async fn totp_sign_in(c: &Cluster, secret: &[u8], user: &str, start: &Replica, finish: &Replica) {
    let flow = start.flow(user).await;
    let r = finish.verify(&flow, "totp", &c.next_code(secret)).await;
    assert_eq!(r.status, 200, "{user} on {} then {}: {}", start.name, finish.name, r.text);
}

/// boss signs in with a text message sent by `start` and checked by `finish`.
async fn sms_sign_in(c: &Cluster, start: &Replica, finish: &Replica) {
    c.clock.advance(31);
    let flow = start.flow("boss").await;
    let r = start.post("/api/v1/login/sms", Some(&flow), json!({})).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let r = finish.verify(&flow, "sms", &start.last_sms_code(BOSS_PHONE)).await;
    assert_eq!(r.status, 200, "boss by text on {} then {}: {}", start.name, finish.name, r.text);
}

fn ring(keys: &Keys) -> Keyring {
    Keyring::new(keys.new.clone(), [keys.old.clone()])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_interrupted_rotation_run_again_moves_every_secret_and_sign_ins_work_throughout() {
    let Some((c, keys)) = start().await else { return };
    let seeded = seed(&c, &keys).await;
    // Step 2: C seals with the new key; A and B have not been restarted yet.
    let new_c = replica(&c, "C", &keys.new, vec![keys.old_file.clone()]).await;

    // Step 3, interrupted after two secrets.
    let partial = RotateOptions { batch_size: 1, max_records: Some(2) };
    let done = rotation::rotate(c.store(), &ring(&keys), &keys.new, &partial).await.unwrap();
    assert_eq!((done.resealed, done.remaining), (2, 3), "{done:?}");
    assert_eq!((under(&c, &keys.old).await, under(&c, &keys.new).await), (3, 2));
    // Half-way, every replica still signs everyone in, wherever the steps land.
    totp_sign_in(&c, &seeded.maria_totp, "maria", c.a(), &new_c).await;
    totp_sign_in(&c, &seeded.maria_totp, "maria", &new_c, c.b()).await;
    sms_sign_in(&c, &new_c, c.a()).await;
    sms_sign_in(&c, c.b(), &new_c).await;
    // And the pending enrollments are confirmed on the replica with the other primary key.
    let code = totp::code_at(&seeded.ana_totp, c.now());
    let r = new_c.post("/api/v1/me/two-step/totp/confirm", Some(&seeded.ana), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = c.a().last_sms_code(CARLA_PHONE);
    let r = new_c.post("/api/v1/me/two-step/sms/confirm", Some(&seeded.carla), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // Run again: it resumes and finishes.
    let done = rotation::rotate(c.store(), &ring(&keys), &keys.new, &RotateOptions::default()).await.unwrap();
    assert_eq!(done.remaining, 0, "{done:?}");
    assert_eq!((under(&c, &keys.old).await, under(&c, &keys.new).await), (0, 5));
    let again = rotation::rotate(c.store(), &ring(&keys), &keys.new, &RotateOptions::default()).await.unwrap();
    assert_eq!((again.resealed, again.remaining), (0, 0), "a finished rotation has nothing left to do");

    // Step 4: a replica with the new key alone.
    let only_new = replica(&c, "D", &keys.new, Vec::new()).await;
    totp_sign_in(&c, &seeded.maria_totp, "maria", &only_new, &only_new).await;
    totp_sign_in(&c, &seeded.ana_totp, "ana", &only_new, &new_c).await;
    sms_sign_in(&c, &only_new, &only_new).await;
    c.clock.advance(31);
    let flow = only_new.flow("carla").await;
    assert_eq!(only_new.post("/api/v1/login/sms", Some(&flow), json!({})).await.status, 202);
    let r = only_new.verify(&flow, "sms", &only_new.last_sms_code(CARLA_PHONE)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let org = c.store().org_by_slug("acme").await.unwrap().unwrap();
    let dora = c.account_id("dora").await;
    let (sealed, key_id) = c.store().account_phone(dora).await.unwrap().unwrap();
    let username_key = Username::parse("dora").unwrap().key();
    let aad = Aad::AccountPhone { org_id: org.id, username_key: &username_key }.bytes();
    let phone = Keyring::new(keys.new.clone(), []).open(&key_id, &sealed, &aad).unwrap();
    assert_eq!(phone.as_slice(), DORA_PHONE.as_bytes());
    // The old key alone can no longer open anything.
    let maria = c.account_id("maria").await;
    let method = &c.store().methods(maria).await.unwrap()[0];
    let totp_aad = Aad::Totp { account_id: maria }.bytes();
    assert!(keys.old.open(&method.sealed, &totp_aad).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotation_running_beside_sign_ins_and_new_enrollments_clobbers_nothing() {
    let Some((c, keys)) = start().await else { return };
    let seeded = seed(&c, &keys).await;
    let new_c = Arc::new(replica(&c, "C", &keys.new, vec![keys.old_file.clone()]).await);
    let c = Arc::new(c);
    // One secret per batch, so the rotation is still going while the requests below run.
    let rotating = {
        let (c, ring, new) = (c.clone(), ring(&keys), keys.new.clone());
        tokio::spawn(async move {
            let options = RotateOptions { batch_size: 1, max_records: None };
            rotation::rotate(c.store(), &ring, &new, &options).await.unwrap()
        })
    };
    // Meanwhile: sign-ins on both keys' replicas, and a new TOTP enrollment sealed by A
    // with the old key, confirmed on C.
    totp_sign_in(&c, &seeded.maria_totp, "maria", c.a(), &new_c).await;
    sms_sign_in(&c, &new_c, c.b()).await;
    let carla = c.b().session("carla").await;
    let (carla_totp, _) = c.enroll_totp(&carla, c.a(), &new_c).await;
    let first = rotating.await.unwrap();
    // Whatever A sealed with the old key after the batches went past it is taken by a
    // second run, as the command's output tells the operator.
    let second = rotation::rotate(c.store(), &ring(&keys), &keys.new, &RotateOptions::default()).await.unwrap();
    assert_eq!(second.remaining, 0, "first {first:?}, second {second:?}");
    assert_eq!(under(&c, &keys.old).await, 0);
    let only_new = replica(&c, "D", &keys.new, Vec::new()).await;
    totp_sign_in(&c, &seeded.maria_totp, "maria", &only_new, &only_new).await;
    totp_sign_in(&c, &carla_totp, "carla", &only_new, &only_new).await;
    sms_sign_in(&c, &only_new, &only_new).await;
    // ana's enrollment, still pending, survived the rotation too.
    let code = totp::code_at(&seeded.ana_totp, c.now());
    let r = only_new.post("/api/v1/me/two-step/totp/confirm", Some(&seeded.ana), json!({ "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
