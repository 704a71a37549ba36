//! `uma-as` killed with SIGKILL under load loses nothing it acknowledged, on SQLite and on
//! PostgreSQL: every resource it answered `201` for is there after a restart, and no ticket it
//! answered a grant for can be redeemed again.

mod support;

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::{Api, Auth};
use support::process::{Server, TempDir};

/// What the writers were told had happened.
#[derive(Default)]
struct Acknowledged {
    resources: Vec<String>,
    redeemed_tickets: Vec<String>,
}

/// Eight writers register resources and redeem tickets until `enough` writes are acknowledged;
/// then the server is killed mid-flight.
async fn load_then_kill(server: Server, api: Arc<Api>, enough: usize) -> Acknowledged {
    let album = api.album(&server, false).await;
    api.share(&server, &album).await;
    let pat = api.pat(&server).await;
    let Auth::Bearer(bob) = api.bob(&server).await else {
        unreachable!("bob signs in")
    };
    let server = Arc::new(server);
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let (enough_tx, mut enough_rx) = tokio::sync::watch::channel(false);
    let mut writers = Vec::new();
    for writer in 0..8 {
        let (api, server, pat, bob, album, acknowledged, enough_tx) = (
            Arc::clone(&api),
            Arc::clone(&server),
            pat.clone(),
            bob.clone(),
            album.clone(),
            Arc::clone(&acknowledged),
            enough_tx.clone(),
        );
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                // Errors are expected once the server is killed: the writer stops there.
                let Ok(response) = api
                    .http
                    .post(server.url("/resource_set"))
                    .bearer_auth(&pat)
                    .json(&json!({"name": format!("w{writer}-{n}"), "resource_scopes": ["view"]}))
                    .send()
                    .await
                else {
                    return;
                };
                if response.status() == StatusCode::CREATED {
                    let Ok(body) = response.json::<Value>().await else {
                        return;
                    };
                    let id = body["_id"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().resources.push(id);
                }
                let Ok(ticket) = api
                    .http
                    .post(server.url("/permission"))
                    .bearer_auth(&pat)
                    .json(&json!({"resource_id": album, "resource_scopes": ["view"]}))
                    .send()
                    .await
                else {
                    return;
                };
                let Ok(ticket) = ticket.json::<Value>().await else {
                    return;
                };
                let Some(ticket) = ticket["ticket"].as_str() else {
                    return;
                };
                let Ok(granted) = api
                    .http
                    .post(server.url("/token"))
                    .bearer_auth(&bob)
                    .form(&[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"),
                        ("ticket", ticket),
                    ])
                    .send()
                    .await
                else {
                    return;
                };
                if granted.status() == StatusCode::OK {
                    let mut acknowledged = acknowledged.lock().unwrap();
                    acknowledged.redeemed_tickets.push(ticket.to_owned());
                    if acknowledged.resources.len() >= enough {
                        let _ = enough_tx.send(true);
                    }
                }
            }
        }));
    }
    enough_rx.wait_for(|enough| *enough).await.unwrap();
    // SIGKILL while the writers are still writing.
    let pid = server.child.id();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    std::mem::take(&mut *acknowledged.lock().unwrap())
}

/// After the restart: every acknowledged resource is there, no redeemed ticket redeems again.
async fn check(server: &Server, api: &Api, acknowledged: &Acknowledged) {
    let pat = api.pat(server).await;
    for id in &acknowledged.resources {
        let read = api
            .http
            .get(server.url(&format!("/resource_set/{id}")))
            .bearer_auth(&pat)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status(), StatusCode::OK, "resource {id} was lost");
    }
    let bob = api.bob(server).await;
    for ticket in &acknowledged.redeemed_tickets {
        let (status, body) = api.grant(server, &bob, &[("ticket", ticket)]).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant")),
            "a redeemed ticket was redeemed again"
        );
    }
}

async fn crash_and_restart(storage: &str, dir: &TempDir) {
    let config = support::api::write_config(dir);
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--storage",
        storage,
    ];
    let api = Arc::new(Api::new());
    let acknowledged = load_then_kill(Server::start(&args), Arc::clone(&api), 200).await;
    assert!(acknowledged.resources.len() >= 200);
    let restarted = Server::start(&args);
    check(&restarted, &api, &acknowledged).await;
}

#[tokio::test]
async fn sqlite_loses_nothing_it_acknowledged() {
    let dir = TempDir::new();
    let storage = format!("sqlite:{}", dir.0.join("state.db").display());
    crash_and_restart(&storage, &dir).await;
}

#[tokio::test]
async fn postgres_loses_nothing_it_acknowledged() {
    let Some(database) = support::postgres::fresh_database().await else {
        return;
    };
    crash_and_restart(&database, &TempDir::new()).await;
}
