//! TLS to PostgreSQL: a throwaway cluster (the machine's `initdb` and `pg_ctl`, on a free
//! port, in a temporary folder) with a server certificate from a CA made here, `ssl = on` and
//! plain connections refused. `verify-full` with the CA connects; the wrong CA and the wrong
//! host name are refused.
//!
//! Runs where `TWOSTEP_TEST_POSTGRES_URL` is set (PostgreSQL tests on) and the PostgreSQL
//! server binaries are installed (`/usr/lib/postgresql/*/bin`, or the folder in
//! `TWOSTEP_TEST_PG_BIN`); otherwise it says it skipped, past the test harness's capture.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;
use twostep_store::{DbOptions, SqlStore};

/// Said on the terminal even when the test passes (libtest captures only `print!`/`eprint!`).
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// The folder holding `initdb` and `pg_ctl`: the newest installed version.
fn pg_bin() -> Option<PathBuf> {
    if let Ok(dir) = std::env::var("TWOSTEP_TEST_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// PostgreSQL refuses to run as root: as root, the cluster belongs to `postgres`.
struct Runner {
    as_postgres: bool,
}

impl Runner {
    fn run(&self, program: &Path, args: &[&str], cwd: &Path) -> std::process::Output {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        let output = command.args(args).current_dir(cwd).output().expect("run a PostgreSQL tool");
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Hands a file or folder to the cluster's owner.
    fn own(&self, path: &Path) {
        if self.as_postgres {
            let status = Command::new("chown").arg("postgres:postgres").arg(path).status().expect("chown");
            assert!(status.success(), "chown {}", path.display());
        }
    }
}

/// A running throwaway cluster; stopped (immediately) and removed when dropped.
struct Cluster {
    runner: Runner,
    pg_ctl: PathBuf,
    data: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.to_string_lossy().into_owned();
        let mut command = if self.runner.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&self.pg_ctl);
            c
        } else {
            Command::new(&self.pg_ctl)
        };
        let _ = command.args(["-D", &data, "-m", "immediate", "stop"]).current_dir(self.dir.path()).output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn write_private(path: &Path, contents: &str, runner: &Runner) {
    std::fs::write(path, contents).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    runner.own(path);
}

/// A CA and, signed by it, a certificate for `localhost` (only: not for 127.0.0.1).
fn certificates(ca_name: &str) -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server.distinguished_name.push(DnType::CommonName, "localhost");
    let server_pem = server.signed_by(&server_key, &issuer).unwrap().pem();
    (ca_pem, server_pem, server_key.serialize_pem())
}

fn start_cluster(bin: &Path) -> Cluster {
    let runner = Runner { as_postgres: is_root() };
    let dir = tempfile::tempdir().unwrap();
    runner.own(dir.path());
    let data = dir.path().join("data");
    let path = |p: &Path| p.to_string_lossy().into_owned();
    runner.run(&bin.join("initdb"), &["-D", &path(&data), "-U", "postgres", "--auth=trust", "--no-sync"], dir.path());

    let (ca, cert, key) = certificates("Twostep test CA");
    std::fs::write(dir.path().join("ca.pem"), ca).unwrap();
    write_private(&data.join("server.crt"), &cert, &runner);
    write_private(&data.join("server.key"), &key, &runner);
    // Plain connections over TCP are refused: whatever connects, connects with TLS.
    let hba = data.join("pg_hba.conf");
    let rules = std::fs::read_to_string(&hba).unwrap();
    std::fs::write(&hba, format!("hostnossl all all all reject\n{rules}")).unwrap();

    let port = free_port();
    let options = format!(
        "-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c ssl=on \
         -c ssl_cert_file=server.crt -c ssl_key_file=server.key -c fsync=off",
        path(dir.path())
    );
    let pg_ctl = bin.join("pg_ctl");
    let log = dir.path().join("postgres.log");
    let cluster = Cluster { runner, pg_ctl: pg_ctl.clone(), data: data.clone(), dir, port };
    cluster.runner.run(
        &pg_ctl,
        &["-D", &path(&data), "-o", &options, "-l", &path(&log), "-w", "-t", "60", "start"],
        cluster.dir.path(),
    );
    cluster
}

fn options(ca_file: Option<&Path>) -> DbOptions {
    DbOptions {
        max_connections: 2,
        acquire_timeout: Duration::from_secs(10),
        ca_file: ca_file.map(Path::to_path_buf),
        ..DbOptions::default()
    }
}

async fn refused(url: &str, ca_file: Option<&Path>) -> String {
    match SqlStore::connect(url, &options(ca_file)).await {
        Ok(_) => panic!("{url} connected"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn postgres_over_tls_checks_the_certificate_and_its_host_name() {
    if std::env::var("TWOSTEP_TEST_POSTGRES_URL").is_err() {
        say("skipped: PostgreSQL TLS test (set TWOSTEP_TEST_POSTGRES_URL to run it)");
        return;
    }
    let Some(bin) = pg_bin() else {
        say("skipped: PostgreSQL TLS test: no initdb and pg_ctl in /usr/lib/postgresql/*/bin (install the \
             postgresql package, or set TWOSTEP_TEST_PG_BIN)");
        return;
    };
    let cluster = start_cluster(&bin);
    let port = cluster.port;
    let ca = cluster.dir.path().join("ca.pem");
    let localhost = format!("postgres://postgres@localhost:{port}/postgres");

    // verify-full with the right CA: connected, migrated, and the session is encrypted.
    let store = SqlStore::connect(&format!("{localhost}?sslmode=verify-full"), &options(Some(&ca))).await.unwrap();
    store.migrate().await.unwrap();
    store.close().await;
    let connect = twostep_store::with_ca_file(
        sqlx::postgres::PgConnectOptions::from_str(&format!("{localhost}?sslmode=verify-full")).unwrap(),
        Some(&ca),
    )
    .unwrap();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&connect).await.unwrap();
    let (ssl,): (bool,) =
        sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetch_one(&mut conn).await.unwrap();
    assert!(ssl, "the connection is not encrypted");
    // The URL's own spelling (sslrootcert) works the same.
    let url_only = format!("{localhost}?sslmode=verify-full&sslrootcert={}", ca.display());
    SqlStore::connect(&url_only, &options(None)).await.unwrap().close().await;

    // Another CA: refused.
    let (other_ca, _, _) = certificates("Another CA");
    let other = cluster.dir.path().join("other-ca.pem");
    std::fs::write(&other, other_ca).unwrap();
    let err = refused(&format!("{localhost}?sslmode=verify-full"), Some(&other)).await;
    assert!(err.contains("invalid peer certificate") && err.contains("UnknownIssuer"), "{err}");

    // The right CA, another host name (the certificate names localhost, not 127.0.0.1):
    // refused. Without sslmode in the URL, the CA file alone asks for verify-full.
    let by_ip = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let err = refused(&format!("{by_ip}?sslmode=verify-full"), Some(&ca)).await;
    assert!(err.contains("invalid peer certificate") && err.contains("not valid for name"), "{err}");
    let err = refused(&by_ip, Some(&ca)).await;
    assert!(err.contains("not valid for name \"127.0.0.1\""), "{err}");
    // verify-ca checks the chain only.
    SqlStore::connect(&format!("{by_ip}?sslmode=verify-ca"), &options(Some(&ca))).await.unwrap().close().await;

    // Without TLS: refused by the server (so the successes above were over TLS).
    let err = refused(&format!("{localhost}?sslmode=disable"), None).await;
    assert!(err.contains("no encryption") || err.contains("pg_hba.conf"), "{err}");
    // sslmode=disable and a CA file contradict each other.
    let err = refused(&format!("{localhost}?sslmode=disable"), Some(&ca)).await;
    assert!(err.contains("sslmode=disable"), "{err}");
    drop(cluster);
}
