//! Hostile authorization server answers cannot panic the client or the guard (TM-42): every
//! call they make is answered with extreme and malformed values (`u64::MAX`, negatives, wrong
//! types, huge and slow bodies), and each ends in a typed error or a refusal.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use http::Method;
use serde_json::{Value, json};
use uma_client::{
    ClientCredentials, GrantAuth, PermissionRequest, ProtectionClient, ResourceDescription,
    UmaClient,
};
use uma_rs_guard::{ResourceId, RouteResolver, UmaGuardLayer};

const FLAVOURS: [&str; 7] = [
    "huge",
    "negative",
    "wrong-types",
    "enormous-body",
    "slow-body",
    "not-json",
    "pending-forever",
];

/// What the hostile server answers at `endpoint` in `flavour`.
fn answer(flavour: &str, endpoint: &str, base: &str) -> Response {
    if endpoint == "discovery" {
        let issuer = format!("{base}/{flavour}");
        return axum::Json(json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}/token"),
            "introspection_endpoint": format!("{issuer}/introspect"),
            "resource_registration_endpoint": format!("{issuer}/resource_set"),
            "permission_endpoint": format!("{issuer}/permission"),
            "jwks_uri": format!("{issuer}/jwks"),
            "grant_types_supported": ["client_credentials", "urn:ietf:params:oauth:grant-type:uma-ticket"],
        }))
        .into_response();
    }
    let huge = u64::MAX;
    let body: Value = match (flavour, endpoint) {
        ("huge", "token") => {
            json!({"access_token": "t", "token_type": "Bearer", "expires_in": huge, "refresh_token": "r"})
        }
        ("huge", "permission") => json!({"ticket": "x".repeat(100_000)}),
        ("huge", "introspect") => json!({
            "active": true, "exp": huge, "iat": huge, "nbf": huge,
            "permissions": [{"resource_id": "r", "resource_scopes": ["view"], "exp": huge, "nbf": huge}],
        }),
        ("huge", "jwks") => {
            json!({"keys": vec![json!({"kty": "RSA", "kid": "k", "n": "A".repeat(20_000), "e": "AQAB"}); 40]})
        }
        ("huge", "resource_set") => json!({"_id": "x".repeat(200_000)}),
        ("negative", "token") => {
            json!({"access_token": "t", "token_type": "Bearer", "expires_in": -1})
        }
        ("negative", "introspect") => {
            json!({"active": true, "exp": -1, "permissions": [{"resource_id": "r", "resource_scopes": ["view"], "exp": -5}]})
        }
        ("negative", _) => json!({"ticket": -1, "_id": -1, "keys": -1}),
        ("wrong-types", "token") => {
            json!({"access_token": 42, "token_type": ["Bearer"], "expires_in": "soon"})
        }
        ("wrong-types", "introspect") => {
            json!({"active": "yes", "exp": "tomorrow", "permissions": "all"})
        }
        ("wrong-types", _) => json!({"ticket": {"nested": true}, "_id": [1, 2], "keys": "none"}),
        ("pending-forever", "token") => {
            return (
                StatusCode::FORBIDDEN,
                axum::Json(
                    json!({"error": "request_submitted", "ticket": "t-next", "interval": huge}),
                ),
            )
                .into_response();
        }
        ("pending-forever", _) => {
            json!({"ticket": "t1", "_id": "r", "active": true, "permissions": [], "exp": huge, "keys": []})
        }
        ("enormous-body", _) => {
            return (
                [(header::CONTENT_TYPE, "application/json")],
                " ".repeat(5 * 1024 * 1024),
            )
                .into_response();
        }
        ("slow-body", _) => {
            let trickle = trickle(300);
            return (
                [(header::CONTENT_TYPE, "application/json")],
                Body::from_stream(trickle),
            )
                .into_response();
        }
        _ => return "{not json".into_response(),
    };
    let status = match endpoint {
        "permission" | "resource_set" => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    (status, axum::Json(body)).into_response()
}

/// A body of `count` bytes, one every 200 ms.
fn trickle(
    count: usize,
) -> impl futures_core::Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static {
    struct Trickle {
        left: usize,
        sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    }
    impl futures_core::Stream for Trickle {
        type Item = Result<bytes::Bytes, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            if self.left == 0 {
                return std::task::Poll::Ready(None);
            }
            match self.sleep.as_mut().poll(cx) {
                std::task::Poll::Pending => std::task::Poll::Pending,
                std::task::Poll::Ready(()) => {
                    self.left -= 1;
                    self.sleep = Box::pin(tokio::time::sleep(Duration::from_millis(200)));
                    std::task::Poll::Ready(Some(Ok(bytes::Bytes::from_static(b" "))))
                }
            }
        }
    }
    use std::future::Future as _;
    Trickle {
        left: count,
        sleep: Box::pin(tokio::time::sleep(Duration::from_millis(200))),
    }
}

/// The hostile server: an authorization server at `{base}/{flavour}` for each flavour, and a
/// resource server at `{base}/{flavour}/album` that challenges for it.
async fn hostile() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let for_discovery = base.clone();
    let for_endpoints = base.clone();
    let for_album = base.clone();
    let app = Router::new()
        .route(
            "/{flavour}/.well-known/uma2-configuration",
            get(move |Path(flavour): Path<String>| {
                let base = for_discovery.clone();
                async move { answer(&flavour, "discovery", &base) }
            }),
        )
        .route(
            "/{flavour}/album",
            any(move |Path(flavour): Path<String>, headers: HeaderMap| {
                let base = for_album.clone();
                async move {
                    if headers.contains_key(header::AUTHORIZATION) {
                        return "the album".into_response();
                    }
                    let challenge =
                        format!(r#"UMA realm="r", as_uri="{base}/{flavour}", ticket="t1""#);
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, challenge)],
                    )
                        .into_response()
                }
            }),
        )
        .route(
            "/{flavour}/{endpoint}",
            any(move |Path((flavour, endpoint)): Path<(String, String)>| {
                let base = for_endpoints.clone();
                async move { answer(&flavour, &endpoint, &base) }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test]
async fn the_client_survives_every_answer() {
    let base = hostile().await;
    for flavour in FLAVOURS {
        let issuer = format!("{base}/{flavour}");
        let album = format!("{issuer}/album");
        let uma = UmaClient::builder()
            .resource_server(&base, &issuer)
            .auth(GrantAuth::Client(ClientCredentials::new("app", "secret")))
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        // Twice: the second request goes with whatever RPT the first one kept.
        for _ in 0..2 {
            let _ = uma.get(&album).send().await;
        }
        // Polling a request_submitted whose interval is u64::MAX ends at the deadline.
        let pending = uma
            .get(&album)
            .send()
            .await
            .err()
            .and_then(|error| error.into_request_submitted().ok());
        if let Some(pending) = pending {
            let deadline = std::time::Instant::now() + Duration::from_secs(1);
            assert!(uma.poll(pending, deadline).await.is_err(), "{flavour}");
        }

        let protection = ProtectionClient::builder(&issuer)
            .credentials(ClientCredentials::new("rs", "secret"))
            .timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        let _ = protection.pat().await;
        let _ = protection.pat().await;
        let _ = protection
            .request_permissions(vec![PermissionRequest::new("r", ["view"])])
            .await;
        let _ = protection.introspect(&uma_client::Rpt::new("rpt")).await;
        let _ = protection
            .create_resource(&ResourceDescription::new(["view"]))
            .await;
    }
}

#[tokio::test]
async fn the_guard_answers_every_request() {
    let base = hostile().await;
    for flavour in FLAVOURS {
        let issuer = format!("{base}/{flavour}");
        let guard = UmaGuardLayer::builder(&issuer)
            .client_credentials(ClientCredentials::new("rs", "secret"))
            .timeout(Duration::from_secs(1))
            .resolver(
                RouteResolver::new()
                    .route("/album", ResourceId::fixed("r"), [(Method::GET, ["view"])])
                    .unwrap(),
            )
            .build()
            .unwrap();
        let app = Router::new()
            .route("/album", get(|| async { "the album" }))
            .layer(guard);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/album", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });

        let jwt_like = format!(
            "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.{}.c2ln",
            base64_url(&json!({"iss": issuer, "exp": u64::MAX}).to_string())
        );
        for token in [None, Some("opaque-rpt"), Some(jwt_like.as_str())] {
            let mut request = reqwest::Client::new().get(&url);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            // An answer at all: a panic in the guard would drop the connection instead.
            let response = request.send().await.unwrap_or_else(|e| {
                panic!("{flavour}, token {token:?}: no answer: {e}");
            });
            assert!(
                [
                    StatusCode::OK,
                    StatusCode::UNAUTHORIZED,
                    StatusCode::FORBIDDEN
                ]
                .contains(&response.status()),
                "{flavour}: {}",
                response.status()
            );
        }
    }
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}
