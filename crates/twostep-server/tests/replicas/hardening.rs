//! SPEC §11 across replicas: the throttles and the second-step attempt counter hold
//! exactly when requests are split over two replicas.

use crate::support::{Cluster, PASSWORD};
use std::sync::Arc;

fn behind_a_proxy(config: &mut twostep_server::config::Config) {
    config.trusted_proxies = vec!["127.0.0.1".into()];
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guesses_split_over_both_replicas_keep_only_that_address_out() {
    let Some(c) = Cluster::start_with(2, behind_a_proxy).await else { return };
    c.acme().await;
    let c = Arc::new(c);
    let guesses: Vec<_> = (0..16)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.nth(i).login_from("203.0.113.5", "maria", "wrong password").await })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap().status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 6, "{statuses:?}");
    for replica in &c.replicas {
        let r = replica.login_from("203.0.113.5", "maria", PASSWORD).await;
        assert_eq!((r.status, r.error_code()), (429, "rate_limited"), "replica {}", replica.name);
        let r = replica.login_from("198.51.100.7", "maria", PASSWORD).await;
        assert_eq!(r.status, 200, "the owner elsewhere, replica {}: {}", replica.name, r.text);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_failures_over_both_replicas_get_at_most_100_password_checks_per_address() {
    let Some(c) = Cluster::start_with(2, behind_a_proxy).await else { return };
    c.acme().await;
    let c = Arc::new(c);
    let guesses: Vec<_> = (0..160)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                c.nth(i).login_from("203.0.113.9", &format!("user{i}"), "wrong password").await.status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 100, "{checked} password checks");
    assert_eq!(checked + statuses.iter().filter(|s| **s == 429).count(), 160, "{statuses:?}");
}

/// SPEC §11.5: attempts that end in an error on either replica are given back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn attempts_that_end_in_an_error_on_either_replica_are_given_back() {
    use twostep_core::store::prelude::*;
    let Some(c) = Cluster::start().await else { return };
    c.acme().await;
    let maria = c.a().session("maria").await;
    let (secret, _) = c.enroll_totp(&maria, c.a(), c.b()).await;
    let record = c.store().sealed_not_under("none", 10).await.unwrap().into_iter().next().unwrap();
    let key_id = record.key_id.clone().unwrap();
    assert!(c.store().reseal(&record, b"damaged", &key_id).await.unwrap());
    for i in 0..12 {
        let flow = c.nth(i).flow("maria").await;
        let r = c.nth(i + 1).verify(&flow, "totp", &c.next_code(&secret)).await;
        assert_eq!(r.status, 500, "{}", r.text);
    }
    let mut damaged = record.clone();
    damaged.sealed = b"damaged".to_vec();
    assert!(c.store().reseal(&damaged, &record.sealed, &key_id).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let flow = c.b().flow("maria").await;
    let r = c.a().verify(&flow, "totp", &c.next_code(&secret)).await;
    assert_eq!(r.status, 200, "{}", r.text);
}
