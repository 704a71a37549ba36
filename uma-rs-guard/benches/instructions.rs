//! Instructions per request through the guard, counted by callgrind: deterministic where timings
//! on a shared machine are not, so that a change to the hot path can be judged by a few hundred
//! instructions.
//!
//! ```text
//! cargo bench -p uma-rs-guard --bench instructions --no-run
//! valgrind --tool=callgrind --toggle-collect='*measured*' --callgrind-out-file=/dev/null \
//!     target/release/deps/instructions-<hash> <case> <requests>
//! ```
//!
//! `<case>` is `bare` (the service without the guard), `jwt` (a cached local-JWT answer) or
//! `introspection` (a cached introspection answer); callgrind counts the instructions of
//! `measured` only: `<requests>` requests, each built, sent through the service and answered, on
//! a current-thread runtime. The guard's cost per request is (Ir(case) − Ir(bare)) / requests.
//! scripts/guard-instructions.sh runs all three. Without callgrind it simply runs the requests.

mod support;

use std::convert::Infallible;
use std::hint::black_box;

use http::{Request, Response};
use tower::{Service, ServiceExt};
use uma_as_core::RptFormat;
use uma_rs_guard::RptValidation;

use support::{guard, handler, request, setup};

#[inline(never)]
fn measured<S>(runtime: &tokio::runtime::Runtime, service: &S, rpt: &str, requests: u64)
where
    S: Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone,
{
    run(runtime, service, rpt, requests);
}

fn run<S>(runtime: &tokio::runtime::Runtime, service: &S, rpt: &str, requests: u64)
where
    S: Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone,
{
    runtime.block_on(async {
        for _ in 0..requests {
            let response = service
                .clone()
                .oneshot(request(rpt))
                .await
                .unwrap_or_else(|e| match e {});
            assert_eq!(response.status(), 200);
            black_box(response);
        }
    });
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let (Some(case), Some(requests)) = (args.next(), args.next()) else {
        eprintln!("usage: instructions bare|jwt|introspection REQUESTS");
        std::process::exit(2);
    };
    let requests: u64 = requests.parse().expect("REQUESTS is a number");
    // The authorization server on its own threads; the measured loop on this one.
    let server_runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let bare = tower::service_fn(handler);
    let (format, validation) = match case.as_str() {
        "jwt" | "bare" => (RptFormat::Jwt, RptValidation::LocalJwt),
        "introspection" => (RptFormat::Opaque, RptValidation::Introspection),
        other => panic!("no case {other}"),
    };
    let setup = server_runtime.block_on(setup(format));
    if case == "bare" {
        measured(&runtime, &bare, &setup.rpt, requests);
        return;
    }
    let layer = runtime.block_on(async { guard(&setup).validation(validation).build() });
    let service = tower::Layer::layer(&layer.expect("a guard"), bare);
    // Fill the cache (discovery, PAT, JWKS, the first answer), outside the count.
    let _enter = server_runtime.enter();
    run(&runtime, &service, &setup.rpt, 1);
    measured(&runtime, &service, &setup.rpt, requests);
}
