//! The owner's console in a real browser (headless Chromium over WebDriver), against the server
//! over loopback: alice shares, revokes, answers requests and reads the activity; what she does
//! decides what bob's client gets from a guarded resource server. Each test saves a screenshot
//! of each page to `target/console-screens/`.

mod support;

#[path = "support/browser.rs"]
mod browser;

use std::time::Duration;

use browser::Browser;
use fantoccini::Locator;
use http::StatusCode;
use serde_json::json;
use uma_as_core::{AuthorizationServer, ClientConfig, RptFormat, RunningServer, UserConfig};
use uma_client::{
    ClientCredentials, Error, GrantAuth, PermissionRequest, ProtectionClient, ResourceDescription,
    UmaClient, UmaGrantRequest,
};
use uma_rs_guard::RptValidation;

use support::{CLIENT_ID, CLIENT_SECRET, RS_ID, RS_SECRET};

const SCREENS: &str = "console-screens";

/// The server, alice's two resources (Holiday, shared by policy; Diary, owner-managed), each
/// behind a guard that introspects every request (no cache), so that a revocation shows at
/// once.
struct Setup {
    server: RunningServer,
    protection: ProtectionClient,
    holiday: String,
    holiday_url: String,
    diary_url: String,
}

async fn setup() -> Setup {
    let server = AuthorizationServer::builder()
        .client(ClientConfig::new(RS_ID, RS_SECRET))
        .client(ClientConfig::new(CLIENT_ID, CLIENT_SECRET))
        .user(UserConfig::new("alice").password("alice-password"))
        .user(
            UserConfig::new("bob")
                .password("bob-password")
                .groups(["friends"]),
        )
        .user(UserConfig::new("carol").password("carol-password"))
        .rpt_format(RptFormat::Opaque)
        .approval_poll_interval(Duration::ZERO)
        .spawn()
        .await
        .unwrap();
    let protection = ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new(RS_ID, RS_SECRET))
        .build()
        .unwrap();
    let register = |name: &'static str, managed: bool| {
        let protection = protection.clone();
        async move {
            protection
                .create_resource(
                    &ResourceDescription::new(["view", "edit"])
                        .name(name)
                        .resource_type("photo-album")
                        .owner("alice")
                        .owner_managed_access(managed),
                )
                .await
                .unwrap()
        }
    };
    let holiday = register("Holiday", false).await;
    let diary = register("Diary", true).await;
    let serve = |id: String| {
        let (issuer, protection) = (server.issuer().to_owned(), protection.clone());
        async move {
            support::serve_album_with(&issuer, protection, &id, |guard| {
                guard
                    .validation(RptValidation::Introspection)
                    .cache_ttl(Duration::ZERO)
            })
            .await
            .1
        }
    };
    let holiday_url = serve(holiday.clone()).await;
    let diary_url = serve(diary.clone()).await;
    Setup {
        server,
        protection,
        holiday,
        holiday_url,
        diary_url,
    }
}

impl Setup {
    fn console(&self, path: &str) -> String {
        format!("{}/console{path}", self.server.issuer())
    }

    /// `user`'s client (doctor-app), acting for them with their access token.
    async fn client(&self, user: &str, album: &str) -> UmaClient {
        UmaClient::builder()
            .resource_server(support::origin(album), self.server.issuer())
            .auth(GrantAuth::Bearer(
                self.server.access_token(user, CLIENT_ID).await.unwrap(),
            ))
            .build()
            .unwrap()
    }

    /// An RPT for `scopes` on `resource`, redeemed by `user`'s client, or the grant's error.
    async fn rpt(&self, user: &str, resource: &str, scope: &str) -> Result<uma_client::Rpt, Error> {
        let ticket = self
            .protection
            .request_permissions(vec![PermissionRequest::new(resource, [scope])])
            .await
            .unwrap();
        self.client(user, &self.holiday_url)
            .await
            .redeem(self.server.issuer(), &UmaGrantRequest::new(ticket))
            .await
            .map(|token| token.rpt())
    }
}

/// Signs in at the console; waits for its first page.
async fn sign_in(browser: &Browser, setup: &Setup, user: &str) {
    browser.client.goto(&setup.console("")).await.unwrap();
    browser.wait_for("input#password").await;
    browser.fill("username", user).await;
    browser.fill("password", &format!("{user}-password")).await;
    browser.click("button[type=submit]").await;
    browser.wait_for("strong#signed-in").await;
}

async fn text(browser: &Browser, css: &str) -> String {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn script(browser: &Browser, code: &str) -> serde_json::Value {
    browser.client.execute(code, vec![]).await.unwrap()
}

/// Every visible input has a label, and nothing is wider than the window.
async fn assert_usable(browser: &Browser, page: &str) {
    let labelled = script(
        browser,
        "return [...document.querySelectorAll('input:not([type=hidden])')]\
         .every(input => input.labels.length > 0)",
    )
    .await;
    assert_eq!(labelled, json!(true), "an input without a label on {page}");
    let fits = script(
        browser,
        "return document.documentElement.scrollWidth <= window.innerWidth",
    )
    .await;
    assert_eq!(fits, json!(true), "{page} is wider than the window");
}

/// The lines of the Activity page.
async fn activity(browser: &Browser, setup: &Setup) -> Vec<String> {
    browser
        .client
        .goto(&setup.console("/activity"))
        .await
        .unwrap();
    browser.wait_for("ol.activity").await;
    assert_usable(browser, "Activity").await;
    let mut lines = Vec::new();
    for line in browser
        .client
        .find_all(Locator::Css("ol.activity .words"))
        .await
        .unwrap()
    {
        lines.push(line.text().await.unwrap());
    }
    lines
}

/// Today as the console writes days, "3 Dec 2026" (UTC).
fn today() -> String {
    let now = time::OffsetDateTime::now_utc();
    let month = now.month().to_string();
    format!("{} {} {}", now.day(), &month[..3], now.year())
}

#[tokio::test]
async fn alice_shares_holiday_with_bob_then_revokes_it() {
    let Some(browser) = Browser::start("alice_shares_holiday_with_bob_then_revokes_it").await
    else {
        return;
    };
    let setup = setup().await;
    sign_in(&browser, &setup, "alice").await;
    assert_usable(&browser, "My resources").await;
    browser.screenshot(SCREENS, "resources").await;
    let page = browser.client.source().await.unwrap();
    assert!(page.contains("Holiday") && page.contains("Diary"), "{page}");
    assert!(page.contains("Only you have access."), "{page}");

    // Share Holiday with bob for view.
    browser
        .client
        .goto(&setup.console(&format!("/resources/{}", setup.holiday)))
        .await
        .unwrap();
    browser.wait_for("form#share").await;
    assert_usable(&browser, "the share form").await;
    browser.screenshot(SCREENS, "share-form").await;
    browser.fill("user", "bob").await;
    browser.click("input[name='scope:view']").await;
    browser.click("#share-button").await;
    browser.wait_for("ul.shares").await;
    browser.screenshot(SCREENS, "shared").await;
    assert_eq!(text(&browser, "span.share").await, "bob can view");

    // Bob's client gets an RPT for view, not for edit; the guard lets view through.
    let rpt = setup.rpt("bob", &setup.holiday, "view").await.unwrap();
    let http = reqwest::Client::new();
    let album = http
        .get(&setup.holiday_url)
        .bearer_auth(rpt.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(album.status(), StatusCode::OK);
    assert!(
        setup
            .rpt("bob", &setup.holiday, "edit")
            .await
            .is_err_and(|e| e.is_request_denied())
    );

    // Activity says what happened, and why.
    let lines = activity(&browser, &setup).await;
    browser.screenshot(SCREENS, "activity").await;
    assert_eq!(
        lines,
        [
            "bob, through doctor-app, was refused edit on Holiday: no share of yours gives them that",
            &format!(
                "bob, through doctor-app, got view on Holiday through the share of {}",
                today()
            ),
        ]
    );

    // Revoke: the RPT is inactive at introspection, and the guard challenges.
    browser
        .client
        .goto(&setup.console(&format!("/resources/{}", setup.holiday)))
        .await
        .unwrap();
    browser.wait_for("button.revoke").await;
    browser.click("button.revoke").await;
    browser.wait_for("p.private").await;
    browser.screenshot(SCREENS, "revoked").await;
    assert!(!setup.protection.introspect(&rpt).await.unwrap().active);
    let album = http
        .get(&setup.holiday_url)
        .bearer_auth(rpt.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(album.status(), StatusCode::UNAUTHORIZED);
    let challenge = album.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("UMA "), "{challenge}");

    let lines = activity(&browser, &setup).await;
    assert!(
        lines[1].ends_with("got view on Holiday through a share since revoked"),
        "{lines:?}"
    );

    // At 375 px wide, the pages still fit.
    browser.client.set_window_size(375, 812).await.unwrap();
    browser.client.goto(&setup.console("")).await.unwrap();
    browser.wait_for("strong#signed-in").await;
    assert_usable(&browser, "My resources at 375 px").await;
    browser.screenshot(SCREENS, "resources-375").await;
    browser.close().await;
}

#[tokio::test]
async fn requests_are_approved_and_denied_in_the_console() {
    let Some(browser) = Browser::start("requests_are_approved_and_denied_in_the_console").await
    else {
        return;
    };
    let setup = setup().await;
    // Diary is owner-managed: bob's and carol's requests go to alice.
    for user in ["bob", "carol"] {
        let asked = setup
            .client(user, &setup.diary_url)
            .await
            .get(&setup.diary_url)
            .send()
            .await;
        assert!(
            asked.as_ref().is_err_and(|e| e.is_request_submitted()),
            "{asked:?}"
        );
    }
    sign_in(&browser, &setup, "alice").await;
    browser.click("nav a[href$='/requests']").await;
    browser.wait_for("article.request").await;
    assert_usable(&browser, "Requests").await;
    browser.screenshot(SCREENS, "requests").await;

    // Each request's element id, by who asks (read before any navigation makes them stale).
    let mut ids = std::collections::HashMap::new();
    for request in browser
        .client
        .find_all(Locator::Css("article.request"))
        .await
        .unwrap()
    {
        let heading = request
            .find(Locator::Css("h2"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        ids.insert(heading, request.attr("id").await.unwrap().unwrap());
    }
    assert_eq!(ids.len(), 2, "{ids:?}");
    let bobs = &ids["bob through doctor-app asks for Diary"];
    let carols = &ids["carol through doctor-app asks for Diary"];

    // Approving lets bob in.
    browser
        .click(&format!("article#{bobs} button.approve"))
        .await;
    browser.wait_for(&format!("article#{carols}")).await;
    let bob = setup.client("bob", &setup.diary_url).await;
    let response = bob.get(&setup.diary_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // Denying refuses carol.
    browser
        .click(&format!("article#{carols} button.deny"))
        .await;
    browser.wait_for("p#none").await;
    browser.screenshot(SCREENS, "requests-answered").await;
    let carol = setup.client("carol", &setup.diary_url).await;
    let refused = carol.get(&setup.diary_url).send().await;
    assert!(
        refused.as_ref().is_err_and(|e| e.is_request_denied()),
        "{refused:?}"
    );

    // What bob may do now shows under My resources, in words.
    browser.client.goto(&setup.console("")).await.unwrap();
    browser.wait_for("ul.shares").await;
    assert_eq!(
        text(&browser, "span.share").await,
        "bob can view through doctor-app"
    );
    browser.close().await;
}

#[tokio::test]
async fn forms_without_their_token_or_for_another_owner_change_nothing() {
    let Some(browser) =
        Browser::start("forms_without_their_token_or_for_another_owner_change_nothing").await
    else {
        return;
    };
    let setup = setup().await;
    let alices_share = setup
        .server
        .share(&setup.holiday, "bob", ["view"])
        .await
        .unwrap();
    // Alice's own form, posted without its CSRF token.
    sign_in(&browser, &setup, "alice").await;
    browser
        .client
        .goto(&setup.console(&format!("/resources/{}", setup.holiday)))
        .await
        .unwrap();
    browser.wait_for("form#share").await;
    script(
        &browser,
        "document.querySelector('form#share input[name=csrf]').remove()",
    )
    .await;
    browser.fill("user", "carol").await;
    browser.click("input[name='scope:edit']").await;
    browser.click("#share-button").await;
    browser.wait_for("p#message").await;
    browser.screenshot(SCREENS, "refused-without-token").await;
    assert!(
        text(&browser, "p#message")
            .await
            .contains("nothing was changed")
    );
    assert_eq!(
        support::policies_on(&setup.server, "alice", &setup.holiday)
            .await
            .len(),
        1
    );

    // The revoke button, with its token changed.
    browser.client.goto(&setup.console("")).await.unwrap();
    browser.wait_for("button.revoke").await;
    script(
        &browser,
        "document.querySelector('form.inline:has(button.revoke) input[name=csrf]').value = 'guess'",
    )
    .await;
    browser.click("button.revoke").await;
    browser.wait_for("p#message").await;
    assert_eq!(
        support::policies_on(&setup.server, "alice", &setup.holiday)
            .await
            .len(),
        1
    );

    // Bob, signed in with a token of his own, posts to alice's share.
    browser.click("a").await;
    browser.wait_for("#sign-out").await;
    browser.click("#sign-out").await;
    browser.wait_for("input#password").await;
    sign_in(&browser, &setup, "bob").await;
    browser.click("nav a[href$='/shared']").await;
    browser.wait_for("ul.shared").await;
    assert_usable(&browser, "Shared with me").await;
    browser.screenshot(SCREENS, "shared-with-me").await;
    assert_eq!(
        text(&browser, "ul.shared li").await,
        "Holiday of alice, at photoz: you can view"
    );
    script(
        &browser,
        &format!(
            "document.querySelector('form:has(#sign-out)').action = '{}'",
            setup.console(&format!("/shares/{alices_share}/revoke"))
        ),
    )
    .await;
    browser.click("#sign-out").await;
    browser.wait_for("p#message").await;
    browser.screenshot(SCREENS, "refused-other-owner").await;
    assert_eq!(text(&browser, "p#message").await, "You have no such share.");
    assert_eq!(
        support::policies_on(&setup.server, "alice", &setup.holiday)
            .await
            .len(),
        1
    );
    browser.close().await;
}
