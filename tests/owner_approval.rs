//! Owner-managed access: a request no policy grants is put to the owner; the client polls with
//! each new ticket; the owner's approval (a policy) or denial decides. End to end over loopback.

mod support;

use std::time::{Duration, Instant};

use http::StatusCode;
use serde_json::{Value, json};
use support::{CLIENT_ID, CLIENT_SECRET, RS_ID, RS_SECRET};
use uma_as_core::{AuthorizationServer, ClientConfig, RunningServer};
use uma_client::{
    ClientCredentials, Error, GrantAuth, ProtectionClient, ResourceDescription, UmaClient,
};

struct Setup {
    server: RunningServer,
    album_url: String,
}

async fn setup() -> Setup {
    let server = AuthorizationServer::builder()
        .client(ClientConfig::new(RS_ID, RS_SECRET))
        .client(ClientConfig::new(CLIENT_ID, CLIENT_SECRET))
        .client(ClientConfig::new(OTHER_APP, "other-secret"))
        .user("alice")
        .user("bob")
        .user("carol")
        .approval_poll_interval(Duration::ZERO)
        .spawn()
        .await
        .unwrap();
    let protection = ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new(RS_ID, RS_SECRET))
        .build()
        .unwrap();
    let resource_id = protection
        .create_resource(
            &ResourceDescription::new(["view", "edit"])
                .name("Alice's album")
                .owner("alice")
                .owner_managed_access(true),
        )
        .await
        .unwrap();
    let (_, album_url) = support::serve_album(server.issuer(), protection, &resource_id).await;
    Setup { server, album_url }
}

const OTHER_APP: &str = "other-app";

async fn client(setup: &Setup, user: &str) -> UmaClient {
    client_via(setup, user, CLIENT_ID).await
}

/// `user`'s client at `client_id`, acting for them with their access token.
async fn client_via(setup: &Setup, user: &str, client_id: &str) -> UmaClient {
    UmaClient::builder()
        .resource_server(support::origin(&setup.album_url), setup.server.issuer())
        .auth(GrantAuth::Bearer(
            setup.server.access_token(user, client_id).await.unwrap(),
        ))
        .build()
        .unwrap()
}

/// The album as `user` sees it through `client_id`: `Ok(status)`, or the grant's error.
async fn visit(setup: &Setup, user: &str, client_id: &str) -> Result<StatusCode, Error> {
    let client = client_via(setup, user, client_id).await;
    client
        .get(&setup.album_url)
        .send()
        .await
        .map(|r| r.status())
}

/// The pending requests Alice sees.
async fn pending(setup: &Setup) -> Vec<Value> {
    let (_, requests) = owner_call(setup, reqwest::Method::GET, "/requests").await;
    requests
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "pending")
        .cloned()
        .collect()
}

#[tokio::test]
async fn an_approval_grants_the_party_that_asked_through_the_client_it_asked_through() {
    let setup = setup().await;
    assert!(
        visit(&setup, "bob", CLIENT_ID)
            .await
            .is_err_and(|e| e.is_request_submitted())
    );
    let requests = pending(&setup).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["party_type"], "user");
    assert_eq!(requests[0]["requested_by"], "bob through doctor-app");
    let id = requests[0]["id"].as_str().unwrap();
    owner_call(
        &setup,
        reqwest::Method::POST,
        &format!("/requests/{id}/approve"),
    )
    .await;

    assert_eq!(
        visit(&setup, "bob", CLIENT_ID).await.unwrap(),
        StatusCode::OK
    );
    // Not every user of the client, and not Bob through another client: each is a new request.
    for (user, client_id) in [("carol", CLIENT_ID), ("bob", OTHER_APP)] {
        assert!(
            visit(&setup, user, client_id)
                .await
                .is_err_and(|e| e.is_request_submitted()),
            "{user} through {client_id}"
        );
    }
    assert_eq!(pending(&setup).await.len(), 2);
}

#[tokio::test]
async fn a_client_acting_for_itself_is_shown_as_such_and_approving_it_grants_no_user() {
    let setup = setup().await;
    let as_itself = UmaClient::builder()
        .resource_server(support::origin(&setup.album_url), setup.server.issuer())
        .auth(GrantAuth::Client(ClientCredentials::new(
            CLIENT_ID,
            CLIENT_SECRET,
        )))
        .build()
        .unwrap();
    assert!(
        as_itself
            .get(&setup.album_url)
            .send()
            .await
            .is_err_and(|e| e.is_request_submitted())
    );
    let requests = pending(&setup).await;
    assert_eq!(requests[0]["party"], CLIENT_ID);
    assert_eq!(requests[0]["party_type"], "client");
    assert_eq!(
        requests[0]["requested_by"],
        "the client doctor-app, for itself"
    );
    let id = requests[0]["id"].as_str().unwrap();
    owner_call(
        &setup,
        reqwest::Method::POST,
        &format!("/requests/{id}/approve"),
    )
    .await;

    assert_eq!(
        as_itself
            .get(&setup.album_url)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // The people who use doctor-app gained nothing from it.
    assert!(
        visit(&setup, "bob", CLIENT_ID)
            .await
            .is_err_and(|e| e.is_request_submitted())
    );
}

async fn owner_call(setup: &Setup, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
    let alice = setup.server.owner_token("alice", CLIENT_ID).await.unwrap();
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", setup.server.issuer()))
        .bearer_auth(alice.as_str())
        .send()
        .await
        .unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_owner_approves_and_the_polling_client_gets_in() {
    let setup = setup().await;
    let bob = client(&setup, "bob").await;
    let pending = bob
        .get(&setup.album_url)
        .send()
        .await
        .unwrap_err()
        .into_request_submitted()
        .unwrap();
    assert_eq!(pending.interval, Some(0));
    assert!(pending.ticket.is_some());

    // Asking again coalesces into the same request.
    assert!(
        bob.get(&setup.album_url)
            .send()
            .await
            .is_err_and(|e| e.is_request_submitted())
    );
    let (status, requests) = owner_call(&setup, reqwest::Method::GET, "/requests").await;
    assert_eq!(status, StatusCode::OK);
    let requests = requests.as_array().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["party"], "bob");
    assert_eq!(requests[0]["scopes"], json!(["view"]));
    assert_eq!(requests[0]["status"], "pending");

    // A poll before the decision: request_submitted again, with yet another ticket.
    let still = bob
        .poll(pending.clone(), Instant::now())
        .await
        .unwrap_err()
        .into_request_submitted()
        .unwrap();
    let repoll = bob
        .redeem(
            setup.server.issuer(),
            &uma_client::UmaGrantRequest::new(still.ticket.clone().unwrap()),
        )
        .await
        .unwrap_err()
        .into_request_submitted()
        .unwrap();
    assert_ne!(repoll.ticket, still.ticket);

    // Alice approves; Bob's next poll gets the RPT, and the approval is a policy from now on.
    let id = requests[0]["id"].as_str().unwrap();
    let (status, approved) = owner_call(
        &setup,
        reqwest::Method::POST,
        &format!("/requests/{id}/approve"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(approved["request"]["status"], "approved");
    let token = bob
        .poll(repoll, Instant::now() + Duration::from_secs(10))
        .await
        .unwrap();
    let album = reqwest::Client::new()
        .get(&setup.album_url)
        .bearer_auth(token.access_token.as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(album.status(), StatusCode::OK);
    let again = client(&setup, "bob").await;
    assert_eq!(
        again.get(&setup.album_url).send().await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_owner_denies_and_the_request_is_denied() {
    let setup = setup().await;
    let carol = client(&setup, "carol").await;
    let pending = carol
        .get(&setup.album_url)
        .send()
        .await
        .unwrap_err()
        .into_request_submitted()
        .unwrap();
    let (_, requests) = owner_call(&setup, reqwest::Method::GET, "/requests").await;
    let id = requests[0]["id"].as_str().unwrap().to_owned();
    let (status, denied) = owner_call(
        &setup,
        reqwest::Method::POST,
        &format!("/requests/{id}/deny"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(denied["status"], "denied");
    assert!(
        carol
            .poll(pending, Instant::now() + Duration::from_secs(10))
            .await
            .is_err_and(|e| e.is_request_denied())
    );
    // Asking again does not bother the owner again.
    assert!(
        carol
            .get(&setup.album_url)
            .send()
            .await
            .is_err_and(|e| e.is_request_denied())
    );
}

#[tokio::test]
async fn only_the_owner_decides() {
    let setup = setup().await;
    let bob = client(&setup, "bob").await;
    let _ = bob.get(&setup.album_url).send().await;
    let (_, requests) = owner_call(&setup, reqwest::Method::GET, "/requests").await;
    let id = requests[0]["id"].as_str().unwrap().to_owned();
    let bob_token = setup.server.owner_token("bob", CLIENT_ID).await.unwrap();
    for path in [
        format!("/requests/{id}/approve"),
        format!("/requests/{id}/deny"),
    ] {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", setup.server.issuer()))
            .bearer_auth(bob_token.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let listed: Value = reqwest::Client::new()
        .get(format!("{}/requests", setup.server.issuer()))
        .bearer_auth(bob_token.as_str())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]));
}

#[tokio::test]
async fn approvals_are_checked_like_any_body() {
    let setup = setup().await;
    let bob = client(&setup, "bob").await;
    let _ = bob.get(&setup.album_url).send().await;
    let (_, requests) = owner_call(&setup, reqwest::Method::GET, "/requests").await;
    let id = requests[0]["id"].as_str().unwrap().to_owned();
    let alice = setup.server.owner_token("alice", CLIENT_ID).await.unwrap();
    let approve = |body: reqwest::Body, content_type: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/requests/{id}/approve", setup.server.issuer()))
            .bearer_auth(alice.as_str())
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases: [(String, &str, StatusCode, &str); 4] = [
        (
            json!({"scopes": ["edit"]}).to_string(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            "{not json".to_owned(),
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            json!({"scopes": ["view"]}).to_string(),
            "text/plain",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
        ),
        (
            "x".repeat(100_000),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
        ),
    ];
    for (body, content_type, status, code) in cases {
        let response = approve(body.into(), content_type).await.unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(response.json::<Value>().await.unwrap()["error"], code);
    }
    // Still pending: none of those changed anything.
    let (_, requests) = owner_call(&setup, reqwest::Method::GET, "/requests").await;
    assert_eq!(requests[0]["status"], "pending");
    // An approval of some of the scopes asked is taken as given.
    let response = approve(
        json!({"scopes": ["view"]}).to_string().into(),
        "application/json",
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
