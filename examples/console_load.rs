//! How long the owner's console takes to answer each of its pages for an owner with 1,000
//! resources and 10,000 decisions: run by `scripts/console-load.sh`, which seeds a SQLite
//! database with this program, serves it with the release `uma-as` pinned to one core, and
//! times the pages with this program from the other.
//!
//! ```text
//! console_load seed <database>
//! console_load time <issuer> <rounds> <requests per page per round>
//! ```
//!
//! `time` signs in as alice over HTTP, then in each round asks for every page in turn (the order
//! rotated each round), `requests` times each, one at a time, and prints each page's median per
//! round, then the median and range of those medians and the p99 of all requests. A request's
//! time is measured here, in another process: the page's rendering plus a loopback round trip.

use std::time::{Duration, Instant};

use uma_as_core::store::{
    Decision, PendingRequest, Policy, RequestStatus, Resource, SqliteStore, Store,
};
use uma_client::{Permission, PermissionRequest, ResourceDescription};

const RESOURCES: usize = 1_000;
const DECISIONS: usize = 10_000;
const PENDING: usize = 50;
/// Resources other owners share with alice.
const SHARED_WITH_ALICE: usize = 100;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("seed") => seed(&args[2]).await,
        Some("time") => {
            time(
                &args[2],
                args[3].parse().expect("rounds"),
                args[4].parse().expect("requests"),
            )
            .await;
        }
        _ => eprintln!("usage: console_load seed <database> | time <issuer> <rounds> <requests>"),
    }
}

/// Writes many records at once, so that SQLite's writer commits them in groups.
type Write = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

async fn all(writes: Vec<Write>) {
    let mut set = tokio::task::JoinSet::new();
    for write in writes {
        set.spawn(write);
        if set.len() >= 256 {
            set.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(done) = set.join_next().await {
        done.unwrap();
    }
}

async fn seed(path: &str) {
    let store: std::sync::Arc<dyn Store> =
        std::sync::Arc::new(SqliteStore::open(path).await.unwrap());
    let started = now();
    let resource = |i: usize, owner: &str| Resource {
        id: format!("{owner}-{i:05}"),
        owner: owner.to_owned(),
        resource_server: if i % 2 == 0 { "photoz" } else { "calendar" }.to_owned(),
        description: ResourceDescription::new(["view", "edit", "delete"])
            .name(format!("{owner}'s album {i}"))
            .resource_type("photo-album"),
    };
    let policy =
        |id: String, resource: &Resource, users: Vec<String>, groups: Vec<String>| Policy {
            id,
            resource_id: resource.id.clone(),
            owner: resource.owner.clone(),
            scopes: vec!["view".into()],
            users,
            groups,
            not_after: (resource.id.len() % 3 == 0).then_some(started + 86_400 * 30),
            created_at: Some(started),
            ..Policy::default()
        };
    let mut writes: Vec<Write> = Vec::new();
    for i in 0..RESOURCES {
        let (store, r) = (store.clone(), resource(i, "alice"));
        // Each resource shared with bob, every third with a group as well.
        let mut policies = vec![policy(format!("p-{i:05}"), &r, vec!["bob".into()], vec![])];
        if i % 3 == 0 {
            policies.push(policy(
                format!("g-{i:05}"),
                &r,
                vec![],
                vec!["family".into()],
            ));
        }
        writes.push(Box::pin(async move {
            store.put_resource(r).await.unwrap();
            for p in policies {
                store.put_policy(p).await.unwrap();
            }
        }));
    }
    for i in 0..SHARED_WITH_ALICE {
        let (store, r) = (store.clone(), resource(i, "carol"));
        let p = policy(format!("c-{i:05}"), &r, vec!["alice".into()], vec![]);
        writes.push(Box::pin(async move {
            store.put_resource(r).await.unwrap();
            store.put_policy(p).await.unwrap();
        }));
    }
    all(writes).await;
    let mut writes: Vec<Write> = Vec::new();
    for i in 0..DECISIONS {
        let store = store.clone();
        let r = i % RESOURCES;
        let granted = i % 10 < 7;
        let decision = Decision {
            id: format!("d-{i:05}"),
            at: started - (DECISIONS - i) as u64,
            owner: "alice".into(),
            party: if granted { "bob" } else { "mallory" }.into(),
            client_id: "doctor-app".into(),
            requested: vec![PermissionRequest::new(format!("alice-{r:05}"), ["view"])],
            granted: if granted {
                vec![Permission::new(format!("alice-{r:05}"), ["view"])]
            } else {
                vec![]
            },
            outcome: if granted { "granted" } else { "request_denied" }.into(),
            policies: if granted {
                vec![format!("p-{r:05}")]
            } else {
                vec![]
            },
            reason: None,
        };
        writes.push(Box::pin(async move {
            store.put_decision(decision).await.unwrap()
        }));
    }
    for i in 0..PENDING {
        let store = store.clone();
        let request = PendingRequest {
            id: format!("q-{i:03}"),
            owner: "alice".into(),
            resource_id: format!("alice-{i:05}"),
            party: "dave".into(),
            client_id: "doctor-app".into(),
            scopes: vec!["edit".into()],
            status: RequestStatus::Pending,
            created_at: started,
        };
        writes.push(Box::pin(async move {
            store.put_request_if_absent(request).await.unwrap();
        }));
    }
    all(writes).await;
    println!(
        "seeded {path}: alice has {RESOURCES} resources, {DECISIONS} decisions, {PENDING} pending requests, {SHARED_WITH_ALICE} shared with her"
    );
}

/// The `href` of the element with `id="next"`, if the page has one.
fn next_link(page: &str) -> Option<String> {
    let start = page.find("id=\"next\" href=\"")? + 16;
    let href = page[start..].split('"').next()?;
    Some(href.replace("&#38;", "&").replace("&amp;", "&"))
}

fn value_after<'a>(page: &'a str, marker: &str) -> Option<&'a str> {
    let start = page.find(marker)? + marker.len();
    page[start..].split('"').next()
}

async fn sign_in(http: &reqwest::Client, console: &str) -> String {
    let form = http.get(format!("{console}/sign-in")).send().await.unwrap();
    let login = form.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = form.text().await.unwrap();
    let csrf = value_after(&page, "name=\"csrf\" value=\"")
        .unwrap()
        .to_owned();
    let done = http
        .post(format!("{console}/sign-in"))
        .header("cookie", login)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .send()
        .await
        .unwrap();
    done.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("uma_console="))
        .expect("a console session")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn get(http: &reqwest::Client, cookie: &str, url: &str) -> String {
    let response = http.get(url).header("cookie", cookie).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.text().await.unwrap()
}

/// Follows `next` links `pages - 1` times from `url`: the URL of page `pages`.
async fn page_at(http: &reqwest::Client, cookie: &str, url: &str, pages: usize) -> String {
    let mut url = url.to_owned();
    for _ in 1..pages {
        let page = get(http, cookie, &url).await;
        url = next_link(&page).expect("a next page");
    }
    url
}

async fn time(issuer: &str, rounds: usize, requests: usize) {
    let console = format!("{issuer}/console");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = sign_in(&http, &console).await;
    let first = get(&http, &cookie, &console).await;
    let resource = first
        .split("href=\"")
        .skip(1)
        .filter_map(|h| h.split('"').next())
        .find(|h| h.contains("/console/resources/"))
        .map(str::to_owned);
    let pages = [
        ("My resources, page 1 of 50", console.clone()),
        (
            "My resources, page 50",
            page_at(&http, &cookie, &console, 50).await,
        ),
        (
            "One resource, with its share form",
            resource.expect("a resource link"),
        ),
        ("Requests (50 pending)", format!("{console}/requests")),
        ("Activity, newest 50", format!("{console}/activity")),
        (
            "Activity, page 100 of 200",
            page_at(&http, &cookie, &format!("{console}/activity"), 100).await,
        ),
        ("Shared with me (100)", format!("{console}/shared")),
    ];
    let mut medians: Vec<Vec<f64>> = vec![Vec::new(); pages.len()];
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); pages.len()];
    for round in 0..rounds {
        for k in 0..pages.len() {
            let index = (k + round) % pages.len();
            let (_, url) = &pages[index];
            for _ in 0..requests / 10 {
                get(&http, &cookie, url).await;
            }
            let mut times = Vec::with_capacity(requests);
            for _ in 0..requests {
                let started = Instant::now();
                get(&http, &cookie, url).await;
                times.push(ms(started.elapsed()));
            }
            all[index].extend(&times);
            medians[index].push(median(&mut times));
        }
    }
    println!("| page | median ms (min–max of {rounds} round medians) | p99 ms |");
    println!("|---|---:|---:|");
    for (index, (name, _)) in pages.iter().enumerate() {
        let round_medians = &mut medians[index];
        let (low, high) = (
            round_medians.iter().cloned().fold(f64::INFINITY, f64::min),
            round_medians.iter().cloned().fold(0.0, f64::max),
        );
        let mid = median(round_medians);
        let samples = &mut all[index];
        samples.sort_by(f64::total_cmp);
        let p99 = samples[(samples.len() * 99 / 100).min(samples.len() - 1)];
        println!("| {name} | {mid:.2} ({low:.2}–{high:.2}) | {p99:.2} |");
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
