//! Load driver for uma-rs-guard over loopback: a hello-world axum route with and without the
//! guard, same driver, same run.
//!
//! ```text
//! cargo run --release --example guard_load [-- SECONDS CONCURRENCY ROUNDS]
//! ```
//!
//! Every guarded request carries the same valid RPT, as a client reusing its RPT does; after the
//! first, the guard answers from its cache. The unguarded rows send the same JWT RPT too, so that
//! the rows differ by the guard's work only. Prints Markdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[path = "support/hello_as.rs"]
mod hello_as;

use axum::Router;
use axum::routing::get;
use hello_as::{Result, authorization};
use http::Method;
use uma_as_core::RptFormat;
use uma_client::ClientCredentials;
use uma_rs_guard::{ResourceId, RouteResolver, RptValidation, UmaGuardLayer};

async fn serve(router: Router) -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hello", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

async fn rate(
    url: String,
    rpt: Option<String>,
    duration: Duration,
    concurrency: usize,
) -> Result<f64> {
    let http = reqwest::Client::new();
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, url, rpt, done) =
                (http.clone(), url.clone(), rpt.clone(), Arc::clone(&done));
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let mut request = http.get(&url);
                    if let Some(rpt) = &rpt {
                        request = request.bearer_auth(rpt);
                    }
                    let status = request.send().await?.status();
                    if status != 200 {
                        return Err(format!("status {status}").into());
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() -> Result {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: u64 = args.first().map_or(Ok(2), |s| s.parse())?;
    let concurrency: usize = args.get(1).map_or(Ok(32), |s| s.parse())?;
    let rounds: usize = args.get(2).map_or(Ok(7), |s| s.parse())?;
    let duration = Duration::from_secs(seconds);
    let hello = || Router::new().route("/hello", get(|| async { "hello" }));

    // Every row sends the same kind of request with an RPT; the unguarded route ignores it. So the
    // rows differ only by the guard's work, not by the bytes on the wire.
    let (jwt_server, jwt_resource, jwt_rpt) = authorization(RptFormat::Jwt).await?;
    let (opaque_server, opaque_resource, opaque_rpt) = authorization(RptFormat::Opaque).await?;
    let plain = serve(hello()).await?;
    let mut rows: Vec<(&str, String, String)> = vec![("without the guard", plain, jwt_rpt.clone())];
    for (name, server, resource, rpt, validation) in [
        (
            "guard, local JWT RPT (cached)",
            &jwt_server,
            jwt_resource,
            jwt_rpt.clone(),
            RptValidation::LocalJwt,
        ),
        (
            "guard, introspected opaque RPT (cached)",
            &opaque_server,
            opaque_resource,
            opaque_rpt,
            RptValidation::Introspection,
        ),
    ] {
        let guard = UmaGuardLayer::builder(server.issuer())
            .client_credentials(ClientCredentials::new("hello-rs", "hello-secret"))
            .validation(validation)
            .resolver(RouteResolver::new().route(
                "/hello",
                ResourceId::fixed(resource),
                [(Method::GET, vec!["read"])],
            )?)
            .build()?;
        rows.push((name, serve(hello().layer(guard)).await?, rpt));
    }

    // The rows take turns, round after round, so that the machine's drift falls on all of them
    // alike; each row's figure is its median over the rounds.
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    for _ in 0..rounds {
        for (i, (_, url, rpt)) in rows.iter().enumerate() {
            samples[i].push(rate(url.clone(), Some(rpt.clone()), duration, concurrency).await?);
        }
    }
    let medians: Vec<f64> = samples
        .iter_mut()
        .map(|s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect();
    println!(
        "## Hello-world route over loopback: {rounds} interleaved rounds of {seconds} s per row, {concurrency} concurrent requests\n"
    );
    println!("| route | median requests/s | ratio to the unguarded route |");
    println!("|---|---:|---:|");
    for ((name, _, _), median) in rows.iter().zip(&medians) {
        println!("| {name} | {median:.0} | {:.3} |", median / medians[0]);
    }
    Ok(())
}
