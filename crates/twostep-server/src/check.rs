//! `twostep config check`: reads the configuration as `serve` does and lists what would
//! stop it or fail later, without starting anything, contacting the database or sending a
//! text message.

use crate::config::{Config, SmsProvider};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use twostep_core::crypto::SecretKey;

/// What the check found: `problems` stop a start (or break a feature); `notes` say what was
/// checked and what will happen at first start.
#[derive(Debug, Default)]
pub struct Report {
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    pub problems: Vec<String>,
}

/// Checks the configuration from `file` and `env`, the way `serve` loads it.
pub fn check(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Report {
    let mut report = Report::default();
    report.notes.push(match file {
        Some(path) => format!("config file {}", path.display()),
        None => "no config file: the defaults and TWOSTEP_* variables".to_owned(),
    });
    let config = match Config::load(file, env) {
        Ok((config, warnings)) => {
            report.warnings = warnings;
            config
        }
        // The loader stops at its first problem, as it does for `serve`.
        Err(e) => {
            report.problems.push(e.to_string());
            return report;
        }
    };
    check_listen(&config, &mut report);
    check_primary_key(&config.secret_key_file, &mut report);
    for path in &config.previous_key_files {
        match crate::key::load(path) {
            Ok(key) => report.notes.push(format!("previous key file {}: key {}", path.display(), key.id())),
            Err(e) => report.problems.push(format!("previous_key_files: {e:#}")),
        }
    }
    check_database(&config.database_url, config.database.ca_file().as_deref(), &mut report);
    check_sms(&config, &mut report);
    report
}

fn check_listen(config: &Config, report: &mut Report) {
    // Only the form: resolving a host name could wait on DNS.
    let port = config.listen.rsplit_once(':').map(|(host, port)| (host, port.parse::<u16>()));
    match port {
        Some((host, Ok(_))) if !host.is_empty() => {}
        _ => {
            report.problems.push(format!("listen {:?} is not an address with a port, e.g. 0.0.0.0:8080", config.listen))
        }
    }
}

/// The primary key: readable and valid, or missing where `serve` can create it.
fn check_primary_key(path: &Path, report: &mut Report) {
    match std::fs::read_to_string(path) {
        Ok(text) => match SecretKey::from_hex(&text) {
            Ok(key) => report.notes.push(format!("secret_key_file {}: key {}", path.display(), key.id())),
            Err(e) => report.problems.push(format!("secret_key_file {}: not a valid key: {e}", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match writable_folder(path) {
            Ok(folder) => report.notes.push(format!(
                "secret_key_file {} does not exist: serve creates it at first start (mode 0600) in {}; with \
                 several replicas, create it once with `twostep key generate` and copy it instead",
                path.display(),
                folder.display()
            )),
            Err(why) => report
                .problems
                .push(format!("secret_key_file {} does not exist, and serve cannot create it: {why}", path.display())),
        },
        Err(e) => report.problems.push(format!("cannot read secret_key_file {}: {e}", path.display())),
    }
}

/// The nearest existing folder above `path`, if a file can be created in it (tried by
/// creating and removing an empty file: permission bits alone miss ACLs, read-only mounts
/// and root).
fn writable_folder(path: &Path) -> Result<PathBuf, String> {
    let mut folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    while !folder.exists() {
        match folder.parent() {
            Some(p) if !p.as_os_str().is_empty() => folder = p.to_path_buf(),
            _ => folder = PathBuf::from("."),
        }
    }
    if !folder.is_dir() {
        return Err(format!("{} is not a folder", folder.display()));
    }
    let probe = folder.join(format!(".twostep-config-check-{}", std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(folder)
        }
        Err(e) => Err(format!("cannot write in {}: {e}", folder.display())),
    }
}

/// Parses `database_url` with the parser twostep-store connects with, and reads the CA file of
/// TLS to PostgreSQL; never connects.
fn check_database(url: &str, ca_file: Option<&Path>, report: &mut Report) {
    if ca_file.is_some() && url.starts_with("sqlite:") {
        report.warnings.push("database.ca_file is set, but the database is SQLite: it is not used".into());
    }
    if url.starts_with("sqlite:") {
        match sqlx::sqlite::SqliteConnectOptions::from_str(url) {
            Ok(options) => {
                let file = options.get_filename();
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let folder = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                if in_memory {
                    report.notes.push("database_url: SQLite in memory (nothing is kept after a stop)".into());
                } else if file.exists() {
                    report.notes.push(format!("database_url: SQLite file {} (not opened)", file.display()));
                } else if folder.is_dir() {
                    // SQLite creates the file, not its folder.
                    match writable_folder(file) {
                        Ok(_) => report.notes.push(format!(
                            "database_url: SQLite file {} does not exist: created at first start",
                            file.display()
                        )),
                        Err(why) => report.problems.push(format!(
                            "database_url: SQLite file {} does not exist, and serve cannot create it: {why}",
                            file.display()
                        )),
                    }
                } else {
                    report
                        .problems
                        .push(format!("database_url: the folder of the SQLite file {} does not exist", file.display()));
                }
            }
            Err(e) => report.problems.push(format!("database_url is not a valid SQLite URL: {}", one_line(&e))),
        }
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        match sqlx::postgres::PgConnectOptions::from_str(url) {
            Ok(options) => {
                report.notes.push(format!(
                    "database_url: PostgreSQL database {:?} on {}:{} (not contacted: `twostep migrate` connects)",
                    options.get_database().unwrap_or_default(),
                    options.get_host(),
                    options.get_port()
                ));
                let host = options.get_host().to_owned();
                let local = options.get_socket().is_some()
                    || host.starts_with('/')
                    || host == "localhost"
                    || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
                match twostep_store::with_ca_file(options, ca_file) {
                    Ok(options) => check_tls(options.get_ssl_mode(), &host, local, report),
                    Err(e) => report.problems.push(e.to_string()),
                }
            }
            Err(e) => report.problems.push(format!("database_url is not a valid PostgreSQL URL: {}", one_line(&e))),
        }
        if let Some(path) = ca_file {
            check_ca_file("database.ca_file", path, report);
        }
        // The URL's own CA file (libpq's spellings), checked the same way.
        if let Ok(parsed) = url::Url::parse(url) {
            for (key, value) in parsed.query_pairs() {
                if matches!(key.as_ref(), "sslrootcert" | "ssl-root-cert" | "ssl-ca") {
                    check_ca_file("database_url's sslrootcert", Path::new(value.as_ref()), report);
                }
            }
        }
    } else {
        // Never echo the URL: it may hold a password.
        let scheme = url.split_once(':').map_or("(none)", |(s, _)| s);
        report
            .problems
            .push(format!("database_url must start with sqlite:// or postgres://, not with scheme {scheme:?}"));
    }
}

/// What TLS to PostgreSQL will check, in one line; a warning where the database is reached
/// over a network without checking its certificate.
fn check_tls(mode: sqlx::postgres::PgSslMode, host: &str, local: bool, report: &mut Report) {
    use sqlx::postgres::PgSslMode;
    let unchecked = match mode {
        PgSslMode::Disable => "TLS off (sslmode=disable)",
        PgSslMode::Allow | PgSslMode::Prefer => {
            "sslmode=prefer (the default): TLS when the server offers it, its certificate not checked"
        }
        PgSslMode::Require => "sslmode=require: TLS always, the server's certificate not checked",
        PgSslMode::VerifyCa => {
            report.notes.push("database TLS: sslmode=verify-ca: the certificate must chain to a trusted CA".into());
            if !local {
                report.warnings.push(format!(
                    "database TLS: sslmode=verify-ca does not check that the certificate names {host}; any \
                     certificate of a trusted CA passes: use sslmode=verify-full"
                ));
            }
            return;
        }
        PgSslMode::VerifyFull => {
            report.notes.push(format!(
                "database TLS: sslmode=verify-full: the certificate must chain to a trusted CA and name {host}"
            ));
            return;
        }
    };
    if local {
        report.notes.push(format!("database TLS: {unchecked} (the database is on this machine)"));
    } else {
        report.warnings.push(format!(
            "database TLS: {unchecked}: whoever sits between here and {host} can pose as the database; use \
             sslmode=verify-full and database.ca_file (README, \"Running on PostgreSQL\")"
        ));
    }
}

/// A CA file for TLS to PostgreSQL: readable, with at least one PEM certificate, all of them
/// parseable (the connection reads it the same way, at each new connection).
fn check_ca_file(what: &str, path: &Path, report: &mut Report) {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let data = match std::fs::read(path) {
        Ok(data) => data,
        Err(e) => {
            report.problems.push(format!("cannot read {what} {}: {e}", path.display()));
            return;
        }
    };
    match CertificateDer::pem_slice_iter(&data).collect::<Result<Vec<_>, _>>() {
        Ok(certs) if certs.is_empty() => report
            .problems
            .push(format!("{what} {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it", path.display())),
        Ok(certs) => report.notes.push(format!("{what} {}: {} CA certificate(s)", path.display(), certs.len())),
        Err(e) => report.problems.push(format!("{what} {}: not a PEM certificate: {e}", path.display())),
    }
}

/// The provider's settings, each missing one named; nothing is sent.
fn check_sms(config: &Config, report: &mut Report) {
    let sms = &config.sms;
    let before = report.problems.len();
    let mut need = |value: bool, key: &str, why: &str| {
        if !value {
            report.problems.push(format!("sms.{key} is needed with sms.provider = {why}"));
        }
    };
    match sms.provider {
        SmsProvider::Log => {}
        SmsProvider::Webhook => need(!sms.webhook_url.is_empty(), "webhook_url", "\"webhook\""),
        SmsProvider::Twilio => {
            need(!sms.twilio_account_sid.is_empty(), "twilio_account_sid", "\"twilio\"");
            need(!sms.twilio_auth_token.is_empty(), "twilio_auth_token", "\"twilio\"");
            need(!sms.twilio_from.is_empty(), "twilio_from", "\"twilio\"");
        }
    }
    let urls: &[(&str, &str)] = match sms.provider {
        SmsProvider::Log => &[],
        SmsProvider::Webhook => &[("webhook_url", &sms.webhook_url)],
        SmsProvider::Twilio => &[("twilio_base_url", &sms.twilio_base_url)],
    };
    for (key, value) in urls {
        let ok = url::Url::parse(value).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
        if !value.is_empty() && !ok {
            report.problems.push(format!("sms.{key} {value:?} is not an http(s) URL"));
        }
    }
    if let Err(e) = crate::sms_providers::check_templates(&sms.templates) {
        report.problems.push(e);
    }
    if report.problems.len() == before {
        // Whatever else serve's own provider check refuses (it builds the HTTP client,
        // sends nothing).
        match crate::sms_providers::provider(sms, None) {
            Ok(_) if sms.provider == SmsProvider::Log => report.notes.push(
                "sms.provider = log: text messages, codes included, go to the server log (for development)".into(),
            ),
            Ok(_) => {
                let name = if sms.provider == SmsProvider::Webhook { "webhook" } else { "twilio" };
                report.notes.push(format!("sms.provider = {name}: settings complete (nothing sent)"))
            }
            Err(e) => report.problems.push(e),
        }
    }
}

fn one_line(e: &dyn std::fmt::Display) -> String {
    e.to_string().split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn every_missing_twilio_setting_is_named_on_its_own_line() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.key");
        let report = check(
            None,
            env(&[("TWOSTEP_SMS__PROVIDER", "twilio"), ("TWOSTEP_SECRET_KEY_FILE", key.to_str().unwrap())]),
        );
        assert_eq!(report.problems.len(), 3, "{:?}", report.problems);
        for key in ["twilio_account_sid", "twilio_auth_token", "twilio_from"] {
            assert!(report.problems.iter().any(|p| p.contains(key)), "{key}: {:?}", report.problems);
        }
        assert!(!key.exists(), "the check created the key");
    }

    #[test]
    fn a_webhook_needs_an_http_url_and_a_postgres_url_is_parsed_not_contacted() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.key");
        let report = check(
            None,
            env(&[
                ("TWOSTEP_SMS__PROVIDER", "webhook"),
                ("TWOSTEP_SMS__WEBHOOK_URL", "ftp://x"),
                ("TWOSTEP_SECRET_KEY_FILE", key.to_str().unwrap()),
                // Nothing listens on port 1: a connection attempt would be a problem.
                ("TWOSTEP_DATABASE_URL", "postgres://twostep:pw@127.0.0.1:1/twostep"),
            ]),
        );
        assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
        assert!(report.problems[0].contains("webhook_url"));
        assert!(!format!("{report:?}").contains("pw@"), "the password was printed");
    }

    #[test]
    fn a_sqlite_file_must_be_creatable_where_it_does_not_exist_yet() {
        let dir = tempfile::tempdir().unwrap();
        let mut report = Report::default();
        check_database(&format!("sqlite://{}/new.db", dir.path().display()), None, &mut report);
        check_database(&format!("sqlite://{}/no/such/folder/new.db", dir.path().display()), None, &mut report);
        assert_eq!(report.problems.len(), 1, "{report:?}");
        assert!(report.problems[0].contains("folder"), "{report:?}");
        assert!(report.notes[0].contains("created at first start"), "{report:?}");
        assert!(!dir.path().join("new.db").exists() && !dir.path().join("no").exists());
    }

    #[test]
    fn a_bad_database_url_does_not_echo_its_secrets() {
        let mut report = Report::default();
        check_database("mysql://root:hunter2@db/x", None, &mut report);
        assert_eq!(report.problems.len(), 1);
        assert!(report.problems[0].contains("\"mysql\"") && !report.problems[0].contains("hunter2"));
    }

    #[test]
    fn the_ca_file_must_hold_a_certificate_and_an_unchecked_remote_database_is_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        let url = "postgres://twostep:pw@db.example.com/twostep";
        let mut report = Report::default();
        check_database(url, None, &mut report);
        assert!(report.problems.is_empty(), "{report:?}");
        assert!(
            report.warnings.iter().any(|w| w.contains("sslmode=prefer") && w.contains("verify-full")),
            "{report:?}"
        );

        // Missing, then not PEM: one problem each, naming the file.
        let missing = dir.path().join("missing.pem");
        let mut report = Report::default();
        check_database(url, Some(&missing), &mut report);
        assert_eq!(report.problems.len(), 1, "{report:?}");
        assert!(
            report.problems[0].contains("cannot read database.ca_file") && report.problems[0].contains("missing.pem")
        );
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let mut report = Report::default();
        check_database(url, Some(&junk), &mut report);
        assert_eq!(report.problems.len(), 1, "{report:?}");
        assert!(report.problems[0].contains("no PEM certificate"), "{report:?}");

        // A CA file makes the mode verify-full: no warning left.
        let ca = dir.path().join("ca.pem");
        let cert = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
        std::fs::write(&ca, cert).unwrap();
        let mut report = Report::default();
        check_database(url, Some(&ca), &mut report);
        assert!(report.problems.is_empty() && report.warnings.is_empty(), "{report:?}");
        assert!(report.notes.iter().any(|n| n.contains("verify-full") && n.contains("db.example.com")), "{report:?}");
        assert!(report.notes.iter().any(|n| n.contains("1 CA certificate")), "{report:?}");

        // The URL's sslrootcert is read too; sslmode=disable with a CA file is refused.
        let mut report = Report::default();
        check_database(&format!("{url}?sslmode=verify-full&sslrootcert={}", missing.display()), None, &mut report);
        assert!(report.problems.iter().any(|p| p.contains("sslrootcert")), "{report:?}");
        let mut report = Report::default();
        check_database(&format!("{url}?sslmode=disable"), Some(&ca), &mut report);
        assert!(report.problems.iter().any(|p| p.contains("sslmode=disable")), "{report:?}");
        assert!(!format!("{report:?}").contains("pw@"), "the password was printed");
    }
}
