//! The command line (SPEC §8).

use clap::{Args, CommandFactory, Parser, Subcommand};
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
    /// Apps that sign in through Twostep with OpenID Connect.
    #[command(subcommand)]
    App(AppCommand),
    /// The configuration file and TWOSTEP_* variables.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Print a shell completion script to standard output.
    #[command(after_help = "Examples:\n  twostep completions bash > /etc/bash_completion.d/twostep\n  \
                            twostep completions zsh > \"${fpath[1]}/_twostep\"\n  \
                            twostep completions fish > ~/.config/fish/completions/twostep.fish")]
    Completions {
        /// The shell to write the script for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to standard output, e.g. `twostep man > twostep.1`.
    Man,
    /// Ask a running server whether it is alive: a plain HTTP GET; exits 0 on a 2xx answer,
    /// 1 otherwise. For container health checks; reads no configuration.
    Healthcheck {
        /// The URL to ask.
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz", value_name = "URL")]
        url: String,
        /// Give up after this long (humantime: "2s", "500ms").
        #[arg(long, default_value = "3s", value_name = "DURATION", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check the configuration as `serve` would read it, without starting anything.
    ///
    /// Reads the file and the TWOSTEP_* variables with the same loader as `serve`. A problem
    /// the loader finds (TOML syntax, an unknown key, a value of the wrong kind) stops the
    /// check there, as it stops `serve`; after that, every problem found is listed, one per
    /// line: the secret key file must be a readable, valid key (or be missing in a writable
    /// folder: then it is created at first start), every previous key file must be one,
    /// `database_url` must parse as sqlite:// or postgres:// with the parser the server
    /// uses, and the SMS provider's settings must be complete. The database is not
    /// contacted (`twostep migrate` does that) and no text message is sent. Prints
    /// "configuration OK" and exits 0, or exits 1.
    Check,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Write a new random key to a new file (mode 0600) and print its id.
    Generate {
        /// The file to create; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Show how many secrets each key holds, and which configured file has that key.
    Status,
    /// Re-encrypt every secret under the key in FILE, while the service runs; safe to
    /// interrupt and run again (docs/deploy.md, "Rotating the secret key").
    Rotate {
        /// The key to move every secret to; the configuration must already open it
        /// (as secret_key_file or in previous_key_files).
        #[arg(long, value_name = "FILE")]
        new_key_file: PathBuf,
        /// Secrets re-encrypted per batch.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(i64).range(1..=100_000))]
        batch_size: i64,
    },
    /// New keys for signing ID and access tokens (RS256 and ES256); the old ones stop
    /// signing and stay in /oauth2/jwks until their tokens have expired.
    RotateSigning,
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an app; prints its client_id and, for a confidential app, its
    /// client_secret (shown once; only a hash is kept).
    Create {
        /// The organisation whose users sign in to the app.
        #[arg(long, value_name = "SLUG")]
        org: String,
        /// Short name of the app in the organisation, e.g. "wiki".
        slug: String,
        /// Display name shown on the sign-in page, e.g. "Team wiki".
        #[arg(long)]
        name: String,
        /// An exact redirect URI (https, or http on localhost); repeat for several.
        #[arg(long = "redirect-uri", value_name = "URL", required = true)]
        redirect_uri: Vec<String>,
        /// A public app (single-page or mobile): no secret, PKCE required.
        #[arg(long)]
        public: bool,
        /// The app cannot do 2-Step Verification: its sign-ins are refused whenever 2SV
        /// applies to the user.
        #[arg(long)]
        no_two_step: bool,
    },
    /// List an organisation's apps.
    List {
        /// The organisation.
        #[arg(long, value_name = "SLUG")]
        org: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Create {
        /// Short name used at sign-in, e.g. "acme".
        slug: String,
        /// Display name, e.g. "Acme Maintenance".
        #[arg(long)]
        name: String,
        /// Language of its text messages and emails: en, pt or es.
        #[arg(long, default_value = "en")]
        language: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Create a profile in an organisation.
    Create {
        /// The organisation's slug.
        #[arg(long, value_name = "SLUG")]
        org: String,
        /// Profile slug, e.g. "technician".
        profile: String,
        /// Display name, e.g. "Technician".
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
        /// The organisation's slug.
        #[arg(long, value_name = "SLUG")]
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
        /// Read the new password from one line of standard input (otherwise one is
        /// generated and printed).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Move a user to another profile.
    SetProfile {
        #[command(flatten)]
        user: UserRef,
        /// The slug of the new profile.
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
    /// The organisation's slug.
    #[arg(long, value_name = "SLUG")]
    pub org: String,
    /// The account's username (any case).
    pub username: String,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("kind").required(true).args(["profile", "contact"]))]
pub struct UserCreate {
    /// The organisation's slug.
    #[arg(long, value_name = "SLUG")]
    pub org: String,
    /// The username used at sign-in, unique in the organisation.
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
        /// The organisation's slug.
        #[arg(long, value_name = "SLUG")]
        org: String,
    },
}

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    clap_complete::generate(shell, &mut Cli::command(), "twostep", out);
}

/// Writes the manual page (roff): the command, its options and its subcommands.
pub fn man(out: &mut dyn std::io::Write) -> std::io::Result<()> {
    clap_mangen::Man::new(Cli::command()).render(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand and every argument says what it is for (`--help`, the man page,
    /// the completion scripts).
    #[test]
    fn every_subcommand_and_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id != "help" && id != "version" && arg.get_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    missing.push(path.clone());
                }
                walk(sub, &path, missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "twostep", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
        Cli::command().debug_assert();
    }
}
