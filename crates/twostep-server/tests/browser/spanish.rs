//! Spanish, a language that is only a directory of Fluent files
//! (`crates/twostep-server/locales/es/`): the pages through the language switch and
//! `Accept-Language`, and the text message in the organisation's language.

use crate::support::{PASSWORD, TestApp, browser, password_hash};
use twostep_core::Clock;
use twostep_core::domain::{AccountKind, AddonState, Language};
use twostep_core::store::{NewAccount, prelude::*};

const ORG: &str = "tienda";

/// Organisation `tienda`, in Spanish, with 2SV mandatory for its technicians and one of
/// them, `lucia`, not enrolled yet.
async fn spanish_org(app: &TestApp) {
    let org = app.store.create_org(ORG, "Tienda Martínez", Language::Spanish).await.unwrap();
    assert_eq!(org.language, Language::Spanish, "stored and read back as `es`");
    let now = app.clock.now();
    app.store.set_addon_state(org.id, AddonState::Connected).await.unwrap();
    app.store.set_two_step_enabled(org.id, true, now, now + 86_400).await.unwrap();
    let tech = app.store.create_profile(org.id, "tecnico", "Técnico", false).await.unwrap();
    app.store.set_mandatory(org.id, Some(tech.id), true, now, now + 86_400).await.unwrap();
    app.store
        .create_account(NewAccount {
            org_id: org.id,
            username: "lucia".into(),
            kind: AccountKind::User,
            profile_id: Some(tech.id),
            password_hash: password_hash(),
            phone_sealed: None,
            phone_hint: None,
            key_id: None,
            created_at: now,
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spanish_organisation_enrolls_by_text_message_with_pages_and_message_in_spanish() {
    let Some(mut b) = browser("spanish").await else { return };
    let app = TestApp::spawn().await;
    spanish_org(&app).await;

    // The browser asks for English; the switch at the bottom of the page offers Español.
    b.goto(&app.url("/login")).await;
    b.wait("html[lang='en'] #sign-in").await;
    assert_eq!(b.text("button[name='lang'][value='es']").await, "Español");
    b.click("button[name='lang'][value='es']").await;
    b.wait("html[lang='es'] #sign-in").await;
    assert_eq!(b.text("h1").await, "Iniciar sesión");
    assert!(b.text("main").await.contains("Contraseña"));
    assert_eq!(b.attr("button[name='lang'][value='es']", "aria-current").await.as_deref(), Some("true"));
    b.screenshot("sign-in").await;

    // A wrong password, then the right one.
    b.fill("#organization", ORG).await;
    b.fill("#username", "lucia").await;
    b.fill("#password", "not the password").await;
    b.click("#sign-in").await;
    // The refusal, on the page that answered (the form itself is on both pages: reading
    // `main` right after the click could find the old page as it was being replaced).
    b.wait("html[lang='es'] #form-error").await;
    assert!(b.text("main").await.contains("Organización, nombre de usuario o contraseña incorrectos."));
    b.fill("#organization", ORG).await;
    b.fill("#username", "lucia").await;
    b.fill("#password", PASSWORD).await;
    b.click("#sign-in").await;

    // Mandatory enrollment, by text message.
    b.wait("#choose-sms").await;
    assert_eq!(b.text("h1").await, "Configurar la verificación en dos pasos");
    b.screenshot("enroll").await;
    b.click("#choose-sms").await;
    b.fill("#phone", "+34 612 345 678").await;
    b.click("#add-number").await;
    let sent = b.text("#sms-sent").await;
    assert!(sent.starts_with("Hemos enviado un código a") && sent.contains("678"), "{sent}");

    // The message is in the organisation's language, with the WebOTP line.
    let outbox = app.state.outbox.as_ref().expect("demo outbox");
    let message = outbox.messages().into_iter().find(|m| m.to == "+34612345678").expect("a text message").body;
    let code: String = message.chars().take(6).collect();
    assert_eq!(
        message,
        format!(
            "{code} es su código de verificación de Twostep. No lo comparta con nadie.\n\n@{} #{code}",
            url::Url::parse(&app.state.config.public_url).unwrap().host_str().unwrap()
        )
    );

    let wrong = if code == "123456" { "654321" } else { "123456" };
    b.fill("#code", wrong).await;
    b.click("#verify-enable").await;
    assert!(b.text("#code-error").await.starts_with("Ese código no es correcto."));
    b.screenshot("wrong-code").await;
    b.fill("#code", &code).await;
    b.click("#verify-enable").await;
    b.wait("#recovery-codes").await;
    assert_eq!(b.text("h1").await, "Guarde sus códigos de recuperación");
    assert_eq!(b.count("#recovery-codes li").await, 10);
    b.screenshot("recovery-codes").await;
    b.click("#continue").await;

    let signed_in = b.text("#signed-in-as").await;
    assert_eq!(signed_in, "Sesión iniciada como lucia en tienda.");
    assert!(b.text("main").await.contains("Esta sesión ha superado la verificación en dos pasos."));
    b.screenshot("home").await;
    b.sign_out().await;
    assert_eq!(b.text("#flash").await, "Ha cerrado la sesión.");
    b.close().await;
}

/// No browser needed: `Accept-Language` alone chooses Spanish, regional tags included.
#[tokio::test]
async fn accept_language_es_serves_the_pages_in_spanish() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    for header in ["es", "es-MX,es;q=0.9,en;q=0.5", "fr, es-ES;q=0.8, pt;q=0.3"] {
        let html = http.get(app.url("/login")).header("accept-language", header).send().await.unwrap();
        let html = html.text().await.unwrap();
        assert!(html.contains("<html lang=\"es\">"), "{header}");
        assert!(html.contains("<h1>Iniciar sesión</h1>") && html.contains("Contraseña"), "{header}");
        // Each language is named in itself on the switch.
        assert!(html.contains(">English</button>") && html.contains(">Português</button>"), "{header}");
    }
}
