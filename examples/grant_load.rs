//! Load driver: whole UMA grants against a running `uma-as`, from a process of their own. Each
//! grant is two requests, as a resource server and a client make them: a permission ticket
//! (with the resource server's PAT), then the UMA grant redeeming it (with Bob's access token).
//! A grant counts once its RPT is received. `scripts/as-wrk.sh` runs it pinned to its own core.
//!
//! ```text
//! cargo run --release --example grant_load -- ISSUER SECONDS CONCURRENCY
//! ```
//!
//! The server must know clients `photoz` (`photoz-secret`) and `doctor-app` (`doctor-secret`)
//! and users `alice` and `bob` (passwords `alice-password`, `bob-password`), with the password
//! grant on. Prints the grants per second.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

async fn token(
    http: &reqwest::Client,
    issuer: &str,
    client: (&str, &str),
    form: &[(&str, &str)],
) -> Result<String> {
    let body: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(client.0, Some(client.1))
        .form(form)
        .send()
        .await?
        .json()
        .await?;
    Ok(body["access_token"]
        .as_str()
        .ok_or_else(|| format!("no token: {body}"))?
        .to_owned())
}

#[tokio::main]
async fn main() -> Result {
    let mut args = std::env::args().skip(1);
    let issuer = args.next().ok_or("ISSUER is required")?;
    let seconds: u64 = args.next().map_or(Ok(5), |s| s.parse())?;
    let concurrency: usize = args.next().map_or(Ok(32), |s| s.parse())?;
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

    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, issuer, pat, bob, resource, done) = (
            http.clone(),
            issuer.clone(),
            pat.clone(),
            bob.clone(),
            resource.clone(),
            Arc::clone(&done),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let ticket: Value = http
                    .post(format!("{issuer}/permission"))
                    .bearer_auth(&pat)
                    .json(&json!({"resource_id": resource, "resource_scopes": ["view"]}))
                    .send()
                    .await?
                    .json()
                    .await?;
                let ticket = ticket["ticket"].as_str().ok_or("no ticket")?;
                let granted = http
                    .post(format!("{issuer}/token"))
                    .bearer_auth(&bob)
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
