//! SPEC §12 pages in headless Chromium: a setup link leads into forced enrollment, and
//! after a lost phone an access code unlocks enrollment again.

use crate::enroll_totp_after_choice;
use crate::support::{ORG, TestApp, browser};
use twostep_core::Clock;
use twostep_core::crypto::Token;
use twostep_core::store::prelude::*;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_user_who_sets_a_password_enrolls_and_signs_in() {
    let Some(mut b) = browser("admin-creates-user").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;

    b.sign_in(&app, "boss").await;
    b.click("#to-users").await;
    b.wait("#create-user").await;
    b.fill("#new-username", "carla").await;
    b.fill("#new-display-name", "Carla Reis").await;
    b.fill("#new-email", "carla@example.com").await;
    b.wait("#new-profile").await.select_by_value("technician").await.unwrap();
    b.click("#create-user").await;
    let link = b.text("#setup-link").await;
    assert!(link.starts_with(&app.state.config.public_url), "{link}");
    b.screenshot("user-created").await;
    // Duplicate usernames are refused on the page.
    b.goto(&app.url("/admin/users")).await;
    b.fill("#new-username", "CARLA").await;
    b.click("#create-user").await;
    assert!(b.text("#form-error").await.contains("already taken"), "duplicate refused");
    b.sign_out().await;

    // The new user: the link, a password, forced enrollment, then a normal sign-in.
    b.goto(&link.replace(&app.state.config.public_url, &app.base)).await;
    b.fill("#password", NEW_PASSWORD).await;
    b.fill("#confirm", NEW_PASSWORD).await;
    b.click("#set-password").await;
    b.wait("#choose-totp").await;
    let secret = enroll_totp_after_choice(&mut b, &app).await;
    b.sign_out().await;
    b.goto(&app.url("/login")).await;
    b.fill("#organization", ORG).await;
    b.fill("#username", "carla").await;
    b.fill("#password", NEW_PASSWORD).await;
    b.click("#sign-in").await;
    b.fill("#code", &app.code(&secret)).await;
    b.click("#verify").await;
    b.wait("#signed-in-as").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_user_lands_on_the_sign_in_page_at_the_next_page_load() {
    let Some(mut b) = browser("disable-user").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;

    // Ana signs in; her browser's cookies are kept aside while the admin works.
    b.sign_in(&app, "ana").await;
    b.wait("#signed-in-as").await;
    let ana_cookies = b.client.get_all_cookies().await.unwrap();
    b.client.delete_all_cookies().await.unwrap();

    b.sign_in(&app, "boss").await;
    b.wait("#signed-in-as").await;
    b.goto(&app.url("/admin/users?query=ana")).await;
    b.click("#open-ana").await;
    b.click("#disable-user").await;
    b.wait("#enable-user").await;
    assert!(b.text("#user-status").await.contains("Disabled"));
    b.screenshot("user-disabled").await;
    b.client.delete_all_cookies().await.unwrap();

    // Ana's next page load: the sign-in page; signing in again is refused.
    for cookie in ana_cookies {
        b.client.add_cookie(cookie).await.unwrap();
    }
    b.goto(&app.url("/settings/security")).await;
    b.wait("#sign-in").await;
    assert_eq!(b.path().await, "/login");
    b.sign_in(&app, "ana").await;
    assert!(b.text("#form-error").await.contains("disabled"));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_resets_a_lost_phone_and_issues_an_access_code_and_the_user_reenrolls() {
    let Some(mut b) = browser("lost-phone").await else { return };
    let app = TestApp::spawn().await;
    app.seed().await;
    app.technicians_mandatory().await;
    app.enroll_totp_by_api("ana").await;

    b.sign_in(&app, "boss").await;
    b.wait("#signed-in-as").await;
    b.goto(&app.url("/admin/users/ana")).await;
    b.click("#reset-two-step").await;
    b.wait("#flash").await;
    assert!(b.text("#user-status").await.contains("access code"));
    b.click("#issue-access-code").await;
    let code = b.text("#access-code-value").await;
    assert_eq!(code.len(), 11, "{code}");
    b.screenshot("access-code-issued").await;
    // The report shows who is waiting for one.
    b.goto(&app.url("/admin/users")).await;
    assert!(b.text("#user-ana").await.contains("Waiting for an access code"));
    // The CSV report says the same, one row per account.
    // (Fetched with the admin's cookies: the page's CSP allows no script fetches.)
    let cookies = b.client.get_all_cookies().await.unwrap();
    let cookie = cookies.iter().map(|c| format!("{}={}", c.name(), c.value())).collect::<Vec<_>>().join("; ");
    let r = reqwest::Client::new().get(app.url("/admin/users.csv")).header("cookie", cookie).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = r.text().await.unwrap();
    assert!(
        csv.starts_with(
            "username,display_name,email,kind,profile,disabled,two_step_required,methods,waiting_for_access_code"
        ),
        "{csv}"
    );
    let ana = csv.lines().find(|l| l.starts_with("ana,")).unwrap();
    assert!(ana.contains(",technician,false,true,,true,"), "{ana}");
    assert_eq!(csv.lines().count(), 5, "{csv}");
    b.sign_out().await;

    b.sign_in(&app, "ana").await;
    b.fill("#access-code", &code).await;
    b.click("#submit-access-code").await;
    b.wait("#choose-totp").await;
    enroll_totp_after_choice(&mut b, &app).await;
    b.close().await;
}
