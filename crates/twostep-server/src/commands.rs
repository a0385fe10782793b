//! What each subcommand does.

use crate::cli::{
    AddonCommand, AppCommand, Cli, Command, ConfigCommand, KeyCommand, OrgCommand, ProfileCommand, UserCommand,
    UserCreate,
};
use crate::config::{Config, LogFormat};
use crate::startup::{self, App, Parts};
use anyhow::{Context, bail};
use std::io::BufRead;
use std::sync::Arc;
use twostep_core::aad::Aad;
use twostep_core::credential::password;
use twostep_core::domain::{AccountKind, AddonState, Language, OrgSlug, Password, PhoneNumber, ProfileSlug, Username};
use twostep_core::store::{NewAccount, Organization, StoreError, prelude::*};
use twostep_store::SqlStore;

/// The command has already written its problems to standard error; exit 1 without
/// another line.
#[derive(Debug, thiserror::Error)]
#[error("the problems were reported")]
pub struct AlreadyReported;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    // These work without a usable configuration (or report on it themselves).
    match &cli.command {
        Command::Completions { shell } => {
            crate::cli::completions(*shell, &mut std::io::stdout().lock());
            return Ok(());
        }
        Command::Man => return Ok(crate::cli::man(&mut std::io::stdout().lock())?),
        Command::Healthcheck { url, timeout } => return healthcheck(url, *timeout).await,
        Command::Config(ConfigCommand::Check) => return config_check(cli.config.as_deref()),
        _ => {}
    }
    let (config, warnings) = Config::load(cli.config.as_deref(), std::env::vars())?;
    init_tracing(&config, matches!(cli.command, Command::Serve { .. }));
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    match cli.command {
        Command::Serve { demo } => serve(config, demo).await,
        Command::Migrate => {
            let store = startup::open_store(&config).await?;
            println!("database schema is up to date ({})", store.backend());
            Ok(())
        }
        Command::Org(OrgCommand::Create { slug, name, language }) => {
            let store = startup::open_store(&config).await?;
            let slug = OrgSlug::parse(&slug)?;
            let language = Language::parse(&language)
                .with_context(|| format!("unknown language {language:?}: use one of {}", Language::codes()))?;
            if name.trim().is_empty() {
                bail!("the organization name must not be empty");
            }
            match store.create_org(slug.as_str(), name.trim(), language).await {
                Ok(_) => println!("created organization {slug}"),
                Err(StoreError::Conflict(_)) => bail!("organization {slug} already exists"),
                Err(e) => return Err(e.into()),
            }
            Ok(())
        }
        Command::Profile(ProfileCommand::Create { org, profile, name, admin }) => {
            let store = startup::open_store(&config).await?;
            let org = find_org(&store, &org).await?;
            let slug = ProfileSlug::parse(&profile)?;
            if name.trim().is_empty() {
                bail!("the profile name must not be empty");
            }
            match store.create_profile(org.id, slug.as_str(), name.trim(), admin).await {
                Ok(p) => println!(
                    "created profile {} in {}{}{}",
                    p.slug,
                    org.slug,
                    if p.admin { " (administrator)" } else { "" },
                    if p.mandatory { " (2SV mandatory)" } else { "" }
                ),
                Err(StoreError::Conflict(_)) => bail!("profile {slug} already exists in {}", org.slug),
                Err(e) => return Err(e.into()),
            }
            Ok(())
        }
        Command::User(UserCommand::Create(args)) => create_user(&config, args).await,
        Command::User(command) => crate::commands_users::run(&config, command).await,
        Command::Addon(AddonCommand::Activate { org }) => {
            let store = startup::open_store(&config).await?;
            let org = find_org(&store, &org).await?;
            if org.addon == AddonState::Unavailable {
                store.set_addon_state(org.id, AddonState::Available).await?;
                println!(
                    "2-Step Verification add-on activated for {}: its administrators can now connect it",
                    org.slug
                );
            } else {
                println!("2-Step Verification add-on was already active for {} ({})", org.slug, org.addon.as_str());
            }
            Ok(())
        }
        Command::Key(command) => key_command(&config, command).await,
        Command::App(AppCommand::Create { org, slug, name, redirect_uri, public, no_two_step }) => {
            let state = cli_state(config).await?;
            let org = state
                .store
                .org_by_slug(org.trim())
                .await?
                .with_context(|| format!("organization {org:?} does not exist"))?;
            let input = crate::service::oauth::AppInput {
                slug,
                name,
                redirect_uris: redirect_uri,
                public,
                two_step: !no_two_step,
            };
            let registered =
                crate::service::oauth::register(&state, org.id, input).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("client_id: {}", registered.app.client_id);
            match registered.client_secret {
                Some(secret) => println!("client_secret: {secret}   (shown once: store it in the app now)"),
                None => println!("public app: no secret; the app must use PKCE (S256)"),
            }
            Ok(())
        }
        Command::App(AppCommand::List { org }) => {
            let store = startup::open_store(&config).await?;
            let org = find_org(&store, &org).await?;
            for app in twostep_core::oauth::OAuthStore::apps(&store, org.id).await? {
                let kind = if app.is_public() { "public" } else { "confidential" };
                let two_step = if app.two_step { "2SV" } else { "no 2SV" };
                println!("{}  {}  {kind}, {two_step}  {}", app.client_id, app.name, app.redirect_uris.join(" "));
            }
            Ok(())
        }
        Command::Config(_) | Command::Completions { .. } | Command::Man | Command::Healthcheck { .. } => Ok(()),
    }
}

fn config_check(file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let report = crate::check::check(file, std::env::vars());
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    for note in &report.notes {
        println!("{note}");
    }
    if report.problems.is_empty() {
        println!("configuration OK");
        return Ok(());
    }
    for problem in &report.problems {
        eprintln!("error: {}", problem.replace('\n', " "));
    }
    Err(AlreadyReported.into())
}

/// A plain GET; healthy is a 2xx answer within `timeout`.
async fn healthcheck(url: &str, timeout: std::time::Duration) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().timeout(timeout).connect_timeout(timeout).build()?;
    let response = client.get(url).send().await.with_context(|| format!("{url} did not answer"))?;
    let status = response.status();
    if !status.is_success() {
        bail!("{url} answered {status}");
    }
    println!("{url}: {status}");
    Ok(())
}

async fn key_command(config: &Config, command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::RotateSigning => {
            let state = cli_state(config.clone()).await?;
            let keys = crate::oidc::keys::current_keys(&state).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let old: Vec<String> = keys.iter().filter(|k| k.retired_at.is_none()).map(|k| k.kid.clone()).collect();
            let new = crate::oidc::keys::rotate(&state).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("new signing keys: {}", new.join(", "));
            println!("retired (listed in /oauth2/jwks until their tokens expire): {}", old.join(", "));
            Ok(())
        }
        KeyCommand::Generate { out } => {
            let key = crate::key::create(&out)?;
            println!("wrote key {} to {} (mode 0600): back it up with the database backups", key.id(), out.display());
            Ok(())
        }
        KeyCommand::Status => {
            let store = startup::open_store(config).await?;
            let mut files =
                vec![(crate::key::load(&config.secret_key_file)?, "secret_key_file", &config.secret_key_file)];
            for path in &config.previous_key_files {
                files.push((crate::key::load(path)?, "previous_key_files", path));
            }
            let counts = store.sealed_counts().await?;
            for (key, setting, path) in &files {
                let n = counts.iter().find(|(id, _)| id.as_deref() == Some(key.id())).map_or(0, |(_, n)| *n);
                println!("key {}  {n:>8} secrets  ({setting}: {})", key.id(), path.display());
            }
            for (id, n) in &counts {
                if !files.iter().any(|(k, _, _)| Some(k.id()) == id.as_deref()) {
                    let id = id.as_deref().unwrap_or("(none)");
                    println!("key {id}  {n:>8} secrets  (NOT CONFIGURED: these cannot be opened)");
                }
            }
            Ok(())
        }
        KeyCommand::Rotate { new_key_file, batch_size } => {
            let store = startup::open_store(config).await?;
            let new = crate::key::load(&new_key_file)?;
            // Never created here: a rotation reads the key the replicas already use.
            let current = crate::key::load(&config.secret_key_file)?;
            let keyring = crate::key::keyring(current.clone(), config)?;
            if keyring.get(new.id()).is_none() {
                // Secrets moved to a key the replicas cannot open would stop their sign-ins.
                bail!(
                    "the replicas cannot open secrets under key {} yet: on every replica, add {:?} to \
                     previous_key_files (or make it secret_key_file) in this configuration, restart them, then run \
                     this again",
                    new.id(),
                    new_key_file.display().to_string()
                );
            }
            let options = crate::rotation::RotateOptions { batch_size, max_records: None };
            let done = crate::rotation::rotate(&store, &keyring, &new, &options).await?;
            println!(
                "re-encrypted {} secrets under key {} ({} changed meanwhile and were looked at again)",
                done.resealed,
                new.id(),
                done.changed_meanwhile
            );
            if done.remaining > 0 {
                println!(
                    "{} secrets were sealed under another key while this ran: some replica still seals with an old \
                     key. Set secret_key_file to {} on every replica, restart them, and run this again.",
                    done.remaining,
                    new_key_file.display()
                );
                bail!("the rotation is not complete");
            }
            println!("every secret is now under key {}.", new.id());
            if current.id() != new.id() {
                println!(
                    "next: set secret_key_file = {:?} on every replica, keep the old key in previous_key_files, \
                     restart them one at a time, and run this once more (docs/deploy.md, \"Rotating the secret key\").",
                    new_key_file.display().to_string()
                );
            } else {
                println!(
                    "the old keys can leave previous_key_files at the next restart; keep their files as long as \
                     the backups made before today."
                );
            }
            Ok(())
        }
    }
}

fn init_tracing(config: &Config, serving: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if serving { "info" } else { "warn" };
    let filter = EnvFilter::try_from_env("TWOSTEP_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = match config.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// The service's state for a command that acts as the server would (apps, signing keys).
async fn cli_state(config: Config) -> anyhow::Result<crate::state::AppState> {
    let key = crate::key::load_or_create(&config.secret_key_file)?;
    let store = startup::open_store(&config).await?;
    let parts = Parts { store: Arc::new(store), key, clock: startup::system_clock(), demo: false };
    startup::build_state(config, parts)
}

async fn find_org(store: &SqlStore, slug: &str) -> anyhow::Result<Organization> {
    store.org_by_slug(slug.trim()).await?.with_context(|| format!("organization {slug:?} does not exist"))
}

async fn create_user(config: &Config, args: UserCreate) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    let org = find_org(&store, &args.org).await?;
    let username = Username::parse(&args.username)?;
    let (kind, profile_id) = match (&args.profile, args.contact) {
        (Some(p), false) => {
            let profile = store
                .profile_by_slug(org.id, p.trim())
                .await?
                .with_context(|| format!("profile {p:?} does not exist in {}", org.slug))?;
            (AccountKind::User, Some(profile.id))
        }
        (None, true) => (AccountKind::Contact, None),
        _ => bail!("give either --profile or --contact"),
    };
    let phone = args.phone.as_deref().map(PhoneNumber::parse).transpose()?;
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        (Password::new(line), false)
    } else {
        (Password::new(crate::demo::random_password()), true)
    };
    if let Err(crate::service::Refusal::WeakPassword { reasons }) =
        crate::service::users::check_new_password(&password, username.as_str(), &org.slug)
    {
        let list: Vec<&str> = reasons.iter().map(|r| r.message()).collect();
        bail!("password is too weak: {}", list.join("; "));
    }
    let key = crate::key::load_or_create(&config.secret_key_file)?;
    let sealed =
        match &phone {
            Some(p) => Some(key.seal(
                p.e164().as_bytes(),
                &Aad::AccountPhone { org_id: org.id, username_key: &username.key() }.bytes(),
            )?),
            None => None,
        };
    let pw = password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw)).await??;
    let created = store
        .create_account(NewAccount {
            org_id: org.id,
            username: username.as_str().to_owned(),
            kind,
            profile_id,
            password_hash: hash,
            phone_sealed: sealed,
            phone_hint: phone.as_ref().map(PhoneNumber::hint),
            key_id: phone.as_ref().map(|_| key.id().to_owned()),
            created_at: twostep_core::Clock::now(&twostep_core::SystemClock),
        })
        .await;
    match created {
        Ok(_) => {
            println!("created {} {} in {}", kind.as_str(), username, org.slug);
            if generated {
                println!("password: {}", password.expose());
            }
            Ok(())
        }
        Err(StoreError::Conflict(_)) => bail!("username {username} is already taken in {}", org.slug),
        Err(e) => Err(e.into()),
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    if config.public_url_is_https() && config.sms.provider == crate::config::SmsProvider::Log {
        // SPEC §11.9: an https public_url looks like production, where codes must not
        // sit in a log file.
        tracing::warn!(
            "sms.provider is \"log\" while public_url is https: sign-in codes are written to the log \
             instead of being sent; configure the webhook or twilio provider for production"
        );
    }
    let key = crate::key::load_or_create(&config.secret_key_file)?;
    let store = startup::open_store(&config).await?;
    let store: Arc<dyn Store> = Arc::new(store);
    let parts = Parts { store, key, clock: startup::system_clock(), demo };
    let app = App::bind(config, parts).await?;
    let addr = app.local_addr()?;
    if demo {
        match crate::demo::seed(&app.state).await? {
            Some(accounts) => {
                println!("Demo organization \"demo\" created. Sign in with these (shown once):");
                for a in accounts {
                    println!("  {:<10} {:<14} password: {}", a.username, a.profile, a.password);
                }
            }
            None => {
                println!("Demo organization \"demo\" already exists; its passwords were shown when it was created.")
            }
        }
    }
    let shutdown = shutdown_signal();
    println!("twostep listening on http://{addr} (public URL {})", app.state.config.public_url);
    tracing::info!(%addr, "listening");
    app.serve(shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called, before
/// the server says it is listening, so a signal sent right after that line is never missed.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    async move {
        let term = async {
            match terminate.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let int = async {
            match interrupt.as_mut() {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = term => {},
            _ = int => {},
        }
    }
}
