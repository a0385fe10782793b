//! The command line (SPEC §8).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "twostep", version, about = "Sign-in service with organisation-wide 2-Step Verification")]
pub struct Cli {
    /// Configuration file (TOML). Also TWOSTEP_CONFIG.
    #[arg(long, global = true, env = "TWOSTEP_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (JSON API and pages).
    Serve {
        /// Seed a demo organisation on first start and keep sent text messages at /dev/outbox.
        #[arg(long)]
        demo: bool,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Organisations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Profiles of an organisation.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Accounts (users and contacts).
    #[command(subcommand)]
    User(UserCommand),
    /// The 2-Step Verification add-on.
    #[command(subcommand)]
    Addon(AddonCommand),
    /// The secret key that encrypts TOTP secrets and phone numbers at rest.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a new random key to a new file (mode 0600) and print its id.
    Generate {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Show how many secrets each key holds, and which configured file has that key.
    Status,
    /// Re-encrypt every secret under the key in FILE, while the service runs; safe to
    /// interrupt and run again (docs/deploy.md, "Rotating the secret key").
    Rotate {
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
        /// Secrets re-encrypted per batch.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        batch_size: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Create {
        /// Short name used at sign-in, e.g. "acme".
        slug: String,
        #[arg(long)]
        name: String,
        /// Language of text messages: en or pt.
        #[arg(long, default_value = "en")]
        language: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create a profile in an organisation.
    Create {
        #[arg(long)]
        org: String,
        /// Profile slug, e.g. "technician".
        profile: String,
        #[arg(long)]
        name: String,
        /// Members may manage security settings.
        #[arg(long)]
        admin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (with a profile) or a contact.
    Create(UserCreate),
    /// List the accounts of an organisation.
    List {
        #[arg(long)]
        org: String,
    },
    /// Disable an account: every session ends at once; sign-in answers account_disabled.
    Disable(UserRef),
    /// Enable a disabled account again.
    Enable(UserRef),
    /// Delete an account (the audit keeps its username).
    Delete(UserRef),
    /// Set a password (read from standard input, or generated and printed); every
    /// session ends.
    Passwd {
        #[command(flatten)]
        user: UserRef,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Move a user to another profile.
    SetProfile {
        #[command(flatten)]
        user: UserRef,
        profile: String,
    },
    /// Issue a setup link (the last one dies) and print it.
    SetupLink(UserRef),
    /// Issue a temporary access code (after a 2SV reset) and print it.
    AccessCode(UserRef),
}

/// One account: `--org <slug> <username>`.
#[derive(Debug, Args)]
pub struct UserRef {
    #[arg(long)]
    pub org: String,
    pub username: String,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("kind").required(true).args(["profile", "contact"]))]
pub struct UserCreate {
    #[arg(long)]
    pub org: String,
    pub username: String,
    /// The user's profile slug.
    #[arg(long)]
    pub profile: Option<String>,
    /// Create an external contact (never asked for 2SV).
    #[arg(long)]
    pub contact: bool,
    /// Phone number in international form.
    #[arg(long)]
    pub phone: Option<String>,
    /// Read the password from one line of standard input (otherwise one is generated
    /// and printed).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum AddonCommand {
    /// Make the 2SV add-on available to an organisation (its administrators then connect it).
    Activate {
        #[arg(long)]
        org: String,
    },
}
