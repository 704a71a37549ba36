//! The UMA loop end to end over real loopback HTTP: bundled AS, guarded resource server, client.

mod support;

use http::StatusCode;
use http::header::{AUTHORIZATION, CACHE_CONTROL, PRAGMA, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use support::{CLIENT_ID, World};
use uma_client::{ErrorCode, UmaChallenge};

fn is_ticket(ticket: &str) -> bool {
    // A 6-byte issue time and 32 random bytes, base64url without padding: 256 random bits,
    // URL-safe.
    ticket.len() == 51
        && ticket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Posts an UMA grant request with Bob's token as `Authorization: Bearer`.
async fn redeem(world: &World, bearer: &str, ticket: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(world.url("/token"))
        .header(AUTHORIZATION, format!("Bearer {bearer}"))
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("ticket", ticket),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn challenge_ticket_rpt_and_access() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let http = reqwest::Client::new();

    // 1. No token: 401 with exactly the challenge of Grant §3.2.1.
    let first = http.get(&world.album_url).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let headers: Vec<_> = first.headers().get_all(WWW_AUTHENTICATE).iter().collect();
    assert_eq!(headers.len(), 1);
    let header = headers[0].to_str().unwrap();
    let challenge = UmaChallenge::parse(header).unwrap();
    assert_eq!(
        header,
        format!(
            r#"UMA realm="photoz", as_uri="{}", ticket="{}""#,
            world.issuer,
            challenge.ticket.as_str()
        )
    );
    assert!(
        is_ticket(challenge.ticket.as_str()),
        "{:?}",
        challenge.ticket.as_str()
    );

    // 2. The ticket for an RPT: 200, no-store, access_token and token_type, no scope.
    let bob = world.token("bob").await;
    let response = redeem(&world, bob.as_str(), challenge.ticket.as_str()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    assert_eq!(response.headers()[PRAGMA], "no-cache");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    let members: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // No refresh token unless the server is configured to issue them (`rpt_refresh_tokens`).
    assert_eq!(members, ["access_token", "expires_in", "token_type"]);
    assert_eq!(body["token_type"], "Bearer");
    let rpt = body["access_token"].as_str().unwrap().to_owned();

    // 3. Introspection with the resource server's PAT: the permission, spec and Keycloak names.
    let pat = world.protection.pat().await.unwrap();
    let introspection: Value = http
        .post(world.url("/introspect"))
        .bearer_auth(pat.as_str())
        .form(&[("token", rpt.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let exp = introspection["exp"].as_u64().unwrap();
    let iat = introspection["iat"].as_u64().unwrap();
    assert_eq!(exp - iat, 300);
    assert_eq!(
        introspection,
        json!({
            "active": true,
            "exp": exp,
            "iat": iat,
            "sub": "bob",
            "client_id": CLIENT_ID,
            "iss": world.issuer,
            "token_type": "Bearer",
            "permissions": [{
                "resource_id": world.resource_id,
                "resource_scopes": ["view"],
                "rsid": world.resource_id,
                "rsname": "Alice's album",
                "scopes": ["view"],
                "exp": exp
            }]
        })
    );

    // 4. The RPT opens the album, and the handler sees who the requesting party is.
    let album = http
        .get(&world.album_url)
        .bearer_auth(&rpt)
        .send()
        .await
        .unwrap();
    assert_eq!(album.status(), StatusCode::OK);
    assert_eq!(
        album.json::<Value>().await.unwrap(),
        json!({"album": "Alice's album", "viewer": "bob"})
    );
}

#[tokio::test]
async fn uma_client_follows_the_challenge_by_itself() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let uma = world.client_for("bob").await;
    let response = uma.get(&world.album_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["viewer"], "bob");
}

#[tokio::test]
async fn without_a_share_the_client_is_denied_and_never_gets_in() {
    let world = World::start().await;
    let uma = world.client_for("bob").await;
    let error = uma.get(&world.album_url).send().await.unwrap_err();
    let body = error.oauth_error().expect("an OAuth error body");
    assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
    assert_eq!(body.error, ErrorCode::RequestDenied);
    assert_eq!(body.ticket, None, "request_denied carries no ticket");

    // The raw exchange: 403 request_denied, no-store, and the RS still challenges.
    let first = reqwest::get(&world.album_url).await.unwrap();
    let challenge = UmaChallenge::from_headers(first.headers()).unwrap();
    let response = redeem(
        &world,
        world.token("bob").await.as_str(),
        challenge.ticket.as_str(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "request_denied");
    assert!(body.get("ticket").is_none());
}

#[tokio::test]
async fn a_share_for_someone_else_grants_nothing() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "carol", ["view"])
        .await
        .unwrap();
    let error = world
        .client_for("bob")
        .await
        .get(&world.album_url)
        .send()
        .await
        .unwrap_err();
    assert_eq!(error.oauth_error().unwrap().error, ErrorCode::RequestDenied);
}

#[tokio::test]
async fn the_owner_reaches_her_own_resource() {
    let world = World::start().await;
    let response = world
        .client_for("alice")
        .await
        .get(&world.album_url)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_ticket_is_single_use() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let bob = world.token("bob").await;
    let ticket = support::ticket(&world).await;
    let first = redeem(&world, bob.as_str(), ticket.as_str()).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = redeem(&world, bob.as_str(), ticket.as_str()).await;
    assert_eq!(second.status(), StatusCode::BAD_REQUEST);
    assert_eq!(second.headers()[CACHE_CONTROL], "no-store");
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"], "invalid_grant");
    assert!(body.get("ticket").is_none());
}

#[tokio::test]
async fn a_refused_ticket_is_spent_too() {
    // Grant §5.5: presenting a ticket spends it, whatever the outcome.
    let world = World::start().await;
    let bob = world.token("bob").await;
    let ticket = support::ticket(&world).await;
    let denied = redeem(&world, bob.as_str(), ticket.as_str()).await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let replay = redeem(&world, bob.as_str(), ticket.as_str()).await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        replay.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn fifty_parallel_redemptions_of_one_ticket_yield_one_rpt() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let bob = world.token("bob").await;
    let ticket = support::ticket(&world).await;
    let token_url = world.url("/token");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let request = reqwest::Client::new()
                .post(&token_url)
                .bearer_auth(bob.as_str())
                .form(&[
                    ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
                    ("ticket", ticket.as_str()),
                ]);
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1);
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::BAD_REQUEST)
            .count(),
        49
    );
}

/// A refusal's side effects go to one redemption only: of fifty at once by a client as itself
/// (an unidentified party, before a policy naming people), exactly one gets `need_info` with a
/// new ticket, and that ticket works once bob is identified.
#[tokio::test]
async fn fifty_parallel_refusals_of_one_ticket_yield_one_new_ticket() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let ticket = support::ticket(&world).await;
    let token_url = world.url("/token");
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let request = reqwest::Client::new()
                .post(&token_url)
                .basic_auth(CLIENT_ID, Some(support::CLIENT_SECRET))
                .form(&[
                    ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
                    ("ticket", ticket.as_str()),
                ]);
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                (response.status(), response.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let need_info: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::FORBIDDEN)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(need_info.len(), 1, "{answers:?}");
    assert_eq!(need_info[0]["error"], "need_info");
    assert!(
        answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::BAD_REQUEST)
            .all(|(_, body)| body["error"] == "invalid_grant" && body.get("ticket").is_none())
    );
    assert_eq!(
        answers
            .iter()
            .filter(|(status, _)| *status == StatusCode::BAD_REQUEST)
            .count(),
        49
    );
    let bob = world.token("bob").await;
    let next = need_info[0]["ticket"].as_str().unwrap();
    assert_eq!(
        redeem(&world, bob.as_str(), next).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_insufficient_rpt_gets_a_fresh_challenge() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let first = reqwest::get(&world.album_url).await.unwrap();
    let challenge = UmaChallenge::from_headers(first.headers()).unwrap();
    let rpt = world
        .client_for("bob")
        .await
        .obtain_rpt(&challenge)
        .await
        .unwrap()
        .rpt();

    // `view` does not cover `PUT`, which needs `edit`: a new ticket, never a 200 (Grant §3.5).
    let edit = reqwest::Client::new()
        .put(&world.album_url)
        .bearer_auth(rpt.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(edit.status(), StatusCode::UNAUTHORIZED);
    let again = UmaChallenge::from_headers(edit.headers()).unwrap();
    assert_ne!(again.ticket, challenge.ticket);
    assert!(is_ticket(again.ticket.as_str()));

    // A token the AS never issued is treated like none.
    let forged = reqwest::Client::new()
        .get(&world.album_url)
        .bearer_auth("forged-token")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    assert!(UmaChallenge::from_headers(forged.headers()).is_some());
}

#[tokio::test]
async fn rs_fails_closed_when_the_as_is_unreachable() {
    // A port that was just free: nothing listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let protection = uma_client::ProtectionClient::builder(&issuer)
        .credentials(uma_client::ClientCredentials::new(
            "photoz",
            "photoz-secret",
        ))
        .build()
        .unwrap();
    let (_, album_url) = support::serve_album(&issuer, protection, "some-resource").await;
    for request in [
        reqwest::Client::new().get(&album_url),
        reqwest::Client::new().get(&album_url).bearer_auth("an-rpt"),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()["warning"],
            r#"199 - "UMA Authorization Server Unreachable""#
        );
        assert!(response.headers().get(WWW_AUTHENTICATE).is_none());
    }
    // The client reports it as such.
    let uma = uma_client::UmaClient::builder()
        .trust(&issuer)
        .auth(uma_client::GrantAuth::Client(
            uma_client::ClientCredentials::new("x", "y"),
        ))
        .build()
        .unwrap();
    let error = uma.get(&album_url).send().await.unwrap_err();
    assert!(error.is_authorization_server_unreachable(), "{error:?}");
    assert_eq!(error.status(), None);
}

#[tokio::test]
async fn unprotected_and_unmatched_routes() {
    let world = World::start().await;
    let health = reqwest::get(format!("http://{}/health", world.rs_addr))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    // A path the resolver does not know is denied, not served.
    let unlisted = reqwest::get(format!("http://{}/unlisted", world.rs_addr))
        .await
        .unwrap();
    assert_eq!(unlisted.status(), StatusCode::FORBIDDEN);
    assert_ne!(unlisted.text().await.unwrap(), "should never be served");
}

#[tokio::test]
async fn the_client_sends_nothing_to_an_untrusted_as() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let uma = uma_client::UmaClient::builder()
        .trust("https://some-other-as.example")
        .auth(uma_client::GrantAuth::Bearer(world.token("bob").await))
        .build()
        .unwrap();
    let error = uma.get(&world.album_url).send().await.unwrap_err();
    assert!(error.is_untrusted_authorization_server(), "{error:?}");
    assert_eq!(error.as_uri(), Some(world.issuer.as_str()));
}

#[tokio::test]
async fn the_reqwest_middleware_follows_the_challenge_too() {
    let world = World::start().await;
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(uma_client::UmaMiddleware::new(
            world.client_for("bob").await,
        ))
        .build();
    // Nothing shared yet: the grant's refusal comes back as a middleware error.
    let error = http.get(&world.album_url).send().await.unwrap_err();
    let reqwest_middleware::Error::Middleware(inner) = error else {
        panic!("expected the grant's error, got {error:?}");
    };
    let uma_error = inner.downcast_ref::<uma_client::Error>().unwrap();
    assert_eq!(
        uma_error.oauth_error().unwrap().error,
        ErrorCode::RequestDenied
    );

    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let response = http.get(&world.album_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["viewer"], "bob");
}
