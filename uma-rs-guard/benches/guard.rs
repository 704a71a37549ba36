//! One request through the guard, in process (`tower::ServiceExt::oneshot`), against the same
//! service without the guard.
//!
//! ```text
//! cargo bench -p uma-rs-guard --bench guard
//! ```
//!
//! Paths: a cached introspection answer (opaque RPT), a cached local-JWT answer, and a JWT RPT
//! verified on every request (cache lifetime zero; the JWKS stays cached).

use std::convert::Infallible;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, Request, Response};
use tower::ServiceExt;
use uma_as_core::{AuthorizationServer, ClientConfig, RptFormat, RunningServer};
use uma_client::{
    ClientCredentials, GrantAuth, PermissionRequest, ProtectionClient, ResourceDescription,
    UmaClient, UmaGrantRequest,
};
use uma_rs_guard::{ResourceId, RouteResolver, RptValidation, UmaGuardLayer, UmaGuardLayerBuilder};

struct Setup {
    _server: RunningServer,
    issuer: String,
    resource_id: String,
    rpt: String,
}

async fn setup(format: RptFormat) -> Setup {
    let server = AuthorizationServer::builder()
        .client(ClientConfig::new("photoz", "photoz-secret"))
        .client(ClientConfig::new("app", "app-secret"))
        .user("alice")
        .user("bob")
        .rpt_format(format)
        .rpt_lifetime(Duration::from_secs(3600))
        .spawn()
        .await
        .unwrap();
    let issuer = server.issuer().to_owned();
    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .build()
        .unwrap();
    let resource_id = protection
        .create_resource(&ResourceDescription::new(["view"]).owner("alice"))
        .await
        .unwrap();
    server.share(&resource_id, "bob", ["view"]).await.unwrap();
    let ticket = protection
        .request_permissions(vec![PermissionRequest::new(resource_id.clone(), ["view"])])
        .await
        .unwrap();
    let uma = UmaClient::builder()
        .trust(&issuer)
        .auth(GrantAuth::Bearer(
            server.access_token("bob", "app").await.unwrap(),
        ))
        .build()
        .unwrap();
    let rpt = uma
        .redeem(&issuer, &UmaGrantRequest::new(ticket))
        .await
        .unwrap()
        .access_token
        .into_string();
    Setup {
        _server: server,
        issuer,
        resource_id,
        rpt,
    }
}

fn guard(setup: &Setup) -> UmaGuardLayerBuilder {
    UmaGuardLayer::builder(&setup.issuer)
        .client_credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .resolver(
            RouteResolver::new()
                .route(
                    "/album",
                    ResourceId::fixed(&setup.resource_id),
                    [(Method::GET, vec!["view"])],
                )
                .unwrap(),
        )
}

async fn handler(_: Request<String>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("album".to_owned()))
}

fn request(rpt: &str) -> Request<String> {
    Request::builder()
        .uri("/album")
        .header(http::header::AUTHORIZATION, format!("Bearer {rpt}"))
        .body(String::new())
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (opaque, jwt) =
        runtime.block_on(async { (setup(RptFormat::Opaque).await, setup(RptFormat::Jwt).await) });
    let bare = tower::service_fn(handler);
    let cases = [
        (
            "introspection, cached",
            &opaque,
            guard(&opaque).validation(RptValidation::Introspection),
        ),
        (
            "local JWT, cached",
            &jwt,
            guard(&jwt).validation(RptValidation::LocalJwt),
        ),
        (
            "local JWT, verified every time",
            &jwt,
            guard(&jwt)
                .validation(RptValidation::LocalJwt)
                .cache_ttl(Duration::ZERO),
        ),
    ];
    let mut group = c.benchmark_group("one request");
    group.bench_function("without the guard", |b| {
        b.to_async(&runtime)
            .iter(|| bare.oneshot(request(&jwt.rpt)))
    });
    for (name, setup, builder) in cases {
        let service = tower::Layer::layer(&builder.build().unwrap(), bare);
        let rpt = setup.rpt.clone();
        // Warm up: discovery, PAT, JWKS, and the cache for the cached paths.
        let status = runtime
            .block_on(service.clone().oneshot(request(&rpt)))
            .unwrap_or_else(|e| match e {})
            .status();
        assert_eq!(status, 200, "{name}");
        group.bench_function(format!("with the guard: {name}"), |b| {
            b.to_async(&runtime)
                .iter(|| service.clone().oneshot(request(&rpt)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
