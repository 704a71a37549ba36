//! Load driver: while 8 clients sign in through the password grant in a loop, one probe measures
//! the latency of `GET /jwks` at the same server. Run it in its own process against the
//! `uma-as` binary, each pinned to its own core: `scripts/guessing-load.sh` does.
//!
//! ```text
//! cargo run --release --example guessing_load -- ISSUER MODE SECONDS
//! ```
//!
//! `MODE` is `idle` (the probe alone), `wrong` (each client tries a wrong password for a new
//! username every time: the throttle soon answers `429`) or `right` (each client signs its own
//! user in, correctly: argon2 runs for every request). The server must know clients `app-1` …
//! `app-8` (secret `secret-N`) and users `user-1` … `user-8` (password `password-N`), with the
//! password grant on. Prints one Markdown table row.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const CLIENTS: usize = 8;

/// Answers of the sign-in loops, by status.
#[derive(Default)]
struct Answers {
    ok: AtomicUsize,
    wrong: AtomicUsize,
    throttled: AtomicUsize,
    other: AtomicUsize,
}

async fn sign_in_loop(
    issuer: String,
    client: usize,
    right: bool,
    stop: Arc<AtomicBool>,
    answers: Arc<Answers>,
) -> Result {
    let http = reqwest::Client::new();
    let mut attempt = 0u64;
    while !stop.load(Ordering::Relaxed) {
        attempt += 1;
        let (username, password) = if right {
            (format!("user-{client}"), format!("password-{client}"))
        } else {
            (format!("guess-{client}-{attempt}"), "wrong".to_owned())
        };
        let response = http
            .post(format!("{issuer}/token"))
            .basic_auth(format!("app-{client}"), Some(format!("secret-{client}")))
            .form(&[
                ("grant_type", "password"),
                ("username", username.as_str()),
                ("password", password.as_str()),
            ])
            .send()
            .await?;
        let counter = match response.status().as_u16() {
            200 => &answers.ok,
            400 => &answers.wrong,
            429 => &answers.throttled,
            _ => &answers.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        response.bytes().await?;
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result {
    let mut args = std::env::args().skip(1);
    let issuer = args.next().ok_or("ISSUER is required")?;
    let mode = args.next().unwrap_or_else(|| "wrong".to_owned());
    let seconds: u64 = args.next().map_or(Ok(10), |s| s.parse())?;
    let (loops, right) = match mode.as_str() {
        "idle" => (0, false),
        "wrong" => (CLIENTS, false),
        "right" => (CLIENTS, true),
        other => return Err(format!("unknown mode {other:?}").into()),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Answers::default());
    let mut tasks = Vec::new();
    for client in 1..=loops {
        tasks.push(tokio::spawn(sign_in_loop(
            issuer.clone(),
            client,
            right,
            Arc::clone(&stop),
            Arc::clone(&answers),
        )));
    }
    // The probe: one JWKS request at a time, 50 a second, on its own connection.
    let probe = reqwest::Client::new();
    let jwks = format!("{issuer}/jwks");
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut latencies = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    while Instant::now() < deadline {
        tick.tick().await;
        let started = Instant::now();
        let response = probe.get(&jwks).send().await?;
        response.bytes().await?;
        latencies.push(started.elapsed().as_secs_f64() * 1e3);
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await??;
    }
    latencies.sort_by(f64::total_cmp);
    println!(
        "| {mode} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} |",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0),
        answers.ok.load(Ordering::Relaxed),
        answers.wrong.load(Ordering::Relaxed),
        answers.throttled.load(Ordering::Relaxed) + answers.other.load(Ordering::Relaxed),
    );
    Ok(())
}
