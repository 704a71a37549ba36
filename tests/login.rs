//! The sign-in pages: interactive claims gathering (Grant §3.3.2–§3.3.3) and the authorization
//! code grant with PKCE, driven as a browser would, over loopback.

mod support;

use base64::Engine as _;
use http::StatusCode;
use http::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use uma_as_core::{AuthorizationServer, ClientConfig, RunningServer, UserConfig};
use uma_client::{
    ClientCredentials, GrantAuth, PermissionRequest, ProtectionClient, ResourceDescription,
    UmaClient, UmaGrantRequest,
};

const CALLBACK: &str = "https://doctor-app.example/claims-callback?from=uma";
const CODE_CALLBACK: &str = "https://photoz.example/oauth-callback";

struct Setup {
    server: RunningServer,
    protection: ProtectionClient,
    resource_id: String,
}

async fn setup() -> Setup {
    let server = AuthorizationServer::builder()
        .client(ClientConfig::new("photoz", "photoz-secret").redirect_uris([CODE_CALLBACK]))
        .client(ClientConfig::new("doctor-app", "doctor-secret").claims_redirect_uris([CALLBACK]))
        .client(
            ClientConfig::new("two-uris", "secret")
                .claims_redirect_uris(["https://a.example/cb", "https://b.example/cb"]),
        )
        .client(ClientConfig::new("no-uris", "secret"))
        .user(UserConfig::new("alice").password("alice-password"))
        .user(UserConfig::new("bob").password("bob-password"))
        .spawn()
        .await
        .unwrap();
    let protection = ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .build()
        .unwrap();
    let resource_id = protection
        .create_resource(
            &ResourceDescription::new(["view"])
                .name("album")
                .owner("alice"),
        )
        .await
        .unwrap();
    server.share(&resource_id, "bob", ["view"]).await.unwrap();
    Setup {
        server,
        protection,
        resource_id,
    }
}

/// A fresh ticket for `view` on the album.
async fn view_ticket(s: &Setup) -> uma_client::PermissionTicket {
    s.protection
        .request_permissions(vec![PermissionRequest::new(
            s.resource_id.clone(),
            ["view"],
        )])
        .await
        .unwrap()
}

/// A browser that follows no redirect, so that each one can be checked.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The sign-in page at `url`: its session cookie and the form's CSRF token.
async fn open_form(url: &str) -> (String, String) {
    let page = browser().get(url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "{url}");
    let cookie = page.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

async fn submit(action: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> reqwest::Response {
    let mut request = browser().post(action).form(form);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    request.send().await.unwrap()
}

fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn need_info_then_claims_gathering_then_an_rpt() {
    let s = setup().await;
    let issuer = s.server.issuer();
    let client = UmaClient::builder()
        .trust(issuer)
        .auth(GrantAuth::Client(ClientCredentials::new(
            "doctor-app",
            "doctor-secret",
        )))
        .build()
        .unwrap();
    let ticket = view_ticket(&s).await;
    let needed = client
        .redeem(issuer, &UmaGrantRequest::new(ticket))
        .await
        .unwrap_err()
        .into_need_info()
        .unwrap();
    assert_eq!(
        needed.redirect_user.as_deref(),
        Some(format!("{issuer}/claims").as_str())
    );
    let interaction = needed
        .claims_interaction(None, "doctor-app", CALLBACK)
        .unwrap();

    // Bob signs in on the page the client sent him to.
    let (cookie, csrf) = open_form(interaction.url.as_str()).await;
    let action = format!("{issuer}/claims");
    let back = submit(
        &action,
        Some(&cookie),
        &[
            ("username", "bob"),
            ("password", "bob-password"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let location = back.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://doctor-app.example/claims-callback?from=uma&ticket="));
    // The client's own query stays; only `ticket` and `state` are added (Grant §3.3.3).
    let names: Vec<String> = query_of(&location).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["from", "ticket", "state"]);

    // The client checks the state and the new ticket, and redeems it: an RPT for Bob, a PCT.
    let token = client.resume(&interaction, &location).await.unwrap();
    assert!(token.pct.is_some());
    let introspection = s.protection.introspect(&token.rpt()).await.unwrap();
    assert_eq!(introspection.sub.as_deref(), Some("bob"));

    // The presented ticket was spent at the claims endpoint.
    let spent = client
        .redeem(issuer, &UmaGrantRequest::new(needed.ticket.clone()))
        .await
        .unwrap_err();
    assert_eq!(
        spent.oauth_error().unwrap().error,
        uma_client::ErrorCode::InvalidGrant
    );
    // The sign-in session is single-use.
    let again = submit(
        &action,
        Some(&cookie),
        &[
            ("username", "bob"),
            ("password", "bob-password"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn forged_or_cross_site_submissions_are_refused() {
    let s = setup().await;
    let issuer = s.server.issuer();
    let ticket = view_ticket(&s).await;
    let url = format!(
        "{issuer}/claims?client_id=doctor-app&ticket={}&state=xyz",
        ticket.as_str()
    );
    let (cookie, csrf) = open_form(&url).await;
    let action = format!("{issuer}/claims");
    let login = [("username", "bob"), ("password", "bob-password")];
    // No session cookie (a cross-site POST), a wrong CSRF token, no CSRF token.
    for (cookie, csrf) in [
        (None, csrf.as_str()),
        (Some(cookie.as_str()), "forged"),
        (Some(cookie.as_str()), ""),
    ] {
        let mut form = login.to_vec();
        form.push(("csrf", csrf));
        let response = submit(&action, cookie, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(response.headers().get(LOCATION).is_none());
    }
    // A wrong password shows the form again, with the same session.
    let wrong = submit(
        &action,
        Some(&cookie),
        &[("username", "bob"), ("password", "nope"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::OK);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("Wrong username or password")
    );
    let right = submit(
        &action,
        Some(&cookie),
        &[
            ("username", "bob"),
            ("password", "bob-password"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    let location = right.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(query_of(&location).contains(&("state".to_owned(), "xyz".to_owned())));
}

#[tokio::test]
async fn bad_clients_and_redirect_uris_get_an_error_page_and_no_redirect() {
    let s = setup().await;
    let issuer = s.server.issuer();
    let ticket = view_ticket(&s).await;
    let evil =
        url::form_urlencoded::byte_serialize(b"https://evil.example/steal").collect::<String>();
    let near = url::form_urlencoded::byte_serialize(b"https://doctor-app.example/claims-callback")
        .collect::<String>();
    for query in [
        format!("ticket={}", ticket.as_str()),
        format!("client_id=unknown&ticket={}", ticket.as_str()),
        format!(
            "client_id=doctor-app&ticket={}&claims_redirect_uri={evil}",
            ticket.as_str()
        ),
        // Not the registered URI to the letter (its query is missing): no match (CI-3).
        format!(
            "client_id=doctor-app&ticket={}&claims_redirect_uri={near}",
            ticket.as_str()
        ),
        format!("client_id=no-uris&ticket={}", ticket.as_str()),
        format!("client_id=two-uris&ticket={}", ticket.as_str()),
    ] {
        let response = browser()
            .get(format!("{issuer}/claims?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        assert!(response.headers().get(LOCATION).is_none(), "{query}");
    }
    // The ticket was not spent by those refusals: the client and URI were checked first.
    let (_, _) = open_form(&format!(
        "{issuer}/claims?client_id=doctor-app&ticket={}",
        ticket.as_str()
    ))
    .await;
    // An unknown ticket with a good client and URI goes back to the client with an error.
    let response = browser()
        .get(format!(
            "{issuer}/claims?client_id=doctor-app&ticket=unknown&state=s1"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert!(location.starts_with(
        "https://doctor-app.example/claims-callback?from=uma&error=invalid_request&state=s1"
    ));
}

#[tokio::test]
async fn the_gathered_identity_counts_only_for_its_client() {
    let s = setup().await;
    let issuer = s.server.issuer();
    let ticket = view_ticket(&s).await;
    let (cookie, csrf) = open_form(&format!(
        "{issuer}/claims?client_id=doctor-app&ticket={}",
        ticket.as_str()
    ))
    .await;
    let back = submit(
        &format!("{issuer}/claims"),
        Some(&cookie),
        &[
            ("username", "bob"),
            ("password", "bob-password"),
            ("csrf", &csrf),
        ],
    )
    .await;
    let location = back.headers()[LOCATION].to_str().unwrap().to_owned();
    let new_ticket = query_of(&location)
        .into_iter()
        .find(|(k, _)| k == "ticket")
        .unwrap()
        .1;
    // photoz, not the client Bob signed in for, redeems it: Bob does not count.
    let other = UmaClient::builder()
        .trust(issuer)
        .auth(GrantAuth::Client(ClientCredentials::new(
            "photoz",
            "photoz-secret",
        )))
        .build()
        .unwrap();
    let error = other
        .redeem(issuer, &UmaGrantRequest::new(new_ticket.into()))
        .await
        .unwrap_err();
    assert!(error.is_need_info(), "{error:?}");
}

fn pkce() -> (String, String) {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".to_owned();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
    (verifier, challenge)
}

async fn authorize(s: &Setup, challenge: &str, scope: &str) -> String {
    let issuer = s.server.issuer();
    let url = format!(
        "{issuer}/authorize?response_type=code&client_id=photoz&redirect_uri={}&scope={}&state=st&code_challenge={challenge}&code_challenge_method=S256",
        url::form_urlencoded::byte_serialize(CODE_CALLBACK.as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(scope.as_bytes()).collect::<String>(),
    );
    let (cookie, csrf) = open_form(&url).await;
    let back = submit(
        &format!("{issuer}/authorize"),
        Some(&cookie),
        &[
            ("username", "alice"),
            ("password", "alice-password"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let location = back.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with(CODE_CALLBACK));
    let query = query_of(&location);
    assert!(query.contains(&("state".to_owned(), "st".to_owned())));
    query.into_iter().find(|(k, _)| k == "code").unwrap().1
}

async fn exchange(s: &Setup, code: &str, verifier: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/token", s.server.issuer()))
        .basic_auth("photoz", Some("photoz-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CODE_CALLBACK),
            ("code_verifier", verifier),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_owner_authorizes_a_pat_with_the_code_grant_and_pkce() {
    let s = setup().await;
    let (verifier, challenge) = pkce();
    let code = authorize(&s, &challenge, "uma_protection openid").await;
    // A code is minted by the same function as a PAT, but is no PAT (and the refusal does not
    // spend it: the exchange below still works).
    let as_bearer = reqwest::Client::new()
        .get(format!("{}/resource_set", s.server.issuer()))
        .bearer_auth(&code)
        .send()
        .await
        .unwrap();
    assert_eq!(as_bearer.status(), StatusCode::FORBIDDEN);
    assert!(
        as_bearer.headers()[reqwest::header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    let response = exchange(&s, &code, &verifier).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["id_token"].is_string() && body["refresh_token"].is_string());
    // Alice's own PAT for photoz: what it registers is hers, without naming an owner.
    let pat = body["access_token"].as_str().unwrap();
    let created = reqwest::Client::new()
        .post(format!("{}/resource_set", s.server.issuer()))
        .bearer_auth(pat)
        .json(&json!({"resource_scopes": ["view"], "name": "alice's own"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<Value>().await.unwrap()["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let read: Value = reqwest::Client::new()
        .get(format!("{}/resource_set/{id}", s.server.issuer()))
        .bearer_auth(pat)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(read["owner"], "alice");

    // A code is single-use.
    let reused = exchange(&s, &code, &verifier).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pkce_is_required_and_checked() {
    let s = setup().await;
    let (_, challenge) = pkce();
    let code = authorize(&s, &challenge, "openid").await;
    let wrong = exchange(&s, &code, "another-verifier-another-verifier-another-123").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // Without a challenge, or with `plain`: back to the client with invalid_request.
    let issuer = s.server.issuer();
    let callback =
        url::form_urlencoded::byte_serialize(CODE_CALLBACK.as_bytes()).collect::<String>();
    for extra in ["", "&code_challenge=abc&code_challenge_method=plain"] {
        let response = browser()
            .get(format!("{issuer}/authorize?response_type=code&client_id=photoz&redirect_uri={callback}&state=z{extra}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(
            response.headers()[LOCATION]
                .to_str()
                .unwrap()
                .contains("error=invalid_request")
        );
    }
    // An unregistered redirect URI: an error page, no redirect.
    let response = browser()
        .get(format!("{issuer}/authorize?response_type=code&client_id=photoz&redirect_uri=https%3A%2F%2Fevil.example&code_challenge={challenge}&code_challenge_method=S256"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get(LOCATION).is_none());
}

#[tokio::test]
async fn claims_gathering_through_the_guard() {
    let s = setup().await;
    let (_, album) =
        support::serve_album(s.server.issuer(), s.protection.clone(), &s.resource_id).await;
    let client = UmaClient::builder()
        .resource_server(support::origin(&album), s.server.issuer())
        .auth(GrantAuth::Client(ClientCredentials::new(
            "doctor-app",
            "doctor-secret",
        )))
        .build()
        .unwrap();
    // The guarded album, asked for by a client that does not know its user.
    let needed = client
        .get(&album)
        .send()
        .await
        .unwrap_err()
        .into_need_info()
        .unwrap();
    let discovery = client.discovery(s.server.issuer()).await.unwrap();
    let interaction = needed
        .claims_interaction(
            discovery.claims_interaction_endpoint.as_deref(),
            "doctor-app",
            CALLBACK,
        )
        .unwrap();
    let (cookie, csrf) = open_form(interaction.url.as_str()).await;
    let back = submit(
        &format!("{}/claims", s.server.issuer()),
        Some(&cookie),
        &[
            ("username", "bob"),
            ("password", "bob-password"),
            ("csrf", &csrf),
        ],
    )
    .await;
    let location = back.headers()[LOCATION].to_str().unwrap().to_owned();
    let token = client.resume(&interaction, &location).await.unwrap();
    let response = reqwest::Client::new()
        .get(&album)
        .bearer_auth(token.access_token.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["viewer"], "bob");
}
