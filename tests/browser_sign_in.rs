//! Both sign-in pages complete in a real browser (headless Chromium over WebDriver): Chromium
//! checks the redirect that follows the form post against the page's CSP `form-action`, which
//! must admit the one verified redirect target and nothing else (TM-22).

mod support;

#[path = "support/browser.rs"]
mod browser;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::response::Html;
use base64::Engine as _;
use browser::Browser;
use http::StatusCode;
use serde_json::Value;
use sha2::Digest as _;
use uma_as_core::{AuthorizationServer, ClientConfig, RunningServer, UserConfig};
use uma_client::{ClientCredentials, GrantAuth, ProtectionClient, ResourceDescription, UmaClient};

/// The clients' callback pages: each visit is kept, and the page says it arrived.
#[derive(Clone, Default)]
struct Callbacks(Arc<Mutex<Vec<String>>>);

impl Callbacks {
    fn last(&self) -> String {
        self.0.lock().unwrap().last().cloned().expect("a callback")
    }
}

async fn callbacks() -> (String, Callbacks) {
    let seen = Callbacks::default();
    let app = Router::new()
        .fallback(|State(seen): State<Callbacks>, uri: http::Uri| async move {
            // The browser asks for a favicon too; only the callbacks count.
            if uri.path().ends_with("-callback") {
                seen.0.lock().unwrap().push(uri.to_string());
            }
            Html("<!doctype html><title>Back</title><p id=\"done\">Back at the client.</p>")
        })
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

async fn server(callbacks: &str) -> RunningServer {
    AuthorizationServer::builder()
        .client(
            ClientConfig::new("photoz", "photoz-secret")
                .redirect_uris([format!("{callbacks}/oauth-callback")]),
        )
        .client(
            ClientConfig::new("doctor-app", "doctor-secret")
                .claims_redirect_uris([format!("{callbacks}/claims-callback")]),
        )
        .user(UserConfig::new("alice").password("alice-password"))
        .user(UserConfig::new("bob").password("bob-password"))
        .spawn()
        .await
        .unwrap()
}

async fn sign_in(browser: &Browser, username: &str, password: &str, screen: &str) {
    browser.wait_for("form").await;
    browser.screenshot("browser-screens", screen).await;
    browser.fill("username", username).await;
    browser.fill("password", password).await;
    browser.click("button[type=submit]").await;
    browser.wait_for("#done").await;
}

#[tokio::test]
async fn the_authorization_code_flow_completes_in_chromium() {
    let Some(browser) = Browser::start("the_authorization_code_flow_completes_in_chromium").await
    else {
        return;
    };
    let (base, seen) = callbacks().await;
    let server = server(&base).await;
    let issuer = server.issuer();
    let callback = format!("{base}/oauth-callback");
    let verifier = "a-verifier-of-at-least-forty-three-characters-in-length";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let authorize = format!(
        "{issuer}/authorize?response_type=code&client_id=photoz&redirect_uri={}&scope=uma_protection&state=s1&code_challenge={challenge}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(callback.as_bytes()).collect::<String>()
    );

    // The policy admits this server and the one callback as form targets, and no framing.
    let page = reqwest::get(&authorize).await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains(&format!("form-action 'self' {callback}")),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    browser.client.goto(&authorize).await.unwrap();
    sign_in(&browser, "alice", "alice-password", "authorize").await;
    let back = url::Url::parse(&format!("{base}{}", seen.last())).unwrap();
    assert_eq!(back.path(), "/oauth-callback");
    let query: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert!(query.contains(&("state".into(), "s1".into())), "{query:?}");
    let code = query
        .iter()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .unwrap();
    let tokens: Value = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth("photoz", Some("photoz-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &callback),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let owner_token = tokens["access_token"].as_str().unwrap();
    let requests = reqwest::Client::new()
        .get(format!("{issuer}/requests"))
        .bearer_auth(owner_token)
        .send()
        .await
        .unwrap();
    assert_eq!(requests.status(), StatusCode::OK);
    browser.close().await;
}

#[tokio::test]
async fn claims_gathering_completes_in_chromium() {
    let Some(browser) = Browser::start("claims_gathering_completes_in_chromium").await else {
        return;
    };
    let (base, seen) = callbacks().await;
    let server = server(&base).await;
    let issuer = server.issuer().to_owned();
    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .build()
        .unwrap();
    let resource = protection
        .create_resource(
            &ResourceDescription::new(["view"])
                .name("album")
                .owner("alice"),
        )
        .await
        .unwrap();
    server.share(&resource, "bob", ["view"]).await.unwrap();
    let (_, album) = support::serve_album(&issuer, protection, &resource).await;

    // The app does not know who is at the keyboard: need_info, then the browser.
    let app = UmaClient::builder()
        .resource_server(support::origin(&album), &issuer)
        .auth(GrantAuth::Client(ClientCredentials::new(
            "doctor-app",
            "doctor-secret",
        )))
        .build()
        .unwrap();
    let needed = app
        .get(&album)
        .send()
        .await
        .unwrap_err()
        .into_need_info()
        .unwrap();
    let interaction = needed
        .claims_interaction(None, "doctor-app", &format!("{base}/claims-callback"))
        .unwrap();
    browser.client.goto(interaction.url.as_str()).await.unwrap();
    sign_in(&browser, "bob", "bob-password", "claims").await;

    let token = app
        .resume(&interaction, &format!("{base}{}", seen.last()))
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .get(&album)
        .bearer_auth(token.access_token.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap()["viewer"],
        "bob",
        "the person who signed in is the requesting party"
    );
    browser.close().await;
}
