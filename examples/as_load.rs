//! Load driver for the bundled authorization server over loopback, with SQLite storage.
//!
//! ```text
//! cargo run --release --example as_load [-- SECONDS CONCURRENCY]
//! ```
//!
//! Measures, in one run and with one driver, requests per second of: a trivial axum handler (the
//! baseline), `client_credentials` grants, introspections, permission tickets, and UMA grants (each
//! redeeming a fresh ticket); then the latency of one UMA grant (permission request + token
//! request) with 100 and with 100,000 resources and policies in the store. Prints Markdown.

#[path = "support/seed.rs"]
mod support_seed;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use uma_as_core::store::{SqliteStore, Store};
use uma_as_core::{AuthorizationServer, ClientConfig, RunningServer};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct TempDb(std::path::PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn temp_db(name: &str) -> TempDb {
    TempDb(std::env::temp_dir().join(format!("uma-load-{name}-{}.db", std::process::id())))
}

async fn start(store: Arc<dyn Store>) -> Result<RunningServer> {
    Ok(AuthorizationServer::builder()
        .client(ClientConfig::new("photoz", "photoz-secret"))
        .client(ClientConfig::new("doctor-app", "doctor-secret"))
        .user("alice")
        .user("bob")
        .store(store)
        .ticket_lifetime(Duration::from_secs(3600))
        .spawn()
        .await?)
}

/// Runs `concurrency` loops of `request` for `duration`; returns requests per second.
async fn rate<F, Fut>(duration: Duration, concurrency: usize, request: F) -> Result<f64>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<()>> + Send,
{
    let request = Arc::new(request);
    let done = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (request, done) = (Arc::clone(&request), Arc::clone(&done));
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = done.fetch_add(1, Ordering::Relaxed);
                    request(n).await?;
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

fn check(status: reqwest::StatusCode, expected: u16, what: &str) -> Result {
    if status.as_u16() == expected {
        Ok(())
    } else {
        Err(format!("{what}: {status}").into())
    }
}

async fn fetch_pat(http: &reqwest::Client, issuer: &str) -> Result<String> {
    let body: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth("photoz", Some("photoz-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await?
        .json()
        .await?;
    Ok(body["access_token"].as_str().ok_or("no PAT")?.to_owned())
}

async fn ticket(http: &reqwest::Client, issuer: &str, pat: &str, resource: &str) -> Result<String> {
    let response = http
        .post(format!("{issuer}/permission"))
        .bearer_auth(pat)
        .json(&json!({"resource_id": resource, "resource_scopes": ["view"]}))
        .send()
        .await?;
    check(response.status(), 201, "permission")?;
    let body: Value = response.json().await?;
    Ok(body["ticket"].as_str().ok_or("no ticket")?.to_owned())
}

async fn redeem(
    http: &reqwest::Client,
    issuer: &str,
    bearer: &str,
    ticket: &str,
) -> Result<String> {
    let response = http
        .post(format!("{issuer}/token"))
        .bearer_auth(bearer)
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("ticket", ticket),
        ])
        .send()
        .await?;
    check(response.status(), 200, "UMA grant")?;
    let body: Value = response.json().await?;
    Ok(body["access_token"].as_str().ok_or("no RPT")?.to_owned())
}

/// Registers `count` resources of alice's, each with a policy for bob, straight into the store.
async fn seed(store: &Arc<dyn Store>, count: usize) -> Result<String> {
    support_seed::seed(store, count, |_| "alice".into(), |_| vec!["bob".into()]).await?;
    Ok(format!("r{:06}", count / 2))
}

/// Median and 99th percentile of `n` sequential grants (ticket + RPT) on `resource`, in ms.
async fn grant_latency(server: &RunningServer, resource: &str, n: usize) -> Result<(f64, f64)> {
    let http = reqwest::Client::new();
    let issuer = server.issuer();
    let pat = fetch_pat(&http, issuer).await?;
    let bob = server
        .access_token("bob", "doctor-app")
        .await?
        .into_string();
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        let ticket = ticket(&http, issuer, &pat, resource).await?;
        redeem(&http, issuer, &bob, &ticket).await?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[n / 2], times[n * 99 / 100]))
}

#[tokio::main]
async fn main() -> Result {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seconds: u64 = args.first().map_or(Ok(5), |s| s.parse())?;
    let concurrency: usize = args.get(1).map_or(Ok(32), |s| s.parse())?;
    let duration = Duration::from_secs(seconds);

    // The baseline: a trivial axum handler on the same machine, same driver.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hello = format!("http://{}/hello", listener.local_addr()?);
    tokio::spawn(async move {
        axum::serve(
            listener,
            Router::new().route("/hello", get(|| async { "hello" })),
        )
        .await
    });

    let db = temp_db("throughput");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db.0).await?);
    let resource = seed(&store, 1).await?;
    let server = start(Arc::clone(&store)).await?;
    let issuer = server.issuer().to_owned();
    let http = reqwest::Client::new();
    let pat = fetch_pat(&http, &issuer).await?;
    let bob = server
        .access_token("bob", "doctor-app")
        .await?
        .into_string();
    let rpt = redeem(
        &http,
        &issuer,
        &bob,
        &ticket(&http, &issuer, &pat, &resource).await?,
    )
    .await?;

    let baseline = {
        let http = http.clone();
        rate(duration, concurrency, move |_| {
            let (http, url) = (http.clone(), hello.clone());
            async move { check(http.get(url).send().await?.status(), 200, "hello") }
        })
        .await?
    };
    let client_credentials = {
        let (http, issuer) = (http.clone(), issuer.clone());
        rate(duration, concurrency, move |_| {
            let (http, issuer) = (http.clone(), issuer.clone());
            async move { fetch_pat(&http, &issuer).await.map(drop) }
        })
        .await?
    };
    let introspection = {
        let (http, issuer, pat, rpt) = (http.clone(), issuer.clone(), pat.clone(), rpt.clone());
        rate(duration, concurrency, move |_| {
            let (http, issuer, pat, rpt) = (http.clone(), issuer.clone(), pat.clone(), rpt.clone());
            async move {
                let response = http
                    .post(format!("{issuer}/introspect"))
                    .bearer_auth(&pat)
                    .form(&[("token", rpt.as_str())])
                    .send()
                    .await?;
                check(response.status(), 200, "introspection")
            }
        })
        .await?
    };
    // Tickets made under load, then each redeemed once under load.
    let tickets = Arc::new(std::sync::Mutex::new(Vec::new()));
    let permission = {
        let (http, issuer, pat, resource, tickets) = (
            http.clone(),
            issuer.clone(),
            pat.clone(),
            resource.clone(),
            Arc::clone(&tickets),
        );
        rate(duration, concurrency, move |_| {
            let (http, issuer, pat, resource, tickets) = (
                http.clone(),
                issuer.clone(),
                pat.clone(),
                resource.clone(),
                Arc::clone(&tickets),
            );
            async move {
                let ticket = ticket(&http, &issuer, &pat, &resource).await?;
                tickets.lock().map_err(|_| "poisoned")?.push(ticket);
                Ok(())
            }
        })
        .await?
    };
    let tickets: Arc<Vec<String>> = Arc::new(std::mem::take(
        &mut *tickets.lock().map_err(|_| "poisoned")?,
    ));
    let available = tickets.len();
    let uma_grants = {
        let (http, issuer, bob, tickets) = (
            http.clone(),
            issuer.clone(),
            bob.clone(),
            Arc::clone(&tickets),
        );
        rate(duration, concurrency, move |n| {
            let (http, issuer, bob, tickets) = (
                http.clone(),
                issuer.clone(),
                bob.clone(),
                Arc::clone(&tickets),
            );
            async move {
                match tickets.get(n) {
                    Some(ticket) => redeem(&http, &issuer, &bob, ticket).await.map(drop),
                    // Out of tickets: stop counting by sleeping out the phase.
                    None => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(())
                    }
                }
            }
        })
        .await?
    };
    drop(server);

    println!(
        "## Throughput over loopback, SQLite, {seconds} s per row, {concurrency} concurrent requests\n"
    );
    println!("| endpoint | requests/s | ratio to the trivial handler |");
    println!("|---|---:|---:|");
    for (name, value) in [
        ("trivial axum handler (baseline)", baseline),
        ("`client_credentials` grant (PAT)", client_credentials),
        ("introspection of an RPT", introspection),
        ("permission endpoint (new ticket)", permission),
        ("UMA grant (fresh ticket → JWT RPT)", uma_grants),
    ] {
        println!("| {name} | {value:.0} | {:.3} |", value / baseline);
    }
    if uma_grants * seconds as f64 > available as f64 * 0.95 {
        println!(
            "\n(the UMA grant row ran out of its {available} pre-made tickets: the figure is a lower bound)"
        );
    }

    // How long a test waits for `AuthorizationServer::builder()...spawn()` (memory store).
    let mut spawns = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let server = AuthorizationServer::builder()
            .client(ClientConfig::new("photoz", "photoz-secret"))
            .user("alice")
            .spawn()
            .await?;
        spawns.push(started.elapsed().as_secs_f64() * 1000.0);
        drop(server);
    }
    spawns.sort_by(f64::total_cmp);
    println!(
        "\nIn-process `AuthorizationServer::builder()…spawn()` with the memory store: median {:.2} ms, max {:.2} ms over 50 starts.",
        spawns[spawns.len() / 2],
        spawns[spawns.len() - 1]
    );

    println!(
        "\n## UMA grant latency (permission request + token request, sequential, 500 grants)\n"
    );
    println!("| resources and policies in the store | median ms | p99 ms |");
    println!("|---:|---:|---:|");
    for count in [100, 100_000] {
        let db = temp_db(&format!("latency-{count}"));
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db.0).await?);
        let seeding = Instant::now();
        let resource = seed(&store, count).await?;
        eprintln!(
            "seeded {count} resources and policies in {:.1} s",
            seeding.elapsed().as_secs_f64()
        );
        let server = start(store).await?;
        grant_latency(&server, &resource, 50).await?; // warm-up
        let (median, p99) = grant_latency(&server, &resource, 500).await?;
        println!("| {count} | {median:.3} | {p99:.3} |");
    }
    Ok(())
}
