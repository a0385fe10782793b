//! Database faults: two replicas reach PostgreSQL through a TCP proxy inside the test,
//! which cuts every connection and refuses new ones, then lets them through again. The
//! shared PostgreSQL server itself is never stopped.

use crate::support::{Cluster, Replica, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// A TCP proxy to PostgreSQL that can be cut and restored.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    connections: Arc<std::sync::Mutex<JoinSet<()>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        if let Ok(mut c) = self.connections.lock() {
            c.abort_all();
        }
    }
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(std::sync::Mutex::new(JoinSet::new()));
        let accept = {
            let (up, connections) = (up.clone(), connections.clone());
            tokio::spawn(async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else { continue };
                    if !up.load(Ordering::SeqCst) {
                        // Refused: the connection closes at once.
                        drop(client);
                        continue;
                    }
                    let target = target.clone();
                    connections.lock().unwrap().spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                }
            })
        };
        Self { port, up, connections, accept }
    }

    /// Every open connection is dropped and new ones are refused.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        self.connections.lock().unwrap().abort_all();
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// A proxy in front of the database of `url`, and the configuration of a replica that
/// reaches the database through it with short timeouts.
async fn proxied(cluster: &Cluster) -> (Proxy, twostep_server::config::Config) {
    let mut url = url::Url::parse(&cluster.db.url).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap_or("127.0.0.1"), url.port().unwrap_or(5432));
    let proxy = Proxy::start(target).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.port)).unwrap();
    let mut config = cluster.config.clone();
    config.database_url = url.to_string();
    config.database.max_connections = 4;
    config.database.acquire_timeout = Duration::from_secs(1);
    config.database.statement_timeout = Duration::from_secs(1);
    (proxy, config)
}

/// Times a request; asserts it answered within a generous bound (the pool gives up after
/// 1 s; the bound only proves nothing hangs, also on a busy machine).
async fn quickly<F: std::future::Future<Output = Response>>(what: &str, request: F) -> Response {
    let started = Instant::now();
    let r = request.await;
    assert!(started.elapsed() < Duration::from_secs(10), "{what} took {:?}", started.elapsed());
    r
}

fn unavailable(r: &Response, what: &str) {
    assert_eq!((r.status, r.error_code()), (503, "unavailable"), "{what}: {}", r.text);
}

/// Polls `/readyz` until it answers 200 (at most 30 s).
async fn ready_again(replica: &Replica) {
    let started = Instant::now();
    loop {
        if replica.get("/readyz", None).await.status == 200 {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "replica {} did not recover", replica.name);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_the_database_is_unreachable_replicas_answer_unavailable_quickly_and_recover_by_themselves() {
    // The cluster is seeded directly; the replicas under test reach the database through
    // the proxy with short timeouts.
    let Some(direct) = Cluster::start().await else { return };
    direct.acme().await;
    let maria = direct.a().session("maria").await;
    let (secret, _) = direct.enroll_totp(&maria, direct.a(), direct.b()).await;
    let (proxy, config) = proxied(&direct).await;
    let a = Replica::start("A'", config.clone(), direct.key.clone(), direct.clock.clone()).await;
    let b = Replica::start("B'", config, direct.key.clone(), direct.clock.clone()).await;
    for r in [&a, &b] {
        assert_eq!(r.get("/readyz", None).await.status, 200);
        assert_eq!(r.get("/api/v1/session", Some(&maria)).await.status, 200);
    }
    let flow = a.flow("maria").await;

    proxy.cut();
    for r in [&a, &b] {
        let ready = quickly("readyz", r.get("/readyz", None)).await;
        assert_eq!(ready.status, 503, "replica {}: {}", r.name, ready.text);
        assert_eq!(
            quickly("healthz", r.get("/healthz", None)).await.status,
            200,
            "liveness does not need the database"
        );
        unavailable(&quickly("session", r.get("/api/v1/session", Some(&maria))).await, "session");
        unavailable(&quickly("login", r.login("maria")).await, "login");
    }
    // A right code while the database is away is not accepted, and not used up either.
    let code = direct.next_code(&secret);
    unavailable(&quickly("verify", b.verify(&flow, "totp", &code)).await, "verify");

    proxy.restore();
    ready_again(&a).await;
    ready_again(&b).await;
    assert_eq!(a.get("/api/v1/session", Some(&maria)).await.status, 200);
    let r = b.verify(&flow, "totp", &code).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let again = a.flow("maria").await;
    let r = a.verify(&again, "totp", &code).await;
    assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "a code was accepted twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cut_in_the_middle_of_concurrent_verifications_never_accepts_a_code_twice() {
    let Some(direct) = Cluster::start().await else { return };
    direct.acme().await;
    let maria = direct.a().session("maria").await;
    let (secret, _) = direct.enroll_totp(&maria, direct.a(), direct.b()).await;
    let (proxy, config) = proxied(&direct).await;
    let replicas = Arc::new([
        Replica::start("A'", config.clone(), direct.key.clone(), direct.clock.clone()).await,
        Replica::start("B'", config, direct.key.clone(), direct.clock.clone()).await,
    ]);
    // Rounds of eight verifications of one code, with the connection cut while they run.
    for round in 0..3u64 {
        let mut flows = Vec::new();
        for i in 0..8 {
            flows.push(direct.nth(i).flow("maria").await);
        }
        let code = direct.next_code(&secret);
        let tasks: Vec<_> = flows
            .into_iter()
            .enumerate()
            .map(|(i, flow)| {
                let (replicas, code) = (replicas.clone(), code.clone());
                tokio::spawn(async move { replicas[i % 2].verify(&flow, "totp", &code).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(5 * round)).await;
        proxy.cut();
        let mut accepted = 0;
        for t in tasks {
            let r = t.await.unwrap();
            match (r.status, r.error_code_or_none()) {
                (200, _) => accepted += 1,
                (401, Some("invalid_code")) | (503, Some("unavailable")) => {}
                other => panic!("unexpected {other:?}: {}", r.text),
            }
        }
        assert!(accepted <= 1, "round {round}: a TOTP code was accepted {accepted} times");
        proxy.restore();
        for r in replicas.iter() {
            ready_again(r).await;
        }
        // After the cut, the code is refused wherever it is sent again.
        let flow = replicas[0].flow("maria").await;
        let r = replicas[1].verify(&flow, "totp", &code).await;
        if accepted == 1 {
            assert_eq!((r.status, r.error_code()), (401, "invalid_code"), "round {round}: {}", r.text);
        }
        // Keep maria clear of the lockout between rounds.
        let next = direct.next_code(&secret);
        let flow = replicas[0].flow("maria").await;
        assert_eq!(replicas[0].verify(&flow, "totp", &next).await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_started_while_the_database_is_down_fails_fast_with_a_clear_error() {
    let Some(direct) = Cluster::start_with(1, |_| {}).await else { return };
    let (proxy, config) = proxied(&direct).await;
    proxy.cut();
    let started = Instant::now();
    let err = match twostep_server::startup::open_store(&config).await {
        Ok(_) => panic!("connected to a database that is down"),
        Err(e) => e.to_string(),
    };
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());
    assert!(err.contains("unavailable"), "{err}");
    proxy.restore();
    assert!(twostep_server::startup::open_store(&config).await.is_ok());
}
