//! The text of a verification message (SPEC §5), in the organisation's language: the
//! `sms_code` message of `locales/<language>/messages.ftl`.

use crate::web::i18n;
use std::collections::BTreeMap;
use twostep_core::domain::Language;

/// The message: the template's line, a blank line, and the WebOTP line `@host #code`
/// so browsers can fill the code in. `templates` (from `sms.templates`) override the
/// built-in text per language; `{code}` and `{issuer}` are filled in.
pub fn render(
    templates: &BTreeMap<String, String>,
    language: Language,
    issuer: &str,
    host: &str,
    code: &str,
) -> String {
    let line = match templates.get(language.as_str()) {
        // `{code}` last, so an issuer that happens to contain "{code}" stays as written.
        Some(template) => template.replace("{code}", code).replace("{issuer}", issuer),
        // The code as text: a number would lose its leading zeros.
        None => i18n::text(language, "sms_code", &[("code", code.into()), ("issuer", issuer.into())]),
    };
    // WebOTP (Origin-bound one-time codes): the last line is `@host #code`.
    format!("{line}\n\n@{host} #{code}")
}

/// `sms.templates` must name languages Twostep speaks (`en`, `pt`, `es`) and each must
/// show the code, or users would get a message without it above the WebOTP line.
pub fn check_templates(templates: &BTreeMap<String, String>) -> Result<(), String> {
    for (language, template) in templates {
        if Language::parse(language).map(Language::as_str) != Some(language.as_str()) {
            return Err(format!(
                "sms.templates: {language:?} is not a language code Twostep speaks ({})",
                Language::codes()
            ));
        }
        if !template.contains("{code}") {
            return Err(format!("sms.templates.{language} must contain {{code}}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_english_message_matches_the_spec() {
        let text = render(&BTreeMap::new(), Language::English, "Twostep", "login.example.com", "123456");
        assert_eq!(
            text,
            "123456 is your Twostep verification code. Do not share it with anyone.\n\n@login.example.com #123456"
        );
    }

    #[test]
    fn the_portuguese_message_says_the_same() {
        let text = render(&BTreeMap::new(), Language::Portuguese, "Twostep", "login.example.com", "000111");
        assert_eq!(
            text,
            "000111 é o seu código de verificação Twostep. Não o partilhe com ninguém.\n\n@login.example.com #000111"
        );
    }

    #[test]
    fn the_spanish_message_says_the_same() {
        let text = render(&BTreeMap::new(), Language::Spanish, "Twostep", "login.example.com", "012345");
        assert_eq!(
            text,
            "012345 es su código de verificación de Twostep. No lo comparta con nadie.\n\n@login.example.com #012345"
        );
    }

    #[test]
    fn a_template_from_the_configuration_replaces_the_built_in_line_only() {
        let custom = BTreeMap::from([("en".to_string(), "Code {code} for {issuer}".to_string())]);
        assert_eq!(render(&custom, Language::English, "Acme", "h", "123456"), "Code 123456 for Acme\n\n@h #123456");
        // Other languages keep the built-in text.
        assert!(render(&custom, Language::Portuguese, "Acme", "h", "123456").starts_with("123456 é o seu código"));
    }

    #[test]
    fn an_issuer_is_not_mistaken_for_a_placeholder() {
        let text = render(&BTreeMap::new(), Language::English, "{code} Inc", "h", "123456");
        assert!(text.starts_with("123456 is your {code} Inc verification code."), "{text}");
    }

    #[test]
    fn templates_must_name_a_known_language_and_show_the_code() {
        assert!(check_templates(&BTreeMap::new()).is_ok());
        let ok = BTreeMap::from([("pt".to_string(), "{code}: código {issuer}".to_string())]);
        assert!(check_templates(&ok).is_ok());
        let spanish = BTreeMap::from([("es".to_string(), "{code}: código de {issuer}".to_string())]);
        assert!(check_templates(&spanish).is_ok());
        let unknown = BTreeMap::from([("fr".to_string(), "{code}".to_string())]);
        assert!(check_templates(&unknown).unwrap_err().contains("\"fr\""));
        let regional = BTreeMap::from([("pt-BR".to_string(), "{code}".to_string())]);
        assert!(check_templates(&regional).is_err());
        let no_code = BTreeMap::from([("en".to_string(), "Your {issuer} code".to_string())]);
        assert!(check_templates(&no_code).unwrap_err().contains("{code}"));
    }
}
