//! `twostep user list|disable|enable|delete|passwd|set-profile|setup-link|access-code`
//! (SPEC §12): the operator's side of user management, straight on the database. Every
//! change is audited with the actor `operator` and the client `cli`.

use crate::cli::{UserCommand, UserRef};
use crate::config::Config;
use crate::service::users;
use crate::startup;
use anyhow::{Context, bail};
use std::io::BufRead;
use twostep_core::credential::password;
use twostep_core::crypto::Token;
use twostep_core::domain::{AccountKind, Password, Username};
use twostep_core::store::{Account, AccountQuery, AccountUpdate, AuditEvent, Organization, prelude::*};
use twostep_core::{Clock, SystemClock};
use twostep_store::SqlStore;

async fn find(store: &SqlStore, user: &UserRef) -> anyhow::Result<(Organization, Account)> {
    let org = store
        .org_by_slug(user.org.trim())
        .await?
        .with_context(|| format!("organization {:?} does not exist", user.org))?;
    let key = Username::parse(&user.username)?.key();
    let account = store
        .account_by_username(org.id, &key)
        .await?
        .with_context(|| format!("user {:?} does not exist in {}", user.username, org.slug))?;
    Ok((org, account))
}

async fn audit(store: &SqlStore, org: &Organization, kind: &str, subject: &str) -> anyhow::Result<()> {
    store
        .record_event(AuditEvent {
            org_id: Some(org.id),
            at: SystemClock.now(),
            kind: kind.to_owned(),
            actor: Some("operator".into()),
            subject: Some(subject.to_owned()),
            client: Some("cli".into()),
            ip: None,
            outcome: "success".into(),
        })
        .await?;
    Ok(())
}

pub async fn run(config: &Config, command: UserCommand) -> anyhow::Result<()> {
    let store = startup::open_store(config).await?;
    match command {
        UserCommand::Create(_) => bail!("handled by commands::create_user"),
        UserCommand::List { org } => {
            let org =
                store.org_by_slug(org.trim()).await?.with_context(|| format!("organization {org:?} does not exist"))?;
            let mut after = None;
            println!("username\tkind\tprofile\tdisabled\tmethods\temail");
            loop {
                let page = store
                    .list_accounts(org.id, AccountQuery { after: after.clone(), limit: 500, ..Default::default() })
                    .await?;
                for a in &page {
                    let methods: Vec<&str> = a.methods.iter().map(|m| m.as_str()).collect();
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        a.username,
                        a.kind.as_str(),
                        a.profile_slug.as_deref().unwrap_or("-"),
                        a.disabled,
                        if methods.is_empty() { "-".to_owned() } else { methods.join(",") },
                        a.email.as_deref().unwrap_or("-"),
                    );
                }
                match page.last() {
                    Some(last) if page.len() == 500 => after = Some(last.username_key.clone()),
                    _ => break,
                }
            }
        }
        UserCommand::Disable(user) => {
            let (org, account) = find(&store, &user).await?;
            store.set_disabled(account.id, true).await?;
            audit(&store, &org, "admin.user_disabled", &account.username).await?;
            println!("disabled {} in {}; every session ended", account.username, org.slug);
        }
        UserCommand::Enable(user) => {
            let (org, account) = find(&store, &user).await?;
            store.set_disabled(account.id, false).await?;
            audit(&store, &org, "admin.user_enabled", &account.username).await?;
            println!("enabled {} in {}", account.username, org.slug);
        }
        UserCommand::Delete(user) => {
            let (org, account) = find(&store, &user).await?;
            store.delete_account(account.id).await?;
            audit(&store, &org, "admin.user_deleted", &account.username).await?;
            println!("deleted {} from {}", account.username, org.slug);
        }
        UserCommand::Passwd { user, password_stdin } => {
            let (org, account) = find(&store, &user).await?;
            let (password, generated) = if password_stdin {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).context("cannot read the password from standard input")?;
                let line = line.strip_suffix('\n').unwrap_or(&line);
                let line = line.strip_suffix('\r').unwrap_or(line);
                (Password::new(line), false)
            } else {
                (Password::new(crate::demo::random_password()), true)
            };
            if let Err(crate::service::Refusal::WeakPassword { reasons }) =
                users::check_new_password(&password, &account.username, &org.slug)
            {
                let list: Vec<&str> = reasons.iter().map(|r| r.message()).collect();
                bail!("password is too weak: {}", list.join("; "));
            }
            let pw = password.clone();
            let hash = tokio::task::spawn_blocking(move || password::hash(&pw)).await??;
            store.set_password(account.id, &hash, None).await?;
            audit(&store, &org, "admin.password_set", &account.username).await?;
            println!("password of {} in {} set; every session ended", account.username, org.slug);
            if generated {
                println!("password: {}", password.expose());
            }
        }
        UserCommand::SetProfile { user, profile } => {
            let (org, account) = find(&store, &user).await?;
            if account.kind == AccountKind::Contact {
                bail!("{} is a contact: contacts have no profile", account.username);
            }
            let profile = store
                .profile_by_slug(org.id, profile.trim())
                .await?
                .with_context(|| format!("profile {profile:?} does not exist in {}", org.slug))?;
            store
                .update_account(account.id, AccountUpdate { profile_id: Some(profile.id), ..Default::default() })
                .await?;
            audit(&store, &org, "admin.user_profile", &account.username).await?;
            println!("{} in {} now has profile {}", account.username, org.slug, profile.slug);
        }
        UserCommand::SetupLink(user) => {
            let (org, account) = find(&store, &user).await?;
            let now = SystemClock.now();
            let token = Token::generate();
            let expires_at = now + config.setup_link_ttl.as_secs() as i64;
            store.create_setup_link(account.id, &token.hash().0, now, expires_at).await?;
            audit(&store, &org, "admin.setup_link_issued", &account.username).await?;
            println!("{}", users::setup_url(&config.public_url, &token));
            println!("expires: {}", crate::service::rfc3339(expires_at));
        }
        UserCommand::AccessCode(user) => {
            let (org, account) = find(&store, &user).await?;
            if account.kind == AccountKind::Contact {
                bail!("{} is a contact: 2-Step Verification is never available to contacts", account.username);
            }
            let now = SystemClock.now();
            let code = users::generate_access_code();
            let expires_at = now + config.access_code_ttl.as_secs() as i64;
            store.create_access_code(account.id, &users::access_code_hash(account.id, &code), now, expires_at).await?;
            audit(&store, &org, "admin.access_code_issued", &account.username).await?;
            println!("{code}");
            println!("expires: {}", crate::service::rfc3339(expires_at));
        }
    }
    Ok(())
}
