//! Load driver for the whole UMA flow across many owners, resources and parties, against a
//! running `uma-as`, from a process of its own (`scripts/as-flow.sh` pins it to its own core).
//!
//! ```text
//! cargo run --release --example flow_load -- --seed DB_FILE RESOURCES OWNERS PARTIES
//! cargo run --release --example flow_load -- ISSUER SECONDS CONCURRENCY RESOURCES PARTIES [SERVER_PID]
//! ```
//!
//! `--seed` writes the data set into a SQLite database for `uma-as` to open: `RESOURCES`
//! resources of the resource server `photoz`, spread evenly over `OWNERS` owners (`owner-0` …),
//! each with a policy sharing `view` with ten of the `PARTIES` parties (`party-0` …): resource
//! `i` with parties `(i + 10k) mod PARTIES`, k = 0…9. It prints the users' TOML for the
//! server's configuration (parties with the password `party-password`).
//!
//! The load: `CONCURRENCY` tasks run whole flows back to back for `SECONDS` (after 2 s of warm-up
//! that is not counted). A flow is what a resource server and a client do for one access: a
//! permission request for a resource chosen at random (with the resource server's PAT), then the
//! UMA grant redeeming its ticket (with the access token of a party, chosen at random among the
//! ten it is shared with). A flow counts once its RPT is received; a refusal stops the run.
//! Prints `flows/s p50-ms p99-ms p99.9-ms`, the latencies being those of whole flows; given the server's
//! process id on this machine, also the server's CPU time per counted flow in µs (from
//! `/proc/PID/stat` at the end of the warm-up and at the deadline), which the hypervisor's steal
//! does not inflate as it does the rate.

#[path = "support/token.rs"]
mod support_token;

#[path = "support/seed.rs"]
mod support_seed;

use std::sync::Arc;
use std::time::{Duration, Instant};
use support_token::{Result, token};

use serde_json::Value;
use uma_as_core::store::{SqliteStore, Store};

/// The parties resource `i` is shared with.
fn parties_of(resource: usize, parties: usize) -> impl Iterator<Item = usize> {
    (0..10).map(move |k| (resource + 10 * k) % parties)
}

async fn seed(mut args: impl Iterator<Item = String>) -> Result {
    let path = args.next().ok_or("DB_FILE is required")?;
    let resources: usize = args.next().ok_or("RESOURCES is required")?.parse()?;
    let owners: usize = args.next().ok_or("OWNERS is required")?.parse()?;
    let parties: usize = args.next().ok_or("PARTIES is required")?.parse()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).await?);
    support_seed::seed(
        &store,
        resources,
        move |i| format!("owner-{}", i % owners),
        move |i| {
            parties_of(i, parties)
                .map(|p| format!("party-{p}"))
                .collect()
        },
    )
    .await?;
    for owner in 0..owners {
        println!("[[users]]\nusername = \"owner-{owner}\"");
    }
    for party in 0..parties {
        println!("[[users]]\nusername = \"party-{party}\"\npassword = \"party-password\"");
    }
    Ok(())
}

/// What every flow needs: the resource server's PAT and each party's access token.
struct Setup {
    http: reqwest::Client,
    issuer: String,
    pat: String,
    parties: Vec<String>,
    resources: usize,
}

impl Setup {
    async fn new(issuer: String, resources: usize, parties: usize) -> Result<Self> {
        let http = reqwest::Client::new();
        let pat = token(
            &http,
            &issuer,
            ("photoz", "photoz-secret"),
            &[("grant_type", "client_credentials")],
        )
        .await?;
        let mut tokens = Vec::with_capacity(parties);
        for party in 0..parties {
            let username = format!("party-{party}");
            tokens.push(
                token(
                    &http,
                    &issuer,
                    ("doctor-app", "doctor-secret"),
                    &[
                        ("grant_type", "password"),
                        ("username", &username),
                        ("password", "party-password"),
                    ],
                )
                .await?,
            );
        }
        Ok(Self {
            http,
            issuer,
            pat,
            parties: tokens,
            resources,
        })
    }

    /// One whole flow: a ticket for resource `resource`, then its redemption by `party`.
    async fn flow(&self, resource: usize, party: usize) -> Result {
        let (http, issuer) = (&self.http, &self.issuer);
        let ticket: Value = http
            .post(format!("{issuer}/permission"))
            .bearer_auth(&self.pat)
            .json(&serde_json::json!({
                "resource_id": format!("r{resource:06}"),
                "resource_scopes": ["view"],
            }))
            .send()
            .await?
            .json()
            .await?;
        let ticket = ticket["ticket"]
            .as_str()
            .ok_or_else(|| format!("no ticket: {ticket}"))?;
        let granted = http
            .post(format!("{issuer}/token"))
            .bearer_auth(&self.parties[party])
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"),
                ("ticket", ticket),
            ])
            .send()
            .await?;
        let status = granted.status();
        let body = granted.bytes().await?;
        if status != 200 {
            return Err(format!(
                "grant answered {status}: {}",
                String::from_utf8_lossy(&body)
            )
            .into());
        }
        Ok(())
    }
}

/// xorshift64*: enough to spread picks evenly, seeded per task.
struct Picks(u64);

impl Picks {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n as u64) as usize
    }
}

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let index = ((sorted.len().saturating_sub(1)) as f64 * q).round() as usize;
    sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() -> Result {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--seed") {
        args.next();
        return seed(args).await;
    }
    let issuer = args.next().ok_or("ISSUER is required")?;
    let seconds: u64 = args.next().ok_or("SECONDS is required")?.parse()?;
    let concurrency: usize = args.next().ok_or("CONCURRENCY is required")?.parse()?;
    let resources: usize = args.next().ok_or("RESOURCES is required")?.parse()?;
    let parties: usize = args.next().ok_or("PARTIES is required")?.parse()?;
    let server: Option<u32> = args.next().map(|pid| pid.parse()).transpose()?;
    let setup = Arc::new(Setup::new(issuer, resources, parties).await?);
    let warm_up = Instant::now() + Duration::from_secs(2);
    let deadline = warm_up + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..concurrency {
        let setup = Arc::clone(&setup);
        let mut picks =
            Picks(0x9E37_79B9_7F4A_7C15 ^ (task as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9));
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let resource = picks.below(setup.resources);
                let party = parties_of(resource, setup.parties.len())
                    .nth(picks.below(10))
                    .ok_or("no party")?;
                let began = Instant::now();
                setup.flow(resource, party).await?;
                // Only flows begun after the warm-up and ended before the deadline count.
                if began >= warm_up && Instant::now() <= deadline {
                    latencies.push(began.elapsed());
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(latencies)
        });
    }
    let cpu = server.map(|pid| {
        tokio::spawn(async move {
            tokio::time::sleep_until(warm_up.into()).await;
            let start = cpu_ticks(pid)?;
            tokio::time::sleep_until(deadline.into()).await;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(cpu_ticks(pid)? - start)
        })
    });
    let mut latencies = Vec::new();
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done??);
    }
    latencies.sort_unstable();
    print!(
        "{:.0} {:.2} {:.2} {:.2}",
        latencies.len() as f64 / seconds as f64,
        quantile(&latencies, 0.5),
        quantile(&latencies, 0.99),
        quantile(&latencies, 0.999)
    );
    if let Some(cpu) = cpu {
        let ticks = cpu.await??;
        // Clock ticks are 10 ms (USER_HZ 100 on Linux).
        let micros = ticks as f64 * 10_000.0 / latencies.len().max(1) as f64;
        print!(" {micros:.0}");
    }
    println!();
    Ok(())
}

/// The CPU time a process has used so far, in clock ticks (user + system).
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name, in parentheses, may hold spaces: count fields after its end.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .ok_or("unreadable /proc stat")?
        .1
        .split_whitespace()
        .collect();
    let field =
        |n: usize| -> Result<u64> { Ok(fields.get(n).ok_or("short /proc stat")?.parse::<u64>()?) };
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    Ok(field(11)? + field(12)?)
}
