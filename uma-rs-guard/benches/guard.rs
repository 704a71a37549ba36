//! One request through the guard, in process (`tower::ServiceExt::oneshot`), against the same
//! service without the guard.
//!
//! ```text
//! cargo bench -p uma-rs-guard --bench guard
//! ```
//!
//! Paths: a cached introspection answer (opaque RPT), a cached local-JWT answer, and a JWT RPT
//! verified on every request (cache lifetime zero; the JWKS stays cached).

mod support;

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;
use uma_as_core::RptFormat;
use uma_rs_guard::RptValidation;

use support::{guard, handler, request, setup};

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
