//! The `twostep` binary as an operator uses it (SPEC §8): subcommands, configuration,
//! one-line errors, demo mode, graceful shutdown.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
#[path = "common/mod.rs"]
mod common;
mod operator;

use operator::Operator as Env;

/// `twostep` as `cli.rs` runs it: the key file in the directory, listening anywhere.
trait Cli {
    fn cli(&self, args: &[&str]) -> Command;
    fn run(&self, args: &[&str]) -> Output;
    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output;
}

impl Cli for Env {
    fn cli(&self, args: &[&str]) -> Command {
        let mut cmd = self.command(args);
        cmd.env("TWOSTEP_SECRET_KEY_FILE", self.path("twostep.key")).env("TWOSTEP_LISTEN", "127.0.0.1:0");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cli(args).output().unwrap()
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child =
            self.cli(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }
}

fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// A failure is one line on stderr naming the problem, a non-zero exit, and no panic.
fn one_line_error(out: &Output, mentions: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded but should not: {stderr}");
    // Warnings (e.g. about unrelated TWOSTEP_* variables) may precede the error.
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty() && !l.contains(" WARN ")).collect();
    assert_eq!(lines.len(), 1, "not one line: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(lines[0].contains(mentions), "{mentions:?} not in {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
}

/// A running `twostep serve`, stopped with SIGTERM on drop.
struct Server {
    child: Child,
    base: String,
    stdout: Vec<String>,
}

impl Server {
    fn start(env: &Env, args: &[&str]) -> Self {
        let mut child = env.cli(args).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut stdout = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let base = loop {
            let mut line = String::new();
            assert!(reader.read_line(&mut line).unwrap() > 0, "server exited: {stdout:?}");
            stdout.push(line.trim_end().to_owned());
            if let Some(rest) = line.strip_prefix("twostep listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
            assert!(Instant::now() < deadline, "server did not start: {stdout:?}");
        };
        Self { child, base, stdout }
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        signal_term(self.child.id());
        self.child.wait().unwrap()
    }
}

fn signal_term(pid: u32) {
    Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

async fn login(base: &str, org: &str, user: &str, password: &str) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{base}/api/v1/login"))
        .json(&serde_json::json!({ "organization": org, "username": user, "password": password, "client": "web" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        twostep_store::on_both_databases!(sqlite, postgres; #[tokio::test] |backend| Env::new(backend).await; $($name),*);
    };
}

both!(
    an_operator_sets_up_an_organisation_and_its_user_signs_in,
    an_operator_manages_users,
    bad_input_gets_a_one_line_error_naming_the_problem,
    demo_mode_seeds_once_and_prints_the_passwords_once,
    an_operator_registers_an_app_with_one_command_and_rotates_the_signing_keys,
    a_user_disabled_from_the_command_line_is_signed_out_of_the_running_server_at_once,
);

/// SPEC §13: `twostep app create|list` and `twostep key rotate-signing`.
async fn an_operator_registers_an_app_with_one_command_and_rotates_the_signing_keys(env: Env) {
    ok(&env.run(&["org", "create", "acme", "--name", "Acme"]));
    let out = ok(&env.run(&[
        "app",
        "create",
        "--org",
        "acme",
        "wiki",
        "--name",
        "Team wiki",
        "--redirect-uri",
        "https://wiki.acme.example/callback",
        "--redirect-uri",
        "http://127.0.0.1:9999/callback",
    ]));
    let client_id = out.lines().find_map(|l| l.strip_prefix("client_id: ")).unwrap().to_owned();
    assert!(client_id.starts_with("wiki-"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("client_secret: ")), "{out}");
    let out = ok(&env.run(&[
        "app",
        "create",
        "--org",
        "acme",
        "spa",
        "--name",
        "SPA",
        "--redirect-uri",
        "https://spa.acme.example/",
        "--public",
        "--no-two-step",
    ]));
    assert!(out.contains("public app: no secret"), "{out}");
    let list = ok(&env.run(&["app", "list", "--org", "acme"]));
    assert!(
        list.contains(&client_id) && list.contains("confidential, 2SV") && list.contains("public, no 2SV"),
        "{list}"
    );
    // Refused: a redirect URI that is not https, a taken name.
    let bad =
        env.run(&["app", "create", "--org", "acme", "x", "--name", "X", "--redirect-uri", "http://evil.example/"]);
    one_line_error(&bad, "redirect URI");
    let taken = env.run(&[
        "app",
        "create",
        "--org",
        "acme",
        "wiki",
        "--name",
        "W",
        "--redirect-uri",
        "https://w.acme.example/",
    ]);
    one_line_error(&taken, "already exists");
    // Signing keys: made on first use, rotated on demand.
    let out = ok(&env.run(&["key", "rotate-signing"]));
    assert!(out.contains("new signing keys: rs256-") && out.contains("es256-"), "{out}");
}

async fn an_operator_sets_up_an_organisation_and_its_user_signs_in(env: Env) {
    assert!(ok(&env.run(&["migrate"])).contains("up to date"));
    ok(&env.run(&["org", "create", "acme", "--name", "Acme Maintenance"]));
    ok(&env.run(&["profile", "create", "--org", "acme", "administrator", "--name", "Administrator", "--admin"]));
    ok(&env.run(&["profile", "create", "--org", "acme", "technician", "--name", "Technician"]));
    let out = env.run_with_stdin(
        &["user", "create", "--org", "acme", "Maria", "--profile", "administrator", "--password-stdin"],
        "a long passphrase\n",
    );
    ok(&out);
    // Without --password-stdin a password is generated and shown once.
    let out = ok(&env.run(&[
        "user",
        "create",
        "--org",
        "acme",
        "rui",
        "--profile",
        "technician",
        "--phone",
        "+351 912 345 678",
    ]));
    let generated = out.lines().find_map(|l| l.strip_prefix("password: ")).unwrap().to_owned();
    ok(&env.run(&["user", "create", "--org", "acme", "visitor", "--contact"]));
    ok(&env.run(&["addon", "activate", "--org", "acme"]));
    assert!(ok(&env.run(&["addon", "activate", "--org", "acme"])).contains("already"));

    let server = Server::start(&env, &["serve"]);
    let r = login(&server.base, "acme", "maria", "a long passphrase").await;
    assert_eq!(r["status"], "authenticated", "{r}");
    let r = login(&server.base, "acme", "rui", &generated).await;
    assert_eq!(r["status"], "authenticated", "{r}");
    // The newline read from stdin is not part of the password.
    let r = login(&server.base, "acme", "maria", "a long passphrase\n").await;
    assert_eq!(r["error"]["code"], "invalid_credentials");
    let admin = login(&server.base, "acme", "maria", "a long passphrase").await;
    let state: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/v1/admin/two-step", server.base))
        .bearer_auth(admin["session"]["token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["addon"], "available", "{state}");
    // SIGTERM stops the server cleanly.
    assert!(server.terminate().success());
}

/// SPEC §3.7 and §12: a session ended by another process (the command line, beside the
/// running server) fails on the very next request. On SQLite the server keeps the rows it
/// read while the database is unchanged, and learns of another process's commit from the
/// WAL-index header they share; this is that path, end to end.
async fn a_user_disabled_from_the_command_line_is_signed_out_of_the_running_server_at_once(env: Env) {
    ok(&env.run(&["org", "create", "acme", "--name", "Acme"]));
    ok(&env.run(&["profile", "create", "--org", "acme", "technician", "--name", "Technician"]));
    for user in ["maria", "rui"] {
        ok(&env.run_with_stdin(
            &["user", "create", "--org", "acme", user, "--profile", "technician", "--password-stdin"],
            "a long passphrase\n",
        ));
    }
    let server = Server::start(&env, &["serve"]);
    let client = reqwest::Client::new();
    let check = |token: String| {
        let request = client.get(format!("{}/api/v1/session", server.base)).bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let maria = login(&server.base, "acme", "maria", "a long passphrase").await["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let rui =
        login(&server.base, "acme", "rui", "a long passphrase").await["session"]["token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        assert_eq!(check(maria.clone()).await, 200);
        assert_eq!(check(rui.clone()).await, 200);
    }
    ok(&env.run(&["user", "disable", "--org", "acme", "maria"]));
    assert_eq!(check(maria.clone()).await, 401, "the very next request after the command returned");
    assert_eq!(check(rui.clone()).await, 200, "another user's session is untouched");
    ok(&env.run(&["user", "enable", "--org", "acme", "maria"]));
    assert_eq!(check(maria).await, 401, "enabling the account does not bring the session back");
    assert!(server.terminate().success());
}

/// SPEC §12: `user list|disable|enable|delete|passwd|set-profile|setup-link|access-code`.
async fn an_operator_manages_users(env: Env) {
    ok(&env.run(&["org", "create", "acme", "--name", "Acme"]));
    ok(&env.run(&["profile", "create", "--org", "acme", "technician", "--name", "Technician"]));
    ok(&env.run(&["profile", "create", "--org", "acme", "boss", "--name", "Boss", "--admin"]));
    ok(&env.run_with_stdin(
        &["user", "create", "--org", "acme", "maria", "--profile", "technician", "--password-stdin"],
        "a long passphrase\n",
    ));
    ok(&env.run(&["user", "create", "--org", "acme", "rui", "--profile", "technician"]));
    let list = ok(&env.run(&["user", "list", "--org", "acme"]));
    assert!(list.contains("maria\tuser\ttechnician\tfalse") && list.contains("rui\t"), "{list}");
    ok(&env.run(&["user", "disable", "--org", "acme", "MARIA"]));
    assert!(ok(&env.run(&["user", "list", "--org", "acme"])).contains("maria\tuser\ttechnician\ttrue"));
    ok(&env.run(&["user", "enable", "--org", "acme", "maria"]));
    ok(&env.run(&["user", "set-profile", "--org", "acme", "maria", "boss"]));
    assert!(ok(&env.run(&["user", "list", "--org", "acme"])).contains("maria\tuser\tboss\tfalse"));
    one_line_error(&env.run(&["user", "set-profile", "--org", "acme", "maria", "astronaut"]), "astronaut");
    one_line_error(
        &env.run_with_stdin(&["user", "passwd", "--org", "acme", "maria", "--password-stdin"], "password1\n"),
        "weak",
    );
    ok(&env.run_with_stdin(&["user", "passwd", "--org", "acme", "maria", "--password-stdin"], "another long one\n"));
    let link = ok(&env.run(&["user", "setup-link", "--org", "acme", "rui"]));
    assert!(link.lines().next().unwrap().contains("/setup/"), "{link}");
    let code = ok(&env.run(&["user", "access-code", "--org", "acme", "rui"]));
    let code = code.lines().next().unwrap();
    assert_eq!(code.len(), 11, "{code}");
    ok(&env.run(&["user", "delete", "--org", "acme", "rui"]));
    one_line_error(&env.run(&["user", "delete", "--org", "acme", "rui"]), "rui");
    let server = Server::start(&env, &["serve"]);
    let r = login(&server.base, "acme", "maria", "another long one").await;
    assert_eq!(r["status"], "authenticated", "{r}");
    let r = login(&server.base, "acme", "maria", "a long passphrase").await;
    assert_eq!(r["error"]["code"], "invalid_credentials");
    assert!(server.terminate().success());
}

async fn bad_input_gets_a_one_line_error_naming_the_problem(env: Env) {
    ok(&env.run(&["org", "create", "acme", "--name", "Acme"]));
    one_line_error(&env.run(&["org", "create", "acme", "--name", "Again"]), "acme already exists");
    one_line_error(&env.run(&["org", "create", "Not A Slug", "--name", "x"]), "organization");
    one_line_error(&env.run(&["profile", "create", "--org", "nope", "tech", "--name", "T"]), "\"nope\" does not exist");
    one_line_error(&env.run(&["user", "create", "--org", "acme", "maria", "--profile", "ghost"]), "profile \"ghost\"");
    ok(&env.run(&["profile", "create", "--org", "acme", "tech", "--name", "Tech"]));
    let weak = env.run_with_stdin(
        &["user", "create", "--org", "acme", "maria", "--profile", "tech", "--password-stdin"],
        "123\n",
    );
    one_line_error(&weak, "too weak");
    let empty = env
        .run_with_stdin(&["user", "create", "--org", "acme", "maria", "--profile", "tech", "--password-stdin"], "\n");
    one_line_error(&empty, "too weak");
    let bad_phone = env.run(&["user", "create", "--org", "acme", "maria", "--profile", "tech", "--phone", "12"]);
    one_line_error(&bad_phone, "phone number");
    ok(&env.run_with_stdin(
        &["user", "create", "--org", "acme", "maria", "--profile", "tech", "--password-stdin"],
        "long enough pw\n",
    ));
    let dup = env.run_with_stdin(
        &["user", "create", "--org", "acme", "MARIA", "--profile", "tech", "--password-stdin"],
        "long enough pw\n",
    );
    one_line_error(&dup, "already taken");
    one_line_error(&env.run(&["addon", "activate", "--org", "ghost"]), "ghost");

    // Configuration: an unknown key in the file is named, wherever --config stands.
    std::fs::write(env.path("bad.toml"), "listen = \"127.0.0.1:0\"\nlisten_port = 1\n").unwrap();
    let bad = env.path("bad.toml");
    one_line_error(&env.run(&["migrate", "--config", bad.to_str().unwrap()]), "listen_port");
    one_line_error(&env.run(&["--config", bad.to_str().unwrap(), "migrate"]), "listen_port");
    let mut cmd = env.cli(&["migrate"]);
    cmd.env("TWOSTEP_CONFIG", &bad);
    one_line_error(&cmd.output().unwrap(), "listen_port");
    one_line_error(&env.run(&["migrate", "--config", "/nonexistent/twostep.toml"]), "/nonexistent/twostep.toml");
    let mut cmd = env.cli(&["migrate"]);
    cmd.env("TWOSTEP_SESSION_TTL", "forever");
    one_line_error(&cmd.output().unwrap(), "TWOSTEP_SESSION_TTL");
    // Variables that name no key are only a warning.
    let mut cmd = env.cli(&["migrate"]);
    cmd.env("TWOSTEP_TEST_POSTGRES_URL", "postgres://nowhere")
        .env("TWOSTEP_NO_SUCH_KEY", "1")
        .env("TWOSTEP_LOG", "warn");
    let out = cmd.output().unwrap();
    ok(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("TWOSTEP_NO_SUCH_KEY"));
    // A good file is read.
    std::fs::write(env.path("good.toml"), "log_format = \"json\"\n[sms]\nprovider = \"log\"\n").unwrap();
    ok(&env.run(&["--config", env.path("good.toml").to_str().unwrap(), "migrate"]));
    // The key file is created private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("twostep.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

async fn demo_mode_seeds_once_and_prints_the_passwords_once(env: Env) {
    let server = Server::start(&env, &["serve", "--demo"]);
    let accounts: Vec<(String, String)> = server
        .stdout
        .iter()
        .filter_map(|l| {
            let (user, rest) = l.trim().split_once(' ')?;
            let password = rest.split("password: ").nth(1)?;
            Some((user.to_owned(), password.trim().to_owned()))
        })
        .collect();
    let names: Vec<&str> = accounts.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(names, ["admin", "ana", "bruno", "carla", "contact"], "{:?}", server.stdout);
    for (user, password) in &accounts {
        let r = login(&server.base, "demo", user, password).await;
        assert_eq!(r["status"], "authenticated", "{user}: {r}");
    }
    let outbox = reqwest::get(format!("{}/dev/outbox", server.base)).await.unwrap();
    assert_eq!(outbox.status().as_u16(), 200);
    assert!(server.terminate().success());
    let again = Server::start(&env, &["serve", "--demo"]);
    assert!(again.stdout.iter().any(|l| l.contains("already exists")), "{:?}", again.stdout);
    assert!(!again.stdout.iter().any(|l| l.contains("password:")));
    assert!(again.terminate().success());
    // Without --demo there is no outbox.
    let plain = Server::start(&env, &["serve"]);
    assert_eq!(reqwest::get(format!("{}/dev/outbox", plain.base)).await.unwrap().status().as_u16(), 404);
    assert!(plain.terminate().success());
}

// The commands below need no database of their own: they run once, beside a SQLite operator.

/// `twostep config check --config FILE` in the directory, with nothing from the test's own
/// `TWOSTEP_*` settings but the file.
fn config_check(env: &Env, toml: &str) -> Output {
    std::fs::write(env.path("check.toml"), toml).unwrap();
    env.command(&["config", "check", "--config", env.path("check.toml").to_str().unwrap()])
        .env_remove("TWOSTEP_DATABASE_URL")
        .output()
        .unwrap()
}

/// The `error: ` lines of a failed check (warnings about unrelated variables aside).
fn problems(out: &Output) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded but should not: {stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("configuration OK"));
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr.lines().filter(|l| l.starts_with("error: ")).map(str::to_owned).collect()
}

fn sqlite_env() -> Env {
    block_on(Env::new(twostep_store::testing::Backend::Sqlite)).unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

#[test]
fn config_check_names_each_problem_on_one_line_and_exits_1() {
    let env = sqlite_env();
    ok(&env.run(&["key", "generate", "--out", env.path("good.key").to_str().unwrap()]));
    let good = format!(
        "secret_key_file = {:?}\ndatabase_url = \"sqlite://{}\"\n",
        env.path("good.key").to_str().unwrap(),
        env.path("twostep.db").display()
    );

    // An unknown key: the loader stops there, as it stops `serve`.
    let lines = problems(&config_check(&env, &format!("{good}listen_port = 8080\n")));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("listen_port"), "{lines:?}");

    // An unreadable key file (a folder: root reads any file), and one that holds no key.
    std::fs::create_dir(env.path("key-folder")).unwrap();
    let unreadable = good.replace("good.key", "key-folder");
    let lines = problems(&config_check(&env, &unreadable));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("cannot read secret_key_file") && lines[0].contains("key-folder"), "{lines:?}");
    std::fs::write(env.path("garbage.key"), "not a key\n").unwrap();
    let lines = problems(&config_check(&env, &good.replace("good.key", "garbage.key")));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("not a valid key"), "{lines:?}");

    // A database URL of another kind; its password is not echoed.
    let bad_url =
        format!("secret_key_file = {:?}\ndatabase_url = \"mysql://root:hunter2@db/twostep\"\n", env.path("good.key"));
    let lines = problems(&config_check(&env, &bad_url));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("database_url") && !lines[0].contains("hunter2"), "{lines:?}");

    // Every problem at once, one line each: the key, the database, each Twilio setting.
    let all = format!(
        "secret_key_file = {:?}\ndatabase_url = \"mysql://db/twostep\"\n[sms]\nprovider = \"twilio\"\n\
         twilio_from = \"+15005550006\"\n",
        env.path("key-folder")
    );
    let lines = problems(&config_check(&env, &all));
    assert_eq!(lines.len(), 4, "{lines:?}");
    for needle in ["secret_key_file", "database_url", "twilio_account_sid", "twilio_auth_token"] {
        assert!(lines.iter().any(|l| l.contains(needle)), "{needle} not in {lines:?}");
    }
    let lines = problems(&config_check(&env, &format!("{good}[sms]\nprovider = \"webhook\"\n")));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("webhook_url"), "{lines:?}");
}

#[test]
fn config_check_passes_a_good_configuration_without_touching_anything() {
    let env = sqlite_env();
    ok(&env.run(&["key", "generate", "--out", env.path("good.key").to_str().unwrap()]));
    let toml = format!(
        "secret_key_file = {:?}\ndatabase_url = \"sqlite://{}\"\n[sms]\nprovider = \"webhook\"\n\
         webhook_url = \"http://127.0.0.1:1/sms\"\n",
        env.path("good.key").to_str().unwrap(),
        env.path("new.db").display()
    );
    let out = config_check(&env, &toml);
    let stdout = ok(&out);
    assert_eq!(stdout.lines().last(), Some("configuration OK"), "{stdout}");
    assert!(stdout.contains("secret_key_file") && stdout.contains("created at first start"), "{stdout}");
    assert!(!env.path("new.db").exists(), "the check created the database");

    // A missing key file in a writable folder is fine: serve creates it. Nothing is created.
    let out = config_check(&env, &toml.replace("good.key", "later.key"));
    assert!(ok(&out).contains("does not exist: serve creates it"));
    assert!(!env.path("later.key").exists());
    // PostgreSQL URLs are parsed, not contacted (nothing listens on port 1).
    let pg =
        toml.replace(&format!("sqlite://{}", env.path("new.db").display()), "postgres://twostep@127.0.0.1:1/twostep");
    assert!(ok(&config_check(&env, &pg)).contains("not contacted"));
}

#[test]
fn completions_and_the_man_page_are_printed() {
    let env = sqlite_env();
    let bash = ok(&env.command(&["completions", "bash"]).output().unwrap());
    assert!(bash.contains("serve") && bash.contains("complete"), "{bash}");
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(ok(&env.command(&["completions", shell]).output().unwrap()).contains("serve"), "{shell}");
    }
    // An unknown shell is a usage error (clap's, listing the shells).
    let tcsh = env.command(&["completions", "tcsh"]).output().unwrap();
    assert_eq!(tcsh.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&tcsh.stderr).contains("powershell"));
    let man = ok(&env.command(&["man"]).output().unwrap());
    assert!(man.contains(".TH"), "{man}");
    assert!(man.contains("config") && man.contains("healthcheck"), "{man}");
}

#[test]
fn healthcheck_exits_0_while_the_server_answers_and_1_otherwise() {
    let env = sqlite_env();
    let server = Server::start(&env, &["serve"]);
    for path in ["/healthz", "/readyz"] {
        let url = format!("{}{path}", server.base);
        ok(&env.command(&["healthcheck", "--url", &url]).output().unwrap());
    }
    let url = format!("{}/no-such-page", server.base);
    one_line_error(&env.command(&["healthcheck", "--url", &url]).output().unwrap(), "404");
    assert!(server.terminate().success());
    // Nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let started = Instant::now();
    one_line_error(
        &env.command(&["healthcheck", "--url", &url, "--timeout", "2s"]).output().unwrap(),
        "did not answer",
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}
