//! A resource server cannot harvest RPTs through the client SDK: a relayed challenge is not
//! answered, and an RPT goes only to the origin it was got for.

mod support;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use support::World;
use uma_client::{Error, UmaMiddleware};

/// What a server saw in `Authorization` headers.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<String>>>);

impl Seen {
    fn record(&self, headers: &HeaderMap) {
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            self.0
                .lock()
                .unwrap()
                .push(value.to_str().unwrap_or("").to_owned());
        }
    }

    fn bearers(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A server Bob's app calls, which answers every request with the challenge photoz gives for
/// editing Alice's album, and keeps every token it is sent.
async fn relaying_server(album_url: String) -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .fallback(
            |State((album, seen)): State<(String, Seen)>, headers: HeaderMap| async move {
                seen.record(&headers);
                let photoz = reqwest::Client::new().put(&album).send().await.unwrap();
                let challenge = photoz.headers()[header::WWW_AUTHENTICATE].clone();
                (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, challenge)],
                )
                    .into_response()
            },
        )
        .with_state((album_url, seen.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

/// A server that redirects everything to `target`, and keeps every token it is sent.
async fn redirecting_server(target: String) -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .fallback(
            |State((target, seen)): State<(String, Seen)>, headers: HeaderMap| async move {
                seen.record(&headers);
                let response: Response =
                    (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, target)]).into_response();
                response
            },
        )
        .with_state((target, seen.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, seen)
}

async fn bob_may_edit(world: &World) {
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view", "edit"])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_relayed_challenge_is_not_answered() {
    let world = World::start().await;
    bob_may_edit(&world).await;
    let (relay, seen) = relaying_server(world.album_url.clone()).await;
    // Bob's app may follow photoz's challenges, and calls the relaying server for something else.
    let bob = world.client_for("bob").await;
    let refused = bob
        .get(format!("{relay}/weather"))
        .send()
        .await
        .unwrap_err();
    assert!(refused.is_resource_server_not_allowed(), "{refused:?}");
    assert_eq!(refused.as_uri(), Some(world.issuer.as_str()));
    assert!(refused.to_string().contains(&relay), "{refused}");
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(UmaMiddleware::new(bob.clone()))
        .build();
    let through_middleware = http.get(format!("{relay}/news")).send().await;
    assert!(
        matches!(&through_middleware, Err(reqwest_middleware::Error::Middleware(e))
            if e.downcast_ref::<Error>().is_some_and(Error::is_resource_server_not_allowed)),
        "{through_middleware:?}"
    );
    assert!(seen.bearers().is_empty(), "{:?}", seen.bearers());

    // Photoz itself still gets its RPT.
    let edited = bob
        .request(http::Method::PUT, &world.album_url)
        .send()
        .await
        .unwrap();
    assert_eq!(edited.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_challenge_after_a_cross_origin_redirect_is_not_answered() {
    let world = World::start().await;
    bob_may_edit(&world).await;
    let (relay, relay_seen) = relaying_server(world.album_url.clone()).await;
    let (redirector, redirector_seen) = redirecting_server(format!("{relay}/album")).await;
    let token = world.token("bob").await;

    // The default client follows no redirect to another origin: the 307 comes back as it is.
    let bob = uma_client::UmaClient::builder()
        .resource_server(&redirector, &world.issuer)
        .auth(uma_client::GrantAuth::Bearer(token.clone()))
        .build()
        .unwrap();
    let response = bob.get(format!("{redirector}/album")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);

    // An application's own client may follow it; the challenge from the other origin is still
    // not answered, and nothing is kept for, or sent to, either origin.
    let following = uma_client::UmaClient::builder()
        .resource_server(&redirector, &world.issuer)
        .http_client(reqwest::Client::new())
        .auth(uma_client::GrantAuth::Bearer(token))
        .build()
        .unwrap();
    match following.get(format!("{redirector}/album")).send().await {
        Err(error) if error.is_challenge_from_another_origin() => {
            assert_eq!(
                error.to_string(),
                format!("the request to {redirector} was challenged by {relay}")
            );
        }
        other => panic!("{other:?}"),
    }
    let _ = following.get(format!("{redirector}/album")).send().await;
    assert!(redirector_seen.bearers().is_empty());
    assert!(relay_seen.bearers().is_empty());
}

#[tokio::test]
async fn a_request_the_application_vouches_for_is_answered() {
    let world = World::start().await;
    bob_may_edit(&world).await;
    // No resource server allowed: only trust in the authorization server.
    let bob = uma_client::UmaClient::builder()
        .trust(&world.issuer)
        .auth(uma_client::GrantAuth::Bearer(world.token("bob").await))
        .build()
        .unwrap();
    assert!(
        bob.get(&world.album_url)
            .send()
            .await
            .is_err_and(|e| e.is_resource_server_not_allowed())
    );
    let vouched = bob
        .get(&world.album_url)
        .allow_uma_challenge()
        .send()
        .await
        .unwrap();
    assert_eq!(vouched.status(), StatusCode::OK);
}
