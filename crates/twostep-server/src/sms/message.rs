//! The text of a verification message (SPEC §5), in the organisation's language.

use std::collections::BTreeMap;
use twostep_core::domain::Language;

const ENGLISH: &str = "{code} is your {issuer} verification code. Do not share it with anyone.";
const PORTUGUESE: &str = "{code} é o seu código de verificação {issuer}. Não o partilhe com ninguém.";

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
    let template = templates.get(language.as_str()).map(String::as_str).unwrap_or(match language {
        Language::English => ENGLISH,
        Language::Portuguese => PORTUGUESE,
    });
    let line = template.replace("{issuer}", issuer).replace("{code}", code);
    format!("{line}\n\n@{host} #{code}")
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
    fn portuguese_and_overrides() {
        let pt = render(&BTreeMap::new(), Language::Portuguese, "Twostep", "h", "000111");
        assert!(pt.starts_with("000111 é o seu código de verificação Twostep."), "{pt}");
        assert!(pt.ends_with("\n\n@h #000111"));
        let custom = BTreeMap::from([("en".to_string(), "Code {code} for {issuer}".to_string())]);
        assert_eq!(render(&custom, Language::English, "Acme", "h", "1"), "Code 1 for Acme\n\n@h #1");
    }
}
