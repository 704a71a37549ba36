//! The guard on its own: a `tower::service_fn` behind it, driven with `ServiceExt::oneshot`,
//! against the real authorization server (`uma-as-core`, over loopback). The end-to-end tests
//! over HTTP, with axum, are the workspace's `tests/guard*.rs`.

use std::convert::Infallible;
use std::time::Duration;

use http::header::{ALLOW, WARNING};
use http::{Method, Request, Response, StatusCode};
use tower::{Layer, ServiceExt};
use uma_as_core::RptFormat;
use uma_client::{ClientCredentials, UmaChallenge};
use uma_rs_guard::{
    GrantedPermissions, GuardOutcome, Mode, Rejection, RejectionKind, ResourceId, RouteResolver,
    UmaGuardLayer,
};

// The benchmarks' world: alice's album (`view`, `edit`), shared with bob for `view`; his RPT.
#[allow(dead_code)]
#[path = "../benches/support/mod.rs"]
mod support;

use support::Setup as World;

async fn world() -> World {
    support::setup(RptFormat::Jwt).await
}

fn guard(world: &World, mode: Mode) -> UmaGuardLayer {
    UmaGuardLayer::builder(world.server.issuer())
        .client_credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .realm("photoz")
        .mode(mode)
        .timeout(Duration::from_secs(2))
        .resolver(
            RouteResolver::new()
                .route(
                    "/album",
                    ResourceId::fixed(&world.resource_id),
                    [(Method::GET, vec!["view"]), (Method::PUT, vec!["edit"])],
                )
                .unwrap()
                .unprotected("/health")
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// Answers with the subject of the permissions the guard handed over, and what it decided.
async fn handler(request: Request<String>) -> Result<Response<String>, Infallible> {
    let subject = request
        .extensions()
        .get::<GrantedPermissions>()
        .and_then(|granted| granted.subject().map(str::to_owned));
    let outcome = match request.extensions().get::<GuardOutcome>() {
        Some(GuardOutcome::Granted(_)) => "granted".to_owned(),
        Some(GuardOutcome::Refused(rejection)) => format!("{:?}", rejection.kind()),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    Ok(Response::new(format!(
        "{}|{outcome}",
        subject.unwrap_or_default()
    )))
}

async fn send(
    layer: &UmaGuardLayer,
    method: Method,
    path: &str,
    rpt: Option<&str>,
) -> Response<String> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(rpt) = rpt {
        request = request.header(http::header::AUTHORIZATION, format!("Bearer {rpt}"));
    }
    layer
        .layer(tower::service_fn(handler))
        .oneshot(request.body(String::new()).unwrap())
        .await
        .unwrap_or_else(|e| match e {})
}

fn kind(response: &Response<String>) -> Option<RejectionKind> {
    response
        .extensions()
        .get::<Rejection>()
        .map(Rejection::kind)
}

#[tokio::test]
async fn a_sufficient_rpt_reaches_the_service_with_its_permissions() {
    let world = world().await;
    let layer = guard(&world, Mode::Enforcing);
    // The first is judged the long way, the others from the cache: alike to the service.
    for _ in 0..3 {
        let response = send(&layer, Method::GET, "/album", Some(&world.rpt)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body(), "bob|");
    }
    assert_eq!(layer.cached_rpts().await, 1);
}

#[tokio::test]
async fn no_bad_or_insufficient_rpt_gets_a_ticket_in_the_challenge() {
    let world = world().await;
    let layer = guard(&world, Mode::Enforcing);
    for (method, rpt, expected) in [
        (Method::GET, None, RejectionKind::NoToken),
        (Method::GET, Some("not-an-rpt"), RejectionKind::InvalidToken),
        // Bob may view, not edit; his RPT is cached by the GET before.
        (
            Method::PUT,
            Some(world.rpt.as_str()),
            RejectionKind::InsufficientPermissions,
        ),
    ] {
        if rpt.is_some() {
            send(&layer, Method::GET, "/album", rpt).await;
        }
        let response = send(&layer, method, "/album", rpt).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{expected:?}");
        assert_eq!(kind(&response), Some(expected));
        let challenge = UmaChallenge::from_headers(response.headers()).unwrap();
        assert_eq!(challenge.as_uri, world.server.issuer());
        assert_eq!(challenge.realm.as_deref(), Some("photoz"));
        assert!(!challenge.ticket.as_str().is_empty());
        assert!(response.body().is_empty(), "the service was not called");
    }
}

#[tokio::test]
async fn routes_decide_what_needs_a_token() {
    let world = world().await;
    let layer = guard(&world, Mode::Enforcing);
    let health = send(&layer, Method::GET, "/health", None).await;
    assert_eq!(health.status(), StatusCode::OK);
    let unmatched = send(&layer, Method::GET, "/elsewhere", Some(&world.rpt)).await;
    assert_eq!(unmatched.status(), StatusCode::FORBIDDEN);
    assert_eq!(kind(&unmatched), Some(RejectionKind::Unmatched));
    let delete = send(&layer, Method::DELETE, "/album", Some(&world.rpt)).await;
    assert_eq!(delete.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(delete.headers()[ALLOW], "GET, HEAD, PUT");
}

#[tokio::test]
async fn pass_through_hands_every_outcome_to_the_service() {
    let world = world().await;
    let layer = guard(&world, Mode::PassThrough);
    for _ in 0..2 {
        let granted = send(&layer, Method::GET, "/album", Some(&world.rpt)).await;
        assert_eq!(granted.body(), "bob|granted");
    }
    let refused = send(&layer, Method::GET, "/album", None).await;
    assert_eq!(refused.status(), StatusCode::OK);
    assert_eq!(refused.body(), "|NoToken");
}

#[tokio::test]
async fn without_the_authorization_server_it_fails_closed() {
    let world = world().await;
    let layer = guard(&world, Mode::Enforcing);
    // Known to the guard before the AS goes: its RPT stays good while cached.
    assert_eq!(
        send(&layer, Method::GET, "/album", Some(&world.rpt))
            .await
            .status(),
        StatusCode::OK
    );
    let World { server, rpt, .. } = world;
    server.shutdown().await;
    for rpt in [None, Some("unknown-token")] {
        let response = send(&layer, Method::GET, "/album", rpt).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{rpt:?}");
        assert_eq!(
            kind(&response),
            Some(RejectionKind::AuthorizationServerUnreachable)
        );
        assert!(response.headers().contains_key(WARNING));
    }
    assert_eq!(
        send(&layer, Method::GET, "/album", Some(&rpt))
            .await
            .status(),
        StatusCode::OK
    );
}
