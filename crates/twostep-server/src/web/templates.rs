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
];

static ENV: LazyLock<Result<Environment<'static>, Error>> = LazyLock::new(|| {
    let mut env = Environment::new();
    // A misspelt variable or a missing translation is an error, not a blank on the page;
    // `{% if me %}` on an absent value stays allowed.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(env)
});

pub fn render(name: &str, ctx: Value) -> Result<String, Error> {
    match &*ENV {
        Ok(env) => env.get_template(name)?.render(ctx),
        Err(e) => Err(Error::new(e.kind(), e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        if let Err(e) = &*ENV {
            panic!("{e:#}");
        }
    }
}
