//! The guard never fails open (TM-40, TM-41, TM-43), and judges the path the handler reads.

#[path = "support/counting.rs"]
mod counting;

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use counting::{CountingAs, RS, get_with};
use http::header::{ALLOW, WARNING};
use http::{Method, StatusCode};
use uma_client::{ClientCredentials, ProtectionClient, ResourceDescription};
use uma_rs_guard::{LookupError, ResourceId, RouteResolver, UmaGuardLayer};

/// Serves `/albums/{name}` (GET, PUT, DELETE, OPTIONS, each answering what it was asked) behind
/// `guard`, and `/open` outside any route of the guard.
async fn serve_albums(guard: UmaGuardLayer) -> String {
    let app = Router::new()
        .route(
            "/albums/{name}",
            get(|Path(name): Path<String>| async move { format!("album {name}") })
                .put(|| async { "renamed" })
                .delete(|| async { "deleted" })
                .options(|| async { "preflight answered" }),
        )
        .route("/open", get(|| async { "open" }))
        .layer(guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn albums(resource: ResourceId) -> RouteResolver {
    RouteResolver::new()
        .route("/albums/{name}", resource, [(Method::GET, vec!["view"])])
        .unwrap()
}

/// An address where nothing listens.
async fn nowhere() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    address
}

fn assert_unreachable_answer(response: &reqwest::Response) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()[WARNING],
        "199 - \"UMA Authorization Server Unreachable\""
    );
}

#[tokio::test]
async fn a_failed_lookup_is_refused_even_when_unmatched_requests_are_allowed() {
    // The AS is down: a name cannot be looked up there.
    let issuer = nowhere().await;
    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new(RS.0, RS.1))
        .build()
        .unwrap();
    let by_name = UmaGuardLayer::builder(&issuer)
        .protection_client(protection.clone())
        .allow_unmatched(true)
        .resolver(albums(ResourceId::by_name(protection, "name", "{name}")))
        .build()
        .unwrap();
    let base = serve_albums(by_name).await;
    assert_unreachable_answer(&get_with(&format!("{base}/albums/holiday"), None).await);
    // What matches no route still goes through, as configured.
    assert_eq!(
        get_with(&format!("{base}/open"), None).await.status(),
        StatusCode::OK
    );

    // The application's own lookup erring is refused the same way.
    let erring = UmaGuardLayer::builder(&issuer)
        .client_credentials(ClientCredentials::new(RS.0, RS.1))
        .allow_unmatched(true)
        .resolver(albums(ResourceId::lookup("name", |_| async {
            Err::<Option<String>, _>(LookupError::from("the album database is down"))
        })))
        .build()
        .unwrap();
    let base = serve_albums(erring).await;
    assert_unreachable_answer(&get_with(&format!("{base}/albums/holiday"), None).await);

    // A lookup that finds no such resource is a 404, not a way around the guard.
    let missing = UmaGuardLayer::builder(&issuer)
        .client_credentials(ClientCredentials::new(RS.0, RS.1))
        .allow_unmatched(true)
        .resolver(albums(ResourceId::lookup("name", |_| async {
            Ok::<_, LookupError>(None)
        })))
        .build()
        .unwrap();
    let base = serve_albums(missing).await;
    assert_eq!(
        get_with(&format!("{base}/albums/holiday"), None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_method_of_a_protected_route_is_judged() {
    let world = CountingAs::start(|b| b).await;
    let guard = UmaGuardLayer::builder(world.server.issuer())
        .client_credentials(ClientCredentials::new(RS.0, RS.1))
        .allow_unmatched(true)
        .resolver(albums(ResourceId::fixed(&world.resource_id)))
        .build()
        .unwrap();
    let base = serve_albums(guard).await;
    let url = format!("{base}/albums/holiday");
    let rpt = world.rpt().await;
    let http = reqwest::Client::new();
    // Not listed: refused with the methods that are, whatever the RPT.
    for method in [Method::PUT, Method::DELETE, Method::OPTIONS] {
        let response = http
            .request(method.clone(), &url)
            .bearer_auth(&rpt)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()[ALLOW], "GET, HEAD");
    }
    // HEAD is judged as GET: challenged without an RPT, served with one.
    let head = http.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::UNAUTHORIZED);
    let head = http.head(&url).bearer_auth(&rpt).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
}

#[tokio::test]
async fn cors_preflights_go_through_only_when_allowed() {
    let world = CountingAs::start(|b| b).await;
    let guard = |allow: bool| {
        UmaGuardLayer::builder(world.server.issuer())
            .client_credentials(ClientCredentials::new(RS.0, RS.1))
            .allow_cors_preflight(allow)
            .resolver(albums(ResourceId::fixed(&world.resource_id)))
            .build()
            .unwrap()
    };
    let preflight = |base: String| async move {
        reqwest::Client::new()
            .request(Method::OPTIONS, format!("{base}/albums/holiday"))
            .header("origin", "https://app.example")
            .header("access-control-request-method", "GET")
            .send()
            .await
            .unwrap()
    };
    let allowed = preflight(serve_albums(guard(true)).await).await;
    assert_eq!(allowed.text().await.unwrap(), "preflight answered");
    let refused = preflight(serve_albums(guard(false)).await).await;
    assert_eq!(refused.status(), StatusCode::METHOD_NOT_ALLOWED);
    // An OPTIONS that is no preflight is judged as always.
    let guarded = serve_albums(guard(true)).await;
    let plain = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{guarded}/albums/holiday"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn an_ambiguous_name_is_refused_and_names_are_read_as_the_handler_reads_them() {
    let world = CountingAs::start(|b| b).await;
    let protection = ProtectionClient::builder(world.server.issuer())
        .credentials(ClientCredentials::new(RS.0, RS.1))
        .build()
        .unwrap();
    // Two resources named "twin"; one named "holiday", and one named "%68oliday", which Bob may
    // view.
    for name in ["twin", "twin", "holiday"] {
        protection
            .create_resource(&ResourceDescription::new(["view"]).name(name).owner("alice"))
            .await
            .unwrap();
    }
    let lookalike = protection
        .create_resource(
            &ResourceDescription::new(["view"])
                .name("%68oliday")
                .owner("alice"),
        )
        .await
        .unwrap();
    world
        .server
        .share(&lookalike, "bob", ["view"])
        .await
        .unwrap();
    let guard = UmaGuardLayer::builder(world.server.issuer())
        .protection_client(protection.clone())
        .resolver(albums(ResourceId::by_name(protection, "name", "{name}")))
        .build()
        .unwrap();
    let base = serve_albums(guard).await;
    assert_unreachable_answer(&get_with(&format!("{base}/albums/twin"), None).await);

    // Bob's RPT for the lookalike does not open the album the handler would serve: the guard
    // judges "/albums/%68oliday" as "holiday", exactly as the handler reads it.
    let rpt = world.rpt_for(&lookalike).await;
    let response = get_with(&format!("{base}/albums/%68oliday"), Some(&rpt)).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
