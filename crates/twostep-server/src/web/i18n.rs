//! Every text a person reads — the pages, the error messages, the text messages and the
//! emails — in every language Twostep speaks. The texts are data: Project Fluent files,
//! `crates/twostep-server/locales/<code>/*.ftl`, one directory per language, embedded in
//! the binary when it is built (`build.rs`), so nothing is read from disk at run time.
//! English is the reference: a key missing in another language falls back to it, and the
//! unit tests below fail when any language lacks a key or uses a variable English does
//! not supply.
//!
//! Two ways to read a text:
//! - [`table`]: a language's texts for the templates (`t.key`) and for Rust
//!   (`table(lang).get("key")`), with each variable written `{name}` for the caller to
//!   fill in (`|replace("{n}", …)` in a template);
//! - [`text`]: one message formatted by Fluent with its values, where plural forms and
//!   other choices follow the value (`{ $n -> [one] … *[other] … }`).

use crate::service::Refusal;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_syntax::ast;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

/// The language of a page or of a message: the organisation's `Language`, one type.
pub use twostep_core::domain::Language as Lang;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/locales.rs"));
}

/// One language's Fluent files, loaded.
struct Locale {
    code: &'static str,
    bundle: FluentBundle<FluentResource>,
    /// Every message of the language and the variables (`$name`) it uses.
    messages: BTreeMap<String, BTreeSet<String>>,
    /// What went wrong loading the files (syntax errors, a key defined twice); a unit
    /// test keeps this empty.
    problems: Vec<String>,
}

impl Locale {
    fn load(code: &'static str, files: &[(&str, &'static str)]) -> Self {
        let id = code.parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // The text goes into HTML, text messages and email as it is: no bidi isolation marks.
        bundle.set_use_isolating(false);
        let mut messages = BTreeMap::new();
        let mut problems = Vec::new();
        for (file, source) in files {
            let resource = FluentResource::try_new((*source).to_owned()).unwrap_or_else(|(partial, errors)| {
                problems.extend(errors.iter().map(|e| format!("{code}/{file}: {e:?}")));
                partial
            });
            for entry in resource.entries() {
                if let ast::Entry::Message(m) = entry {
                    let mut vars = BTreeSet::new();
                    if let Some(value) = &m.value {
                        variables(value, &mut vars);
                    }
                    messages.insert(m.id.name.to_owned(), vars);
                }
            }
            if let Err(errors) = bundle.add_resource(resource) {
                problems.extend(errors.iter().map(|e| format!("{code}/{file}: {e}")));
            }
        }
        Self { code, bundle, messages, problems }
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> Option<String> {
        let pattern = self.bundle.get_message(key)?.value()?;
        let mut errors = Vec::new();
        let text = self.bundle.format_pattern(pattern, args, &mut errors).into_owned();
        if !errors.is_empty() {
            // A variable the caller did not give, a reference to nothing: the text still
            // shows, with the gap marked. Never the values: they may be links or codes.
            tracing::warn!(language = self.code, key, ?errors, "translation incomplete");
            #[cfg(test)]
            panic!("{}/{key}: {errors:?}", self.code);
        }
        Some(text)
    }
}

/// The variables a pattern uses, in selectors and in every variant.
fn variables(pattern: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    fn inline(e: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
        match e {
            ast::InlineExpression::VariableReference { id } => {
                out.insert(id.name.to_owned());
            }
            ast::InlineExpression::FunctionReference { arguments, .. }
            | ast::InlineExpression::TermReference { arguments: Some(arguments), .. } => {
                arguments.positional.iter().for_each(|a| inline(a, out));
                arguments.named.iter().for_each(|a| inline(&a.value, out));
            }
            ast::InlineExpression::Placeable { expression } => expression_vars(expression, out),
            _ => {}
        }
    }
    fn expression_vars(e: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
        match e {
            ast::Expression::Select { selector, variants } => {
                inline(selector, out);
                variants.iter().for_each(|v| variables(&v.value, out));
            }
            ast::Expression::Inline(e) => inline(e, out),
        }
    }
    for element in &pattern.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            expression_vars(expression, out);
        }
    }
}

static LOCALES: LazyLock<Vec<Locale>> = LazyLock::new(|| {
    let locales: Vec<Locale> = embedded::LOCALES.iter().map(|(code, files)| Locale::load(code, files)).collect();
    for problem in locales.iter().flat_map(|l| &l.problems) {
        tracing::error!(%problem, "translation file");
    }
    locales
});

fn locale(lang: Lang) -> Option<&'static Locale> {
    LOCALES.iter().find(|l| l.code == lang.as_str())
}

/// The language first, then English (once).
fn chain(lang: Lang) -> impl Iterator<Item = &'static Locale> {
    [locale(lang), locale(Lang::English).filter(|_| lang != Lang::English)].into_iter().flatten()
}

/// One language's words, for templates (`t.key`) and for Rust (`get`); a variable
/// appears as `{name}`.
#[derive(Serialize)]
#[serde(transparent)]
pub struct Table(BTreeMap<&'static str, String>);

impl Table {
    /// The text for `key`, or empty when no language has it (unit tests keep them whole).
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or("")
    }

    fn build(lang: Lang) -> Self {
        let mut words = BTreeMap::new();
        // English first, then the language over it: a missing key reads in English.
        for l in chain(lang).collect::<Vec<_>>().into_iter().rev() {
            for (key, vars) in &l.messages {
                let mut args = FluentArgs::new();
                for var in vars {
                    args.set(var.as_str(), format!("{{{var}}}"));
                }
                if let Some(text) = l.format(key, Some(&args)) {
                    words.insert(key.as_str(), text);
                }
            }
        }
        Self(words)
    }
}

static TABLES: LazyLock<Vec<Table>> = LazyLock::new(|| Lang::ALL.iter().map(|l| Table::build(*l)).collect());

pub fn table(lang: Lang) -> &'static Table {
    let i = Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0);
    &TABLES[i]
}

/// The message `key` in `lang` (English when the language lacks it) with its values:
/// numbers as `i64` (plural forms follow them), text as `&str`. Empty when no language
/// has the key.
pub fn text(lang: Lang, key: &str, values: &[(&str, FluentValue<'_>)]) -> String {
    let mut args = FluentArgs::with_capacity(values.len());
    for (name, value) in values {
        args.set(*name, value.clone());
    }
    chain(lang).find_map(|l| l.format(key, Some(&args))).unwrap_or_default()
}

/// Whether `key` is a message (in English, the reference).
fn has(key: &str) -> bool {
    locale(Lang::English).is_some_and(|l| l.messages.contains_key(key))
}

/// The languages for the switch on every page: code and name, each in itself.
#[derive(Serialize)]
pub struct LanguageName {
    pub code: &'static str,
    pub name: String,
}

pub fn languages() -> Vec<LanguageName> {
    Lang::ALL
        .iter()
        .map(|l| LanguageName { code: l.as_str(), name: table(*l).get("language_name").to_owned() })
        .collect()
}

/// "45 seconds", "1 minute", "15 minutes" (rounded up: never promise too early).
pub fn duration(lang: Lang, seconds: i64) -> String {
    let seconds = seconds.max(1);
    if seconds < 60 {
        return text(lang, "seconds", &[("n", seconds.into())]);
    }
    text(lang, "minutes", &[("n", ((seconds + 59) / 60).into())])
}

/// The message a person reads for an error of the service.
pub fn error(lang: Lang, e: &Refusal) -> String {
    let key = format!("err_{}", e.code());
    let key = if has(&key) { key.as_str() } else { "err_internal" };
    match e {
        Refusal::InvalidCode { attempts_remaining: Some(n) } if *n > 0 => {
            let left = text(lang, "err_attempts_left", &[("n", (*n).into())]);
            format!("{} {left}", text(lang, key, &[]))
        }
        Refusal::InvalidCode { attempts_remaining: Some(_) } => {
            format!("{} {}", text(lang, key, &[]), text(lang, "err_flow_expired", &[]))
        }
        Refusal::TwoStepLocked { retry_after }
        | Refusal::RateLimited { retry_after }
        | Refusal::SmsRateLimited { retry_after } => text(lang, key, &[("time", duration(lang, *retry_after).into())]),
        _ => text(lang, key, &[]),
    }
}

/// A message carried over a redirect: a `flash_` text, or an error code's message.
pub fn flash(lang: Lang, key: &str, n: Option<i64>) -> Option<String> {
    let key = [format!("flash_{key}"), format!("err_{key}")].into_iter().find(|k| has(k))?;
    Some(text(lang, &key, &[("n", n.unwrap_or(0).into())]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn english() -> &'static Locale {
        locale(Lang::English).expect("locales/en")
    }

    #[test]
    fn every_language_is_a_directory_of_files_and_every_directory_a_language() {
        let dirs: Vec<&str> = LOCALES.iter().map(|l| l.code).collect();
        for lang in Lang::ALL {
            assert!(dirs.contains(&lang.as_str()), "no locales/{lang}/ for {lang:?}");
        }
        for dir in dirs {
            assert!(
                Lang::parse(dir).is_some_and(|l| l.as_str() == dir),
                "locales/{dir}/ is not a language of twostep_core::domain::Language"
            );
        }
    }

    #[test]
    fn the_files_parse_and_define_each_key_once() {
        for l in LOCALES.iter() {
            assert!(l.problems.is_empty(), "{}: {:#?}", l.code, l.problems);
            assert!(!l.messages.is_empty(), "{} has no messages", l.code);
        }
    }

    #[test]
    fn every_language_has_every_key_with_the_same_variables() {
        // All the gaps at once, so a translator sees the whole list.
        let reference = &english().messages;
        let mut problems = Vec::new();
        for l in LOCALES.iter() {
            for (key, vars) in reference {
                let Some(theirs) = l.messages.get(key) else {
                    problems.push(format!("{}: {key} is missing", l.code));
                    continue;
                };
                for var in theirs.difference(vars) {
                    problems.push(format!("{}: {key} uses ${var}, which the code does not supply", l.code));
                }
                for var in vars.difference(theirs) {
                    problems.push(format!("{}: {key} leaves out ${var}", l.code));
                }
            }
            for key in l.messages.keys().filter(|k| !reference.contains_key(*k)) {
                problems.push(format!("{}: {key} is not in English, the reference", l.code));
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn every_message_formats_in_every_language() {
        // `format` panics in tests on any Fluent error (an unknown reference, a variable
        // not given): every message, with each of its variables given.
        for lang in Lang::ALL {
            let t = table(lang);
            for key in english().messages.keys() {
                assert!(!t.get(key).is_empty(), "{lang}/{key} is empty");
            }
        }
        assert_eq!(table(Lang::Spanish).get("outbox_to"), "Para {to} a las {at}");
    }

    #[test]
    fn every_error_code_of_the_api_has_a_message_in_every_language() {
        let errors = [
            Refusal::InvalidRequest(String::new()),
            Refusal::UnknownClient,
            Refusal::PayloadTooLarge,
            Refusal::InvalidCredentials,
            Refusal::SessionInvalid,
            Refusal::SessionRevoked,
            Refusal::FlowExpired,
            Refusal::InvalidCode { attempts_remaining: None },
            Refusal::InvalidCode { attempts_remaining: Some(0) },
            Refusal::InvalidCode { attempts_remaining: Some(1) },
            Refusal::Forbidden,
            Refusal::TwoStepUnsupportedClient,
            Refusal::TwoStepNotAvailable,
            Refusal::StepUpRequired,
            Refusal::NotFound(String::new()),
            Refusal::AddonUnavailable,
            Refusal::AddonNotConnected,
            Refusal::TwoStepDisabled,
            Refusal::MethodRequired,
            Refusal::Conflict(String::new()),
            Refusal::InvalidPhone,
            Refusal::TwoStepLocked { retry_after: 1 },
            Refusal::RateLimited { retry_after: 61 },
            Refusal::SmsRateLimited { retry_after: 3600 },
            Refusal::SmsDeliveryFailed,
            Refusal::Unavailable,
            Refusal::WeakPassword { reasons: Vec::new() },
            Refusal::AccountDisabled,
            Refusal::AccessCodeRequired,
            Refusal::LinkExpired,
            Refusal::Internal(String::new()),
        ];
        for e in &errors {
            assert!(has(&format!("err_{}", e.code())), "no message for {}", e.code());
            for lang in Lang::ALL {
                let message = error(lang, e);
                assert!(!message.is_empty() && !message.contains('{'), "{} in {lang}: {message}", e.code());
            }
        }
    }

    #[test]
    fn wrong_codes_say_how_many_attempts_remain() {
        let e = Refusal::InvalidCode { attempts_remaining: Some(3) };
        assert_eq!(error(Lang::English, &e), "That code is not correct. 3 attempts left.");
        assert_eq!(error(Lang::Portuguese, &e), "Esse código não está correto. Restam 3 tentativas.");
        assert_eq!(error(Lang::Spanish, &e), "Ese código no es correcto. Le quedan 3 intentos.");
        let last = Refusal::InvalidCode { attempts_remaining: Some(1) };
        assert_eq!(error(Lang::English, &last), "That code is not correct. 1 attempt left.");
        assert_eq!(error(Lang::Portuguese, &last), "Esse código não está correto. Resta 1 tentativa.");
        assert_eq!(error(Lang::Spanish, &last), "Ese código no es correcto. Le queda 1 intento.");
    }

    #[test]
    fn a_lockout_says_when_to_try_again_rounded_up_to_minutes() {
        let e = Refusal::TwoStepLocked { retry_after: 14 * 60 + 1 };
        assert!(error(Lang::English, &e).ends_with("Try again in 15 minutes."));
        assert!(error(Lang::Spanish, &e).ends_with("Inténtelo de nuevo dentro de 15 minutos."));
        assert_eq!(duration(Lang::Portuguese, 30), "30 segundos");
        assert_eq!(duration(Lang::English, 60), "1 minute");
        assert_eq!(duration(Lang::Spanish, 1), "1 segundo");
    }

    #[test]
    fn templates_get_variables_as_placeholders_to_fill_in() {
        assert_eq!(table(Lang::English).get("recovery_remaining"), "{n} of 10 recovery codes left.");
        assert_eq!(table(Lang::Portuguese).get("signed_in_as"), "Sessão iniciada como {user} em {org}.");
        assert_eq!(table(Lang::Spanish).get("sign_in_title"), "Iniciar sesión");
        assert_eq!(table(Lang::English).get("no_such_key"), "");
    }

    #[test]
    fn flash_messages_take_a_count_or_an_error_code() {
        assert_eq!(
            flash(Lang::Spanish, "recovery_used", Some(7)).unwrap(),
            "Ha iniciado sesión con un código de recuperación: le quedan 7."
        );
        assert_eq!(
            flash(Lang::English, "session_invalid", None).unwrap(),
            "Your session has ended. Please sign in again."
        );
        assert_eq!(flash(Lang::English, "no_such_thing", None), None);
    }

    #[test]
    fn the_switch_names_each_language_in_itself() {
        let names: Vec<_> = languages().into_iter().map(|l| format!("{}={}", l.code, l.name)).collect();
        assert_eq!(names, ["en=English", "pt=Português", "es=Español"]);
    }
}
