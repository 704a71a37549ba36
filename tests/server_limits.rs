//! Guessing is slow and cheap for the server (TM-20), everything a caller makes it keep is
//! bounded (TM-15), and connections are bounded in number and time (TM-30).

use std::time::Duration;

use http::StatusCode;
use http::header::{COOKIE, RETRY_AFTER, SET_COOKIE};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uma_as_core::{AuthorizationServer, AuthorizationServerBuilder, ClientConfig, UserConfig};

const CALLBACK: &str = "https://photoz.example/oauth-callback";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn builder() -> AuthorizationServerBuilder {
    AuthorizationServer::builder()
        .client(ClientConfig::new("photoz", "photoz-secret").redirect_uris([CALLBACK]))
        .client(ClientConfig::new("doctor-app", "doctor-secret"))
        .user(UserConfig::new("alice").password("alice-password"))
        .password_grant(true)
}

async fn password_grant(issuer: &str, username: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{issuer}/token"))
        .basic_auth("doctor-app", Some("doctor-secret"))
        .form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_password_grant_locks_an_account_and_a_client_after_their_free_failures() {
    let server = builder().spawn().await.unwrap();
    let issuer = server.issuer();
    for _ in 0..6 {
        let wrong = password_grant(issuer, "alice", "guess").await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    }
    // Locked: even the right password waits, and no password is checked meanwhile.
    let locked = password_grant(issuer, "alice", "alice-password").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        locked.headers()[RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        locked.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    // A client guessing across many accounts is locked too.
    let server = builder().spawn().await.unwrap();
    let issuer = server.issuer();
    for i in 0..21 {
        let wrong = password_grant(issuer, &format!("user{i}"), "guess").await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    }
    let locked = password_grant(issuer, "alice", "alice-password").await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn authorize_url(issuer: &str, extra: &str) -> String {
    format!(
        "{issuer}/authorize?response_type=code&client_id=photoz&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        url::form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
    )
}

/// Opens the sign-in page: its cookie and CSRF token.
async fn open_page(issuer: &str) -> (String, String) {
    let page = browser()
        .get(authorize_url(issuer, ""))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    (cookie, csrf)
}

async fn sign_in(
    issuer: &str,
    page: &(String, String),
    username: &str,
    password: &str,
) -> reqwest::Response {
    browser()
        .post(format!("{issuer}/authorize"))
        .header(COOKIE, &page.0)
        .form(&[
            ("csrf", page.1.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sign_in_session_ends_after_five_wrong_passwords_and_a_guessing_peer_is_locked() {
    let server = builder().spawn().await.unwrap();
    let issuer = server.issuer();
    let page = open_page(issuer).await;
    for attempt in 1..=4 {
        let wrong = sign_in(issuer, &page, &format!("user{attempt}"), "guess").await;
        assert_eq!(wrong.status(), StatusCode::OK, "attempt {attempt}");
        assert!(
            wrong
                .text()
                .await
                .unwrap()
                .contains("Wrong username or password.")
        );
    }
    let last = sign_in(issuer, &page, "user5", "guess").await;
    assert_eq!(last.status(), StatusCode::FORBIDDEN);
    // The session is over: not even the right password finishes it.
    let after = sign_in(issuer, &page, "alice", "alice-password").await;
    assert_eq!(after.status(), StatusCode::FORBIDDEN);

    // The same peer goes on with new sessions: past its free failures it is locked.
    let mut statuses = Vec::new();
    for round in 0..4 {
        let page = open_page(issuer).await;
        for attempt in 0..5 {
            let response =
                sign_in(issuer, &page, &format!("user-{round}-{attempt}"), "guess").await;
            statuses.push(response.status());
        }
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn every_value_the_sign_in_page_keeps_is_bounded() {
    let server = builder().spawn().await.unwrap();
    let issuer = server.issuer();
    let http = browser();
    let status = |url: String| {
        let http = http.clone();
        async move { http.get(url).send().await.unwrap().status() }
    };
    let long = |n: usize| "a".repeat(n);
    assert_eq!(
        status(authorize_url(issuer, &format!("&state={}", long(512)))).await,
        StatusCode::OK
    );
    for extra in [
        format!("&state={}", long(513)),
        format!("&nonce={}", long(513)),
        format!("&scope={}", long(1025)),
    ] {
        assert_eq!(
            status(authorize_url(issuer, &extra)).await,
            StatusCode::BAD_REQUEST,
            "{}",
            &extra[..20]
        );
    }
    // Past the largest request head the server reads at all: 431, before any handler.
    assert_eq!(
        status(authorize_url(issuer, &format!("&state={}", long(60_000)))).await,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    // A PKCE challenge too short or of the wrong alphabet goes back as invalid_request; one too
    // long to keep is refused like any value too long.
    for challenge in ["a".repeat(42), format!("{}!", "a".repeat(42))] {
        let url = authorize_url(issuer, "").replace(CHALLENGE, &challenge);
        let response = http.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{challenge}");
        let location = response.headers()["location"].to_str().unwrap();
        assert!(location.contains("error=invalid_request"), "{location}");
    }
    let url = authorize_url(issuer, "").replace(CHALLENGE, &long(129));
    assert_eq!(status(url).await, StatusCode::BAD_REQUEST);
    let claims = format!("{issuer}/claims?client_id=doctor-app&ticket={}", long(3000));
    assert_eq!(status(claims).await, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sign_in_sessions_are_capped() {
    let server = builder().max_sign_in_sessions(3).spawn().await.unwrap();
    let issuer = server.issuer();
    for _ in 0..3 {
        open_page(issuer).await;
    }
    let full = browser()
        .get(authorize_url(issuer, ""))
        .send()
        .await
        .unwrap();
    assert_eq!(full.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// Reads until the server closes the connection; how long that took.
async fn until_closed(stream: &mut TcpStream) -> Duration {
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

#[tokio::test]
async fn slow_and_silent_connections_are_closed() {
    let server = builder()
        .header_read_timeout(Duration::from_secs(1))
        .idle_timeout(Duration::from_secs(2))
        .request_body_timeout(Duration::from_secs(1))
        .spawn()
        .await
        .unwrap();
    let addr = server.local_addr();

    // Headers trickled a byte at a time, forever: closed by the header deadline.
    let mut trickling = TcpStream::connect(addr).await.unwrap();
    let trickle = async {
        for byte in b"GET /jwks HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().cycle() {
            if trickling.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), trickle)
        .await
        .expect("a trickling connection is closed within 30 s");

    // A connection that says nothing: closed when idle.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), until_closed(&mut silent))
        .await
        .expect("a silent connection is closed");

    // A body sent too slowly: 408.
    let mut slow_body = TcpStream::connect(addr).await.unwrap();
    slow_body
        .write_all(b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type=")
        .await
        .unwrap();
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(30), slow_body.read(&mut answer))
        .await
        .expect("the slow body is answered")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let server = builder().max_connections(2).spawn().await.unwrap();
    let addr = server.local_addr();
    let jwks = format!("{}/jwks", server.issuer());
    // Two connections hold both places.
    let first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();
    // While both are held a third is not served...
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let refused = impatient.get(&jwks).send().await;
    assert!(refused.as_ref().is_err_and(|e| e.is_timeout()));
    // ...and once one closes, it is.
    drop(first);
    let patient = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    assert_eq!(
        patient.get(&jwks).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn cookies_are_secure_on_https_and_scoped_to_the_issuer_path() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // As behind a TLS-terminating proxy at https://sso.example/realms/photoz.
    let server = builder()
        .issuer("https://sso.example/realms/photoz")
        .build()
        .await
        .unwrap();
    tokio::spawn(server.serve(listener, std::future::pending()));
    let page = browser()
        .get(authorize_url(&format!("http://{addr}/realms/photoz"), ""))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("; Path=/realms/photoz"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
}
