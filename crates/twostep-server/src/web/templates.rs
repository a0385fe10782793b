//! The page templates (minijinja), compiled into the binary: nothing is read from disk
//! at run time. Autoescaping is on for every `.html` template.

use minijinja::{Environment, Error, Value};
use std::sync::LazyLock;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates![
    "base.html",
    "macros.html",
    "message.html",
    "continue.html",
    "login.html",
    "two_step.html",
    "enroll.html",
    "totp.html",
    "sms.html",
    "recovery_codes.html",
    "home.html",
    "settings.html",
    "step_up.html",
    "admin.html",
    "admin_reset.html",
    "outbox.html",
    "setup.html",
    "access_code.html",
    "admin_users.html",
    "admin_user.html",
    "admin_secret.html",
];

static ENV: LazyLock<Result<Environment<'static>, Error>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // A misspelt variable or a missing translation is an error, not a blank on the page;
    // `{% if me %}` on an absent value stays allowed.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
    env.add_filter("segment", segment);
    // The language switch on every page: each language named in itself (`language_name`).
    env.add_global("languages", Value::from_serialize(crate::web::i18n::languages()));
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
});

/// Percent-encodes one URL path segment (a username or a profile slug in a form action);
/// RFC 3986 §2.3 unreserved characters stay as they are.
fn segment(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn render(name: &str, ctx: Value) -> Result<String, Error> {
    match &*ENV {
        Ok(env) => env.get_template(name)?.render(ctx),
        Err(e) => Err(Error::new(e.kind(), e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str, extra: Value) -> Result<String, Error> {
        let t = crate::web::i18n::table(crate::web::i18n::Lang::English);
        let ctx = minijinja::context! { t, lang => "en", csrf => "x", back => "/", flash => None::<String>, demo => true, ..extra };
        render(name, ctx)
    }

    #[test]
    fn the_admin_card_renders_in_every_add_on_state() {
        for addon in ["unavailable", "available", "connected"] {
            let s = minijinja::context! {
                addon, enabled => true, mandatory_for_organization => false,
                enrollment_period_days => 7, remember_device_days => 30,
                profiles => vec![minijinja::context! { slug => "technician", name => "Technician", mandatory => true, users => 2, enrolled => 1 }],
            };
            let users = vec![minijinja::context! {
                username => "ana", profile => Some("technician"), kind => "user", required => true,
                methods => vec!["totp"], last_two_step_at => None::<String>,
            }];
            let events = vec![
                minijinja::context! { at => "now", kind => "k", actor => None::<String>, subject => None::<String>, outcome => "o" },
            ];
            let me = minijinja::context! { username => "boss", admin => true };
            let html = sample("admin.html", minijinja::context! { me, s, users, events, form_error => None::<String> });
            if let Err(e) = html {
                panic!("{addon}: {e:#}");
            }
        }
    }

    #[test]
    fn the_account_pages_render() {
        let reasons = vec!["It is one of the most common passwords."];
        let html =
            sample("setup.html", minijinja::context! { token => "t", username => "ana", error => "weak", reasons });
        assert!(html.unwrap().contains("most common"));
        sample("access_code.html", minijinja::context! { error => None::<String> }).unwrap();
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(segment("ana.maria"), "ana.maria");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn every_template_compiles() {
        if let Err(e) = &*ENV {
            panic!("{e:#}");
        }
    }
}
