//! The owner's console over plain HTTP, as an attacker drives it: no session, a forged or
//! ended one, a console session used as a token, hostile names from an application, forms that
//! are too big, repeated, or wrong. (The pages as people use them are tested in Chromium, in
//! `console.rs`.)

mod support;

use http::{StatusCode, header};
use reqwest::redirect::Policy;
use serde_json::Value;
use uma_as_core::{AuthorizationServer, ClientConfig, RunningServer, UserConfig};
use uma_client::{
    ClientCredentials, GrantAuth, ProtectionClient, ResourceDescription, UmaClient, UmaGrantRequest,
};

use support::{CLIENT_ID, CLIENT_SECRET, RS_ID, RS_SECRET};

struct Setup {
    server: RunningServer,
    protection: ProtectionClient,
    holiday: String,
    http: reqwest::Client,
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
        .spawn()
        .await
        .unwrap();
    let protection = ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new(RS_ID, RS_SECRET))
        .build()
        .unwrap();
    let holiday = protection
        .create_resource(
            &ResourceDescription::new(["view", "edit"])
                .name("Holiday")
                .owner("alice"),
        )
        .await
        .unwrap();
    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    Setup {
        server,
        protection,
        holiday,
        http,
    }
}

/// The value of the hidden `csrf` field of the first form on a page.
fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[start..].split('"').next().unwrap().to_owned()
}

/// The `name=value` of the cookie a response sets under `name`.
fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

/// A signed-in console session: its cookie and its CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

impl Setup {
    fn console(&self, path: &str) -> String {
        format!("{}/console{path}", self.server.issuer())
    }

    async fn sign_in(&self, user: &str) -> Session {
        let form = self
            .http
            .get(self.console("/sign-in"))
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), StatusCode::OK);
        let login = cookie(&form, "uma_login").expect("a sign-in session");
        let csrf = csrf_of(&form.text().await.unwrap());
        let done = self
            .http
            .post(self.console("/sign-in"))
            .header(header::COOKIE, &login)
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", user),
                ("password", &format!("{user}-password")),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(done.headers()[header::LOCATION], self.console(""));
        let cookie = cookie(&done, "uma_console").expect("a console session");
        let page = self.get(&cookie, "").await;
        assert_eq!(page.status(), StatusCode::OK);
        let csrf = csrf_of(&page.text().await.unwrap());
        Session { cookie, csrf }
    }

    async fn get(&self, cookie: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.console(path))
            .header(header::COOKIE, cookie)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, cookie: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.console(path))
            .header(header::COOKIE, cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Holiday's policies, as alice lists them through the owner API.
    async fn policies(&self) -> Vec<Value> {
        support::policies_on(&self.server, "alice", &self.holiday).await
    }
}

#[tokio::test]
async fn without_a_live_session_pages_send_to_sign_in_and_forms_change_nothing() {
    let setup = setup().await;
    let sign_in = setup.console("/sign-in");
    for cookie in ["", "uma_console=forged", "uma_login=not-the-console"] {
        for path in ["", "/requests", "/activity", "/shared", "/resources/x"] {
            let page = setup.get(cookie, path).await;
            assert_eq!(
                page.status(),
                StatusCode::SEE_OTHER,
                "{path} with {cookie:?}"
            );
            assert_eq!(page.headers()[header::LOCATION], sign_in.as_str());
        }
        let share = format!("/resources/{}/share", setup.holiday);
        let posted = setup
            .post(cookie, &share, &[("user", "bob"), ("scope:view", "on")])
            .await;
        assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    }
    assert!(setup.policies().await.is_empty());

    // Signed out, the old cookie is worth nothing.
    let alice = setup.sign_in("alice").await;
    let out = setup
        .post(&alice.cookie, "/sign-out", &[("csrf", &alice.csrf)])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let cleared = cookie(&out, "uma_console").unwrap();
    assert_eq!(cleared, "uma_console=");
    let page = setup.get(&alice.cookie, "").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn pages_are_locked_down() {
    let setup = setup().await;
    let alice = setup.sign_in("alice").await;
    for path in ["", "/requests", "/activity", "/shared"] {
        let page = setup.get(&alice.cookie, path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        let headers = page.headers();
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'; style-src 'self'; img-src https:; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'"
        );
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(!page.text().await.unwrap().contains("<script"));
    }
    let style = setup.get("", "/style.css").await;
    assert_eq!(
        style.headers()[header::CONTENT_TYPE],
        "text/css; charset=utf-8"
    );
    let wrong = setup
        .http
        .delete(setup.console(""))
        .header(header::COOKIE, &alice.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn what_an_application_registers_shows_as_text() {
    let setup = setup().await;
    for (name, icon) in [
        (
            "<script>alert(1)</script>",
            "http://tracker.example/pixel.png",
        ),
        (
            "\"><img src=x onerror=alert(1)>",
            "https://icons.example/album.png",
        ),
    ] {
        let mut description = ResourceDescription::new(["view"]).name(name).owner("alice");
        description.icon_uri = Some(icon.to_owned());
        setup
            .protection
            .create_resource(&description)
            .await
            .unwrap();
    }
    let alice = setup.sign_in("alice").await;
    let page = setup.get(&alice.cookie, "").await.text().await.unwrap();
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(!page.contains("<img src=x"), "{page}");
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{page}"
    );
    // Icons only from https, the only images the page's CSP admits.
    assert!(!page.contains("tracker.example"), "{page}");
    assert!(
        page.contains("src=\"https://icons.example/album.png\""),
        "{page}"
    );
}

#[tokio::test]
async fn a_console_session_is_not_a_token() {
    let setup = setup().await;
    let alice = setup.sign_in("alice").await;
    let value = alice.cookie.split_once('=').unwrap().1;
    let owner_api = setup
        .http
        .get(format!("{}/requests", setup.server.issuer()))
        .bearer_auth(value)
        .send()
        .await
        .unwrap();
    assert!(
        owner_api.status().is_client_error(),
        "{}",
        owner_api.status()
    );
    let pat = setup.protection.pat().await.unwrap();
    let introspected: Value = setup
        .http
        .post(format!("{}/introspect", setup.server.issuer()))
        .bearer_auth(pat.as_str())
        .form(&[("token", value)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], false);
}

#[tokio::test]
async fn share_forms_say_what_is_wrong_and_change_nothing() {
    let setup = setup().await;
    let alice = setup.sign_in("alice").await;
    let share = format!("/resources/{}/share", setup.holiday);
    let csrf = alice.csrf.as_str();
    for (form, says) in [
        (vec![("scope:view", "on")], "Say whom to share with"),
        (
            vec![("user", "bob"), ("group", "friends"), ("scope:view", "on")],
            "not both",
        ),
        (
            vec![("user", "mallory"), ("scope:view", "on")],
            "Nobody by that name",
        ),
        (vec![("user", "alice"), ("scope:view", "on")], "That is you"),
        (
            vec![("group", "admins"), ("scope:view", "on")],
            "no group by that name",
        ),
        (vec![("user", "bob"), ("scope:admin", "on")], "at least one"),
        (
            vec![
                ("user", "bob"),
                ("scope:view", "on"),
                ("until", "2001-01-01"),
            ],
            "That day is past",
        ),
        (
            vec![("user", "bob"), ("scope:view", "on"), ("until", "someday")],
            "not a date",
        ),
    ] {
        let mut form = form;
        form.push(("csrf", csrf));
        let answer = setup.post(&alice.cookie, &share, &form).await;
        assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "{form:?}");
        let page = answer.text().await.unwrap();
        assert!(page.contains(says), "{form:?}: {page}");
    }
    // A repeated field, and a body over the limit, are refused before anything is read.
    let repeated = setup
        .post(
            &alice.cookie,
            &share,
            &[("csrf", csrf), ("user", "bob"), ("user", "carol")],
        )
        .await;
    assert_eq!(repeated.status(), StatusCode::BAD_REQUEST);
    let huge = "x".repeat(2 * 1024 * 1024);
    let too_big = setup
        .post(&alice.cookie, &share, &[("csrf", csrf), ("user", &huge)])
        .await;
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(setup.policies().await.is_empty());

    // A share with a group, until a day, reads back in words.
    let shared = setup
        .post(
            &alice.cookie,
            &share,
            &[
                ("csrf", csrf),
                ("group", "friends"),
                ("scope:view", "on"),
                ("scope:edit", "on"),
                ("until", "2099-12-31"),
            ],
        )
        .await;
    assert_eq!(shared.status(), StatusCode::SEE_OTHER);
    let policies = setup.policies().await;
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0]["groups"], serde_json::json!(["friends"]));
    assert_eq!(policies[0]["not_after"], 4_102_444_799u64);
    let page = setup
        .get(&alice.cookie, &format!("/resources/{}", setup.holiday))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("the group friends can view and edit until 31 Dec 2099"),
        "{page}"
    );
    let bob = setup.sign_in("bob").await;
    let shared_with_bob = setup
        .get(&bob.cookie, "/shared")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        shared_with_bob.contains("you, in the group friends, can view and edit until 31 Dec 2099"),
        "{shared_with_bob}"
    );
}

#[tokio::test]
async fn requests_are_answered_once_and_only_by_their_owner() {
    let setup = setup().await;
    let diary = setup
        .protection
        .create_resource(
            &ResourceDescription::new(["view"])
                .name("Diary")
                .owner("alice")
                .owner_managed_access(true),
        )
        .await
        .unwrap();
    let ticket = setup
        .protection
        .request_permissions(vec![uma_client::PermissionRequest::new(&diary, ["view"])])
        .await
        .unwrap();
    let bobs_client = UmaClient::builder()
        .trust(setup.server.issuer())
        .auth(GrantAuth::Bearer(
            setup.server.access_token("bob", CLIENT_ID).await.unwrap(),
        ))
        .build()
        .unwrap();
    let asked = bobs_client
        .redeem(setup.server.issuer(), &UmaGrantRequest::new(ticket))
        .await;
    assert!(
        asked.as_ref().is_err_and(|e| e.is_request_submitted()),
        "{asked:?}"
    );
    let owner = setup.server.owner_token("alice", CLIENT_ID).await.unwrap();
    let requests: Value = setup
        .http
        .get(format!("{}/requests", setup.server.issuer()))
        .bearer_auth(owner.as_str())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = requests[0]["id"].as_str().unwrap().to_owned();
    let approve = format!("/requests/{id}/approve");

    // Bob, signed in, cannot answer a request put to alice.
    let bob = setup.sign_in("bob").await;
    let answer = setup
        .post(
            &bob.cookie,
            &approve,
            &[("csrf", &bob.csrf), ("scope:view", "on")],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);

    // Alice approves and denies at once (two tabs): one answer counts, the other is refused,
    // and a policy exists exactly when the approval counted.
    let alice = setup.sign_in("alice").await;
    let form = [("csrf", alice.csrf.as_str()), ("scope:view", "on")];
    let deny = format!("/requests/{id}/deny");
    let (approved, denied) = tokio::join!(
        setup.post(&alice.cookie, &approve, &form),
        setup.post(&alice.cookie, &deny, &form),
    );
    let statuses = [approved.status(), denied.status()];
    assert!(
        statuses == [StatusCode::SEE_OTHER, StatusCode::CONFLICT]
            || statuses == [StatusCode::CONFLICT, StatusCode::SEE_OTHER],
        "{statuses:?}"
    );
    let diary_policies = support::policies_on(&setup.server, "alice", &diary).await;
    assert_eq!(
        diary_policies.len(),
        usize::from(statuses[0] == StatusCode::SEE_OTHER)
    );

    // Any later answer is refused.
    for path in [&approve, &deny] {
        let again = setup.post(&alice.cookie, path, &form).await;
        assert_eq!(again.status(), StatusCode::CONFLICT);
    }
}

#[tokio::test]
async fn console_sign_in_is_throttled_like_every_sign_in() {
    let setup = setup().await;
    let setup = &setup;
    let attempt = |password: &'static str| async move {
        let form = setup
            .http
            .get(setup.console("/sign-in"))
            .send()
            .await
            .unwrap();
        let login = cookie(&form, "uma_login").unwrap();
        let csrf = csrf_of(&form.text().await.unwrap());
        setup
            .http
            .post(setup.console("/sign-in"))
            .header(header::COOKIE, &login)
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    };
    // Five failures are free; the sixth locks the account.
    for _ in 0..6 {
        let wrong = attempt("guess").await;
        assert_eq!(wrong.status(), StatusCode::OK);
        assert!(cookie(&wrong, "uma_console").is_none());
        assert!(
            wrong
                .text()
                .await
                .unwrap()
                .contains("Wrong username or password.")
        );
    }
    // Locked: even the right password waits.
    let locked = attempt("alice-password").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.headers().contains_key(header::RETRY_AFTER));
    assert!(cookie(&locked, "uma_console").is_none());
}
