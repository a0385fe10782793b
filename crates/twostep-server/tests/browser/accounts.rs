//! SPEC §12 pages in headless Chromium: a setup link leads into forced enrollment, and
//! after a lost phone an access code unlocks enrollment again.

use crate::enroll_totp_after_choice;
use crate::support::{ORG, TestApp, browser};
use twostep_core::Clock;
use twostep_core::crypto::Token;
use twostep_core::store::Store;
use twostep_server::service::users;

const NEW_PASSWORD: &str = "violet tangerine orbit 42";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_chooses_a_password_on_the_setup_link_and_is_forced_to_enroll() {
    let Some(mut b) = browser("setup-link").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;
    let org = app.store.org_by_slug(ORG).await.unwrap().unwrap();
    let ana = app.store.account_by_username(org.id, "ana").await.unwrap().unwrap();
    let token = Token::generate();
    let now = app.clock.now();
    app.store.create_setup_link(ana.id, &token.hash().0, now, now + 3600).await.unwrap();
    let link = app.url(&format!("/setup/{}", token.expose()));

    b.goto(&link).await;
    b.wait("#set-password").await;
    b.fill("#password", "password1").await;
    b.fill("#confirm", "password1").await;
    b.click("#set-password").await;
    assert!(b.text("#weak-reasons").await.contains("most common"));
    b.screenshot("setup-weak").await;
    b.fill("#password", NEW_PASSWORD).await;
    b.fill("#confirm", NEW_PASSWORD).await;
    b.click("#set-password").await;
    b.wait("#choose-totp").await;
    assert_eq!(b.path().await, "/login/enroll");
    enroll_totp_after_choice(&mut b, &app).await;

    // Single use: the link now says so.
    b.goto(&link).await;
    assert!(b.text("main").await.contains("no longer works"));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_lost_phone_the_user_enrolls_again_with_an_access_code() {
    let Some(mut b) = browser("access-code").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;
    app.enroll_totp_by_api("bruno").await;
    let org = app.store.org_by_slug(ORG).await.unwrap().unwrap();
    let bruno = app.store.account_by_username(org.id, "bruno").await.unwrap().unwrap();
    app.store.reset_two_step(bruno.id).await.unwrap();
    app.store.set_access_code_required(bruno.id, true).await.unwrap();
    let code = users::generate_access_code();
    let now = app.clock.now();
    app.store.create_access_code(bruno.id, &users::access_code_hash(bruno.id, &code), now, now + 3600).await.unwrap();

    b.sign_in(&app, "bruno").await;
    b.wait("#submit-access-code").await;
    b.screenshot("access-code").await;
    b.fill("#access-code", "AAAAA-AAAAA").await;
    b.click("#submit-access-code").await;
    assert!(b.text("#access-code-error").await.contains("not correct"));
    b.fill("#access-code", &code).await;
    b.click("#submit-access-code").await;
    b.wait("#choose-totp").await;
    enroll_totp_after_choice(&mut b, &app).await;
    b.close().await;
}
