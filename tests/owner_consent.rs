//! The owner API (policies, pending requests, decisions) needs the owner's consent for it: a
//! user token carrying `uma_protection`, got through the authorization code grant or the password
//! grant asking for that scope (TM-10). Every other token is `403 insufficient_scope`.

use base64::Engine as _;
use http::StatusCode;
use http::header::{COOKIE, LOCATION, SET_COOKIE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use sha2::Digest as _;
use uma_as_core::{AuthorizationServer, ClientConfig, RunningServer, UserConfig};
use uma_client::{ClientCredentials, ProtectionClient, ResourceDescription};

const CALLBACK: &str = "https://photoz.example/oauth-callback";

async fn server() -> (RunningServer, String) {
    let server = AuthorizationServer::builder()
        .client(ClientConfig::new("photoz", "photoz-secret").redirect_uris([CALLBACK]))
        .client(ClientConfig::new("doctor-app", "doctor-secret"))
        .user(UserConfig::new("alice").password("alice-password"))
        .user(UserConfig::new("bob").password("bob-password"))
        .password_grant(true)
        .spawn()
        .await
        .unwrap();
    let resource = ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .build()
        .unwrap()
        .create_resource(&ResourceDescription::new(["view"]).owner("alice"))
        .await
        .unwrap();
    (server, resource)
}

/// Alice's tokens from the password grant at doctor-app, asking for `scope`.
async fn password_token(server: &RunningServer, scope: &str) -> String {
    let body: Value = reqwest::Client::new()
        .post(format!("{}/token", server.issuer()))
        .basic_auth("doctor-app", Some("doctor-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Every owner endpoint, called with `token`: the statuses and challenges.
async fn owner_calls(
    server: &RunningServer,
    resource: &str,
    token: &str,
) -> Vec<(String, StatusCode, Option<String>)> {
    let http = reqwest::Client::new();
    let issuer = server.issuer();
    let calls = [
        http.get(format!("{issuer}/policy?resource={resource}")),
        http.post(format!("{issuer}/policy/{resource}"))
            .json(&json!({"scopes": ["view"], "users": ["bob"]})),
        http.get(format!("{issuer}/requests")),
        http.post(format!("{issuer}/requests/no-such-request/approve")),
        http.post(format!("{issuer}/requests/no-such-request/deny")),
        http.get(format!("{issuer}/decisions")),
    ];
    let mut answers = Vec::new();
    for call in calls {
        let request = call.bearer_auth(token).build().unwrap();
        let what = format!("{} {}", request.method(), request.url().path());
        let response = http.execute(request).await.unwrap();
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned());
        answers.push((what, response.status(), challenge));
    }
    answers
}

#[tokio::test]
async fn tokens_got_for_anything_else_do_not_open_the_owner_api() {
    let (server, resource) = server().await;
    let sign_in_only = password_token(&server, "openid").await;
    let no_scope = password_token(&server, "").await;
    let as_party = server
        .access_token("alice", "doctor-app")
        .await
        .unwrap()
        .into_string();
    let client_pat = server.pat("photoz").await.unwrap().into_string();
    for (what, token) in [
        ("a sign-in token", sign_in_only),
        ("a token with no scope", no_scope),
        ("a requesting party's token", as_party),
        ("the resource server's own PAT", client_pat),
    ] {
        for (call, status, challenge) in owner_calls(&server, &resource, &token).await {
            assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {call}");
            let challenge = challenge.unwrap_or_default();
            assert!(
                challenge.starts_with("Bearer ")
                    && challenge.contains("error=\"insufficient_scope\"")
                    && challenge.contains("scope=\"uma_protection\""),
                "{what}: {call}: {challenge}"
            );
        }
    }
}

#[tokio::test]
async fn the_password_grant_asking_for_uma_protection_opens_it() {
    let (server, resource) = server().await;
    let token = password_token(&server, "openid uma_protection").await;
    let answers = owner_calls(&server, &resource, &token).await;
    let statuses: Vec<StatusCode> = answers.iter().map(|(_, s, _)| *s).collect();
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::CREATED,
            StatusCode::OK,
            StatusCode::NOT_FOUND,
            StatusCode::NOT_FOUND,
            StatusCode::OK
        ]
    );
}

#[tokio::test]
async fn the_code_grant_says_what_is_asked_and_its_token_opens_it() {
    let (server, resource) = server().await;
    let issuer = server.issuer();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier = "a-verifier-of-at-least-forty-three-characters-long";
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let page = browser
        .get(format!(
            "{issuer}/authorize?response_type=code&client_id=photoz&redirect_uri={}&scope=uma_protection&code_challenge={challenge}&code_challenge_method=S256",
            url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
        ))
        .send()
        .await
        .unwrap();
    let cookie = page.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    assert!(
        html.contains("photoz asks to manage sharing of your resources."),
        "{html}"
    );
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let signed_in = browser
        .post(format!("{issuer}/authorize"))
        .header(COOKIE, &cookie)
        .form(&[
            ("csrf", csrf),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(signed_in.headers()[LOCATION].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens: Value = reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth("photoz", Some("photoz-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    let (call, status, _) = owner_calls(&server, &resource, token).await.remove(2);
    assert_eq!(status, StatusCode::OK, "{call}");
}
