//! Load driver: whole UMA grants against a running `uma-as`, from a process of their own. Each
//! grant is two requests, as a resource server and a client make them: a permission ticket
//! (with the resource server's PAT), then the UMA grant redeeming it (with Bob's access token).
//! A grant counts once its RPT is received. `scripts/as-load.sh` runs it pinned to its own core.
//!
//! ```text
//! cargo run --release --example grant_load -- ISSUER SECONDS CONCURRENCY
//! cargo run --release --example grant_load -- --soak ISSUER GRANTS CONCURRENCY DB_FILE SERVER_PID [RATE]
//! ```
//!
//! The soak runs `GRANTS` grants and prints a Markdown row every 10 s: grants so far, the
//! database's size on disk and its WAL's, the server's resident memory, and the p50/p99 latency
//! of the grants of that interval; then the p99 of the first and the last 10,000 grants.
//!
//! Without `RATE`, `CONCURRENCY` grants run back to back (closed loop: the server saturated, the
//! latency mostly queueing). With `RATE`, a grant starts every 1/`RATE` s whatever the server
//! does (open loop, at most `CONCURRENCY` at once), and each latency counts from the moment its
//! grant was due, so that a stall shows in every grant it delayed.
//!
//! The server must know clients `photoz` (`photoz-secret`) and `doctor-app` (`doctor-secret`)
//! and users `alice` and `bob` (passwords `alice-password`, `bob-password`), with the password
//! grant on. Prints the grants per second.

#[path = "support/token.rs"]
mod support_token;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support_token::{Result, token};

use serde_json::{Value, json};

/// What every grant needs: the resource server's PAT, Bob's access token, Alice's album.
struct Setup {
    http: reqwest::Client,
    issuer: String,
    pat: String,
    bob: String,
    resource: String,
}

async fn setup(issuer: String) -> Result<Setup> {
    let http = reqwest::Client::new();
    let photoz = ("photoz", "photoz-secret");
    let pat = token(
        &http,
        &issuer,
        photoz,
        &[("grant_type", "client_credentials")],
    )
    .await?;
    let alice = token(
        &http,
        &issuer,
        photoz,
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
            ("scope", "uma_protection"),
        ],
    )
    .await?;
    let bob = token(
        &http,
        &issuer,
        ("doctor-app", "doctor-secret"),
        &[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "bob-password"),
        ],
    )
    .await?;
    let resource: Value = http
        .post(format!("{issuer}/resource_set"))
        .bearer_auth(&pat)
        .json(&json!({"resource_scopes": ["view"], "name": "album", "owner": "alice"}))
        .send()
        .await?
        .json()
        .await?;
    let resource = resource["_id"].as_str().ok_or("no resource id")?.to_owned();
    let shared = http
        .post(format!("{issuer}/policy/{resource}"))
        .bearer_auth(&alice)
        .json(&json!({"scopes": ["view"], "users": ["bob"]}))
        .send()
        .await?;
    if !shared.status().is_success() {
        return Err(format!("the policy was refused: {}", shared.status()).into());
    }
    Ok(Setup {
        http,
        issuer,
        pat,
        bob,
        resource,
    })
}

impl Setup {
    /// One whole grant: a ticket, then its redemption.
    async fn grant(&self) -> Result {
        let (http, issuer) = (&self.http, &self.issuer);
        let ticket: Value = http
            .post(format!("{issuer}/permission"))
            .bearer_auth(&self.pat)
            .json(&json!({"resource_id": self.resource, "resource_scopes": ["view"]}))
            .send()
            .await?
            .json()
            .await?;
        let ticket = ticket["ticket"].as_str().ok_or("no ticket")?;
        let granted = http
            .post(format!("{issuer}/token"))
            .bearer_auth(&self.bob)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"),
                ("ticket", ticket),
            ])
            .send()
            .await?;
        if granted.status() != 200 {
            return Err(format!("grant answered {}", granted.status()).into());
        }
        granted.bytes().await?;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--soak") {
        args.next();
        return soak(args).await;
    }
    let issuer = args.next().ok_or("ISSUER is required")?;
    let seconds: u64 = args.next().map_or(Ok(5), |s| s.parse())?;
    let concurrency: usize = args.next().map_or(Ok(32), |s| s.parse())?;
    let setup = Arc::new(setup(issuer).await?);
    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (setup, done) = (Arc::clone(&setup), Arc::clone(&done));
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                setup.grant().await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!("{:.0}", done.load(Ordering::Relaxed) as f64 / elapsed);
    Ok(())
}

/// Megabytes on disk of a file (0 if it is not there).
fn megabytes(path: &str) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1e6)
}

/// The resident memory of a process, in KiB (Linux).
fn resident_kib(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// The `q` quantile of some latencies, in milliseconds.
fn quantile(latencies: &mut [Duration], q: f64) -> f64 {
    if latencies.is_empty() {
        return 0.0;
    }
    latencies.sort_unstable();
    let index = ((latencies.len() - 1) as f64 * q).round() as usize;
    latencies[index].as_secs_f64() * 1000.0
}

type Latencies = Arc<std::sync::Mutex<Vec<Duration>>>;
type Task = tokio::task::JoinHandle<Result>;

fn record(latencies: &Latencies, took: Duration) -> Result {
    latencies
        .lock()
        .map_err(|_| "a driver task panicked")?
        .push(took);
    Ok(())
}

/// `concurrency` tasks, each running grants back to back until `total` have started.
fn closed_loop(
    setup: &Arc<Setup>,
    latencies: &Latencies,
    total: usize,
    concurrency: usize,
) -> Vec<Task> {
    let started_grants = Arc::new(AtomicUsize::new(0));
    (0..concurrency)
        .map(|_| {
            let (setup, latencies, started_grants) = (
                Arc::clone(setup),
                Arc::clone(latencies),
                Arc::clone(&started_grants),
            );
            tokio::spawn(async move {
                while started_grants.fetch_add(1, Ordering::Relaxed) < total {
                    let began = Instant::now();
                    setup.grant().await?;
                    record(&latencies, began.elapsed())?;
                }
                Ok(())
            })
        })
        .collect()
}

/// One grant due every 1/`rate` s, at most `concurrency` at once; a latency counts from when its
/// grant was due.
async fn open_loop(
    setup: Arc<Setup>,
    latencies: Latencies,
    total: usize,
    concurrency: usize,
    rate: f64,
) -> Result {
    let every = Duration::from_secs_f64(1.0 / rate);
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let first = tokio::time::Instant::now();
    let mut grants = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = first + every.mul_f64(n as f64);
        tokio::time::sleep_until(due).await;
        let slot = Arc::clone(&slots).acquire_owned().await?;
        let (setup, latencies) = (Arc::clone(&setup), Arc::clone(&latencies));
        grants.spawn(async move {
            setup.grant().await?;
            drop(slot);
            record(&latencies, due.elapsed())
        });
        // Reap the finished, so that the set stays as small as what is in flight.
        while let Some(done) = grants.try_join_next() {
            done??;
        }
    }
    while let Some(done) = grants.join_next().await {
        done??;
    }
    Ok(())
}

async fn soak(mut args: impl Iterator<Item = String>) -> Result {
    let issuer = args.next().ok_or("ISSUER is required")?;
    let total: usize = args.next().ok_or("GRANTS is required")?.parse()?;
    let concurrency: usize = args.next().ok_or("CONCURRENCY is required")?.parse()?;
    let database = args.next().ok_or("DB_FILE is required")?;
    let pid = args.next().ok_or("SERVER_PID is required")?;
    let rate: Option<f64> = args.next().map(|r| r.parse()).transpose()?;
    let setup = Arc::new(setup(issuer).await?);
    // Each grant's latency, in the order the grants ended.
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(total)));
    let started = Instant::now();
    let tasks = match rate {
        None => closed_loop(&setup, &latencies, total, concurrency),
        Some(rate) => vec![tokio::spawn(open_loop(
            Arc::clone(&setup),
            Arc::clone(&latencies),
            total,
            concurrency,
            rate,
        ))],
    };
    println!("| seconds | grants | database MB | WAL MB | server RSS MB | p50 ms | p99 ms |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut reported = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let mut window: Vec<Duration> = {
            let all = latencies.lock().map_err(|_| "a driver task panicked")?;
            let window = all[reported..].to_vec();
            reported = all.len();
            window
        };
        println!(
            "| {:.0} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} |",
            started.elapsed().as_secs_f64(),
            reported,
            megabytes(&database),
            megabytes(&format!("{database}-wal")),
            resident_kib(&pid) as f64 / 1024.0,
            quantile(&mut window, 0.5),
            quantile(&mut window, 0.99),
        );
        if reported >= total || tasks.iter().all(|t| t.is_finished()) {
            break;
        }
    }
    for task in tasks {
        task.await??;
    }
    let mut all = std::mem::take(&mut *latencies.lock().map_err(|_| "a driver task panicked")?);
    let n = all.len().min(10_000);
    let len = all.len();
    let first = quantile(&mut all[..n].to_vec(), 0.99);
    let last = quantile(&mut all[len - n..], 0.99);
    println!(
        "\n{len} grants in {:.0} s; p99 of the first 10,000: {first:.2} ms, of the last 10,000: {last:.2} ms ({:.2}x)",
        started.elapsed().as_secs_f64(),
        last / first
    );
    Ok(())
}
