//! Configuration: a TOML file, then `TWOSTEP_*` environment variables (nested keys with
//! `__`). Unknown keys in the file are an error naming the key; environment variables
//! that name no key are ignored with a warning.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration value that must never be printed.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() { "\"\"" } else { "[redacted]" })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SmsProvider {
    #[default]
    Log,
    Webhook,
    Twilio,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub listen: String,
    pub public_url: String,
    pub database_url: String,
    pub secret_key_file: PathBuf,
    /// Keys that open secrets sealed before a key rotation finished, but never seal new
    /// ones (docs/deploy.md, "Rotating the secret key"). In the environment: paths
    /// separated by commas.
    #[serde(deserialize_with = "one_or_many_paths")]
    pub previous_key_files: Vec<PathBuf>,
    #[serde(with = "humantime_serde")]
    pub mandatory_session_grace: Duration,
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// A session unused this long ends (SPEC §11.8); "0s" turns the idle limit off.
    #[serde(with = "humantime_serde")]
    pub session_idle_timeout: Duration,
    pub log_format: LogFormat,
    /// The name authenticator apps show beside the account.
    pub issuer: String,
    /// When set (e.g. "127.0.0.1:9100"), `/metrics` is served there only, not on `listen`.
    pub metrics_listen: String,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    pub server: ServerConfig,
    pub forward_auth: ForwardAuthConfig,
    pub database: DatabaseConfig,
    pub sms: SmsConfig,
    /// How long a setup link (`/setup/{token}`) works (SPEC §12).
    #[serde(with = "humantime_serde")]
    pub setup_link_ttl: Duration,
    /// How long a temporary access code works (SPEC §12).
    #[serde(with = "humantime_serde")]
    pub access_code_ttl: Duration,
    pub email: EmailConfig,
    /// Client apps merged over the defaults (SPEC §2).
    pub clients: BTreeMap<String, ClientConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            database_url: "sqlite://twostep.db".into(),
            secret_key_file: "twostep.key".into(),
            previous_key_files: Vec::new(),
            mandatory_session_grace: Duration::from_secs(24 * 3600),
            session_ttl: Duration::from_secs(12 * 3600),
            session_idle_timeout: Duration::from_secs(2 * 3600),
            log_format: LogFormat::Text,
            issuer: "Twostep".into(),
            trusted_proxies: Vec::new(),
            metrics_listen: String::new(),
            server: ServerConfig::default(),
            forward_auth: ForwardAuthConfig::default(),
            database: DatabaseConfig::default(),
            sms: SmsConfig::default(),
            setup_link_ttl: Duration::from_secs(72 * 3600),
            access_code_ttl: Duration::from_secs(3600),
            email: EmailConfig::default(),
            clients: BTreeMap::new(),
        }
    }
}

/// Forward authentication for reverse proxies (SPEC §13).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForwardAuthConfig {
    /// Domains whose addresses `/login?rd=` may return to (the domain itself and its
    /// subdomains). In the environment: comma-separated.
    #[serde(deserialize_with = "one_or_many_strings")]
    pub allowed_domains: Vec<String>,
    /// Shares the session cookie with this domain and its subdomains (e.g.
    /// "example.com" when Twostep is login.example.com and the apps are *.example.com).
    pub cookie_domain: String,
}

/// Bounds on what clients can make the server hold (SPEC §11.7).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Open client connections at most; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// A client must send a request's headers within this long, or the connection closes.
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A request (body included) must be answered within this long, or it gets 503.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Sign-ins that may wait for a password hash beyond those running (one per core);
    /// more get 503 `unavailable` with `Retry-After`.
    pub password_queue: usize,
    /// How often dead flows, codes, counters and sessions are deleted.
    #[serde(with = "humantime_serde")]
    pub purge_interval: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            password_queue: 512,
            purge_interval: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub max_connections: u32,
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
    #[serde(with = "humantime_serde")]
    pub statement_timeout: Duration,
    /// PostgreSQL over TLS: the CA certificates (PEM) that the server's certificate must chain
    /// to; empty: the URL's `sslmode` and `sslrootcert` alone decide. Set, the certificate is
    /// always checked (`sslmode` becomes `verify-full` unless the URL says `verify-ca`).
    pub ca_file: PathBuf,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            ca_file: PathBuf::new(),
        }
    }
}

impl DatabaseConfig {
    /// `ca_file`, if set.
    pub fn ca_file(&self) -> Option<PathBuf> {
        (!self.ca_file.as_os_str().is_empty()).then(|| self.ca_file.clone())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    pub provider: SmsProvider,
    pub webhook_url: String,
    pub webhook_token: Secret,
    pub twilio_account_sid: String,
    pub twilio_auth_token: Secret,
    pub twilio_from: String,
    pub twilio_base_url: String,
    /// Outbound calls to the provider give up after this long (the user is waiting).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// How long a code is valid (at most 10 minutes).
    #[serde(with = "humantime_serde")]
    pub code_ttl: Duration,
    /// Text messages one organisation may send per hour (SMS-pumping guard).
    pub org_hourly_limit: i64,
    /// Text messages the whole service may send per hour (SPEC §11.10).
    pub global_hourly_limit: i64,
    /// ISO 3166-1 codes of the countries whose numbers may receive codes; empty: all.
    /// In the environment: codes separated by commas.
    #[serde(deserialize_with = "one_or_many_strings")]
    pub allowed_countries: Vec<String>,
    /// Message templates by language code, overriding the built-in line of
    /// `locales/<language>/messages.ftl` (`sms_code`).
    pub templates: BTreeMap<String, String>,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            provider: SmsProvider::Log,
            webhook_url: String::new(),
            webhook_token: Secret::default(),
            twilio_account_sid: String::new(),
            twilio_auth_token: Secret::default(),
            twilio_from: String::new(),
            twilio_base_url: "https://api.twilio.com".into(),
            timeout: Duration::from_secs(5),
            code_ttl: Duration::from_secs(5 * 60),
            org_hourly_limit: 200,
            global_hourly_limit: 1000,
            allowed_countries: Vec::new(),
            templates: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum EmailProvider {
    /// Writes that a message would be sent (never its body) to the server log.
    #[default]
    Log,
    Smtp,
}

/// Notifications by email (SPEC §12).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    pub provider: EmailProvider,
    /// `smtps://user:pass@host:465` (implicit TLS) or `smtp://host:587?tls=required`
    /// (STARTTLS); `smtp://host:25` without `tls` sends in clear (tests, local relays).
    pub smtp_url: Secret,
    /// The sender, e.g. `Twostep <no-reply@example.com>`.
    pub from: String,
    /// How long one send may take before it counts as failed.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            provider: EmailProvider::Log,
            smtp_url: Secret::default(),
            from: "Twostep <no-reply@localhost>".into(),
            timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub two_step: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Environment variables that configure Twostep start with this.
const ENV_PREFIX: &str = "TWOSTEP_";
/// Variables of ours that are not configuration keys: the config file's path and the log filter.
const NOT_CONFIG: &[&str] = &["TWOSTEP_CONFIG", "TWOSTEP_LOG"];

impl Config {
    /// Reads the file (if any) and applies `TWOSTEP_*` variables from `env`. Returns the
    /// configuration and warnings about ignored variables.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
                Self::from_toml_str(&text, &path.display().to_string(), env)
            }
            None => Self::apply_env(toml::Value::Table(toml::Table::new()), env),
        }
    }

    /// Like [`Config::load`] for the text of a file already read; `origin` names it in
    /// errors. The fuzz target `config` drives this.
    pub fn from_toml_str(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let table: toml::Table = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: origin.to_owned(), message: one_line(e.message()) })?;
        // Check the file alone first so its own unknown keys are reported as such.
        Config::deserialize(toml::Value::Table(table.clone()))
            .map_err(|e| ConfigError::Parse { path: origin.to_owned(), message: one_line(&e.to_string()) })?;
        Self::apply_env(toml::Value::Table(table), env)
    }

    fn apply_env(
        mut value: toml::Value,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let mut warnings = Vec::new();
        let mut vars: Vec<(String, String)> =
            env.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX) && !NOT_CONFIG.contains(&k.as_str())).collect();
        vars.sort();
        for (name, raw) in vars {
            let path = env_path(&name[ENV_PREFIX.len()..]);
            let mut error = String::from("unknown field");
            let mut applied = false;
            // As a number or boolean first, then as text ("8080" may be meant as either).
            for leaf in [env_value(&raw), toml::Value::String(raw.clone())] {
                let mut candidate = value.clone();
                if !set_path(&mut candidate, &path, leaf) {
                    break;
                }
                match Config::deserialize(candidate.clone()) {
                    Ok(_) => {
                        value = candidate;
                        applied = true;
                        break;
                    }
                    Err(e) => error = e.to_string(),
                }
            }
            if applied {
                continue;
            }
            if error.contains("unknown field") {
                warnings.push(format!("ignoring environment variable {name}: it names no configuration key"));
            } else {
                return Err(ConfigError::Invalid(format!("{name}: {}", one_line(&error))));
            }
        }
        let config = Config::deserialize(value).map_err(|e| ConfigError::Invalid(one_line(&e.to_string())))?;
        config.validate()?;
        Ok((config, warnings))
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let url = url::Url::parse(&self.public_url)
            .map_err(|e| ConfigError::Invalid(format!("public_url {:?} is not a URL: {e}", self.public_url)))?;
        if url.host_str().is_none() || !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::Invalid(format!("public_url {:?} must be an http(s) URL", self.public_url)));
        }
        if self.sms.code_ttl > Duration::from_secs(600) || self.sms.code_ttl.is_zero() {
            return Err(ConfigError::Invalid("sms.code_ttl must be between 1s and 10m".into()));
        }
        if self.sms.timeout > Duration::from_secs(60) || self.sms.timeout.is_zero() {
            return Err(ConfigError::Invalid("sms.timeout must be more than 0s and at most 1m".into()));
        }
        if self.setup_link_ttl.is_zero() || self.setup_link_ttl > Duration::from_secs(30 * 24 * 3600) {
            return Err(ConfigError::Invalid("setup_link_ttl must be more than 0s and at most 30 days".into()));
        }
        if self.access_code_ttl.is_zero() || self.access_code_ttl > Duration::from_secs(7 * 24 * 3600) {
            return Err(ConfigError::Invalid("access_code_ttl must be more than 0s and at most 7 days".into()));
        }
        if self.email.timeout.is_zero() || self.email.timeout > Duration::from_secs(120) {
            return Err(ConfigError::Invalid("email.timeout must be more than 0s and at most 2m".into()));
        }
        if self.email.provider == EmailProvider::Smtp {
            let url = url::Url::parse(self.email.smtp_url.expose()).map_err(|_| {
                ConfigError::Invalid("email.smtp_url is not a URL (e.g. smtp://host:587?tls=required)".into())
            })?;
            if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none() {
                return Err(ConfigError::Invalid(
                    "email.smtp_url must be smtp://host[:port] or smtps://host[:port]".into(),
                ));
            }
            if self.email.from.trim().is_empty() {
                return Err(ConfigError::Invalid("email.from must be set for the smtp provider".into()));
            }
        }
        if self.session_ttl.is_zero() {
            return Err(ConfigError::Invalid("session_ttl must be more than 0s".into()));
        }
        let server = &self.server;
        if server.max_connections == 0 {
            return Err(ConfigError::Invalid("server.max_connections must be at least 1".into()));
        }
        if server.header_read_timeout.is_zero() || server.request_timeout.is_zero() || server.purge_interval.is_zero() {
            return Err(ConfigError::Invalid(
                "server.header_read_timeout, request_timeout and purge_interval must be more than 0s".into(),
            ));
        }
        for domain in self
            .forward_auth
            .allowed_domains
            .iter()
            .chain(Some(&self.forward_auth.cookie_domain).filter(|d| !d.is_empty()))
        {
            let d = domain.trim().trim_start_matches('.');
            if d.is_empty() || !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') || !d.contains('.')
            {
                return Err(ConfigError::Invalid(format!(
                    "forward_auth: {domain:?} is not a domain name such as \"example.com\""
                )));
            }
        }
        if !self.forward_auth.cookie_domain.is_empty()
            && !self.public_host().ends_with(self.forward_auth.cookie_domain.trim_start_matches('.'))
        {
            return Err(ConfigError::Invalid(format!(
                "forward_auth.cookie_domain {:?} must contain the host of public_url ({})",
                self.forward_auth.cookie_domain,
                self.public_host()
            )));
        }
        for country in &self.sms.allowed_countries {
            if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(ConfigError::Invalid(format!(
                    "sms.allowed_countries: {country:?} is not an ISO 3166-1 alpha-2 code such as \"PT\""
                )));
            }
        }
        for name in self.clients.keys() {
            twostep_core::domain::ClientName::parse(name).map_err(|e| ConfigError::Invalid(format!("clients: {e}")))?;
        }
        for proxy in &self.trusted_proxies {
            proxy
                .parse::<std::net::IpAddr>()
                .map_err(|_| ConfigError::Invalid(format!("trusted_proxies: {proxy:?} is not an IP address")))?;
        }
        Ok(())
    }

    /// The host of `public_url`, for the WebOTP line of text messages.
    pub fn public_host(&self) -> String {
        url::Url::parse(&self.public_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_else(|| "localhost".into())
    }

    pub fn public_url_is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `SMS__PROVIDER` → `["sms", "provider"]`; under `clients`, `_` in a client name stands
/// for `-` (`CLIENTS__TECHNICIAN_APP__TWO_STEP`).
fn env_path(rest: &str) -> Vec<String> {
    let mut parts: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
    if parts.len() == 3 && parts[0] == "clients" {
        parts[1] = parts[1].replace('_', "-");
    }
    parts.retain(|p| !p.is_empty());
    parts
}

fn env_value(raw: &str) -> toml::Value {
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => raw.parse::<i64>().map(toml::Value::Integer).unwrap_or_else(|_| toml::Value::String(raw.to_owned())),
    }
}

/// A list of paths, or (from an environment variable) one string of comma-separated paths.
fn one_or_many_paths<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<PathBuf>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Paths {
        One(String),
        Many(Vec<PathBuf>),
    }
    Ok(match Paths::deserialize(deserializer)? {
        Paths::One(text) => text.split(',').map(str::trim).filter(|p| !p.is_empty()).map(PathBuf::from).collect(),
        Paths::Many(paths) => paths,
    })
}

/// A list of strings, or (from an environment variable) one comma-separated string.
fn one_or_many_strings<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Strings {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Strings::deserialize(deserializer)? {
        Strings::One(text) => text.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect(),
        Strings::Many(items) => items,
    })
}

/// Sets a nested key; false when the path is empty or runs through a non-table.
fn set_path(root: &mut toml::Value, path: &[String], leaf: toml::Value) -> bool {
    let Some((last, parents)) = path.split_last() else { return false };
    let mut node = root;
    for key in parents {
        let toml::Value::Table(table) = node else { return false };
        node = table.entry(key.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
    }
    match node {
        toml::Value::Table(table) => {
            table.insert(last.clone(), leaf);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn previous_key_files_come_as_a_list_or_as_comma_separated_text() {
        let f = file("previous_key_files = [\"/etc/twostep/a.key\", \"/etc/twostep/b.key\"]\n");
        let (c, _) = Config::load(Some(f.path()), []).unwrap();
        assert_eq!(c.previous_key_files, [PathBuf::from("/etc/twostep/a.key"), PathBuf::from("/etc/twostep/b.key")]);
        let (c, _) = Config::load(None, env(&[("TWOSTEP_PREVIOUS_KEY_FILES", "/k/a.key, /k/b.key")])).unwrap();
        assert_eq!(c.previous_key_files, [PathBuf::from("/k/a.key"), PathBuf::from("/k/b.key")]);
        assert!(Config::default().previous_key_files.is_empty());
    }

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_follow_the_spec() {
        let (c, warnings) = Config::load(None, []).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(c.listen, "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://twostep.db");
        assert_eq!(c.mandatory_session_grace, Duration::from_secs(86_400));
        assert_eq!(c.session_ttl, Duration::from_secs(43_200));
        assert_eq!(c.sms.provider, SmsProvider::Log);
        assert_eq!(c.sms.twilio_base_url, "https://api.twilio.com");
        assert_eq!(c.sms.timeout, Duration::from_secs(5));
        assert_eq!(c.sms.code_ttl, Duration::from_secs(300));
    }

    #[test]
    fn account_settings_have_spec_defaults_and_are_checked() {
        let (c, _) = Config::load(None, []).unwrap();
        assert_eq!(c.setup_link_ttl, Duration::from_secs(72 * 3600));
        assert_eq!(c.access_code_ttl, Duration::from_secs(3600));
        assert_eq!(c.email.provider, EmailProvider::Log);
        let f =
            file("[email]\nprovider = \"smtp\"\nsmtp_url = \"smtps://u:pw@mail.example.com:465\"\nfrom = \"a@b.c\"\n");
        let (c, _) = Config::load(Some(f.path()), []).unwrap();
        assert_eq!(c.email.provider, EmailProvider::Smtp);
        assert!(!format!("{c:?}").contains("pw@"), "the SMTP password is redacted");
        for bad in [
            "[email]\nprovider = \"smtp\"\nsmtp_url = \"http://x\"\n",
            "[email]\nprovider = \"smtp\"\n",
            "access_code_ttl = \"0s\"\n",
            "setup_link_ttl = \"365d\"\n",
            "[email]\nprovider = \"pigeon\"\n",
        ] {
            let f = file(bad);
            assert!(Config::load(Some(f.path()), []).is_err(), "{bad}");
        }
        let (c, _) = Config::load(
            None,
            env(&[("TWOSTEP_EMAIL__PROVIDER", "smtp"), ("TWOSTEP_EMAIL__SMTP_URL", "smtp://mail:587?tls=required")]),
        )
        .unwrap();
        assert_eq!(c.email.smtp_url.expose(), "smtp://mail:587?tls=required");
    }

    #[test]
    fn the_file_is_read_and_the_environment_wins() {
        let f = file(
            "listen = \"0.0.0.0:9000\"\nsession_ttl = \"1h\"\n[sms]\nprovider = \"webhook\"\n\
             webhook_url = \"http://x\"\n[clients]\ntechnician-app = { two_step = true }\n",
        );
        let (c, warnings) = Config::load(
            Some(f.path()),
            env(&[
                ("TWOSTEP_LISTEN", "127.0.0.1:1"),
                ("TWOSTEP_SMS__PROVIDER", "twilio"),
                ("TWOSTEP_MANDATORY_SESSION_GRACE", "3s"),
                ("TWOSTEP_DATABASE__MAX_CONNECTIONS", "4"),
                ("TWOSTEP_CLIENTS__NEXT_APP__TWO_STEP", "true"),
                ("TWOSTEP_TEST_POSTGRES_URL", "postgres://x"),
                ("TWOSTEP_CONFIG", "ignored.toml"),
                ("OTHER", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:1");
        assert_eq!(c.session_ttl, Duration::from_secs(3600));
        assert_eq!(c.mandatory_session_grace, Duration::from_secs(3));
        assert_eq!(c.sms.provider, SmsProvider::Twilio);
        assert_eq!(c.sms.webhook_url, "http://x");
        assert_eq!(c.database.max_connections, 4);
        assert!(c.clients["technician-app"].two_step);
        assert!(c.clients["next-app"].two_step);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("TWOSTEP_TEST_POSTGRES_URL"));
    }

    #[test]
    fn an_unknown_key_in_the_file_is_named() {
        let f = file("listen = \"127.0.0.1:1\"\nlisten_port = 3\n");
        let err = Config::load(Some(f.path()), []).unwrap_err().to_string();
        assert!(err.contains("listen_port"), "{err}");
        let f = file("[sms]\nprovider = \"log\"\ncolour = 1\n");
        let err = Config::load(Some(f.path()), []).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn bad_values_are_refused_with_a_reason() {
        let f = file("session_ttl = \"forever\"\n");
        assert!(Config::load(Some(f.path()), []).is_err());
        let err = Config::load(None, env(&[("TWOSTEP_SMS__PROVIDER", "pigeon")])).unwrap_err().to_string();
        assert!(err.contains("TWOSTEP_SMS__PROVIDER"), "{err}");
        let err = Config::load(None, env(&[("TWOSTEP_SMS__CODE_TTL", "11m")])).unwrap_err().to_string();
        assert!(err.contains("code_ttl"), "{err}");
        let err = Config::load(None, env(&[("TWOSTEP_SMS__TIMEOUT", "0s")])).unwrap_err().to_string();
        assert!(err.contains("sms.timeout"), "{err}");
        let (c, _) = Config::load(None, env(&[("TWOSTEP_SMS__TIMEOUT", "750ms")])).unwrap();
        assert_eq!(c.sms.timeout, Duration::from_millis(750));
        assert!(Config::load(Some(Path::new("/nonexistent/twostep.toml")), []).is_err());
    }

    #[test]
    fn secrets_do_not_print() {
        let (c, _) = Config::load(None, env(&[("TWOSTEP_SMS__TWILIO_AUTH_TOKEN", "sekrit-token")])).unwrap();
        assert_eq!(c.sms.twilio_auth_token.expose(), "sekrit-token");
        assert!(!format!("{c:?}").contains("sekrit-token"));
    }
}
