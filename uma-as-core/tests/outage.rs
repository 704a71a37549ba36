//! A PostgreSQL outage in the middle of a run: `uma-as` answers `503` JSON errors within its
//! `storage_timeout` (never a panic, a `500` or a hang), and recovers by itself when the database
//! is back. The outage is a TCP proxy between the two that drops every connection and takes no
//! new ones, as a database restart or a network partition does.

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::api::Api;
use support::process::{Server, TempDir};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// Forwards connections to `target` while up; when down, cuts the open ones and closes new ones.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Proxy {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (up2, open2) = (Arc::clone(&up), Arc::clone(&open));
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                open2.lock().unwrap().push(task.abort_handle());
            }
        });
        Self { port, up, open }
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for connection in self.open.lock().unwrap().drain(..) {
            connection.abort();
        }
    }

    fn up(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn an_outage_answers_503_and_the_server_recovers_by_itself() {
    let Some(database) = support::postgres::fresh_database().await else {
        return;
    };
    let mut url = url::Url::parse(&database).unwrap();
    let target = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap_or(5432));
    let proxy = Proxy::start(target).await;
    url.set_host(Some("127.0.0.1")).unwrap();
    url.set_port(Some(proxy.port)).unwrap();

    let dir = TempDir::new();
    let config = support::api::write_config(&dir);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.insert_str(0, "storage_timeout = 2\n");
    std::fs::write(&config, text).unwrap();
    // Started off the runtime's thread: the proxy on this runtime must serve its connections.
    let storage = url.to_string();
    let server = tokio::task::spawn_blocking(move || {
        Server::start(&[
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--storage",
            &storage,
        ])
    })
    .await
    .unwrap();
    // A bound on the wait, not a measurement: an answer later than this is a hang.
    let api = Api {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
    };
    let pat = api.pat(&server).await;
    let register = |name: &str| {
        api.http
            .post(server.url("/resource_set"))
            .bearer_auth(&pat)
            .json(&json!({"name": name, "resource_scopes": ["view"]}))
            .send()
    };
    assert_eq!(
        register("before").await.unwrap().status(),
        StatusCode::CREATED
    );

    proxy.down();
    let introspect = api
        .http
        .post(server.url("/introspect"))
        .bearer_auth(&pat)
        .form(&[("token", "anything")])
        .send();
    let token = api
        .http
        .post(server.url("/token"))
        .basic_auth("photoz", Some("photoz-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send();
    let during = [
        register("during").await.unwrap(),
        introspect.await.unwrap(),
        token.await.unwrap(),
    ];
    for response in during {
        let url = response.url().clone();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{url}");
        assert_eq!(response.headers()["retry-after"], "1");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "temporarily_unavailable", "{url}");
    }
    // The JWKS is served from the keys the server holds, so verifiers go on through an outage.
    let jwks = api.http.get(server.url("/jwks")).send().await.unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);
    let jwks: Value = jwks.json().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
    let pid = nix::unistd::Pid::from_raw(server.child.id() as i32);
    assert!(
        nix::sys::signal::kill(pid, None).is_ok(),
        "uma-as is still running"
    );

    proxy.up();
    // The pool drops its dead connections and opens new ones: the next request succeeds.
    assert_eq!(
        register("after").await.unwrap().status(),
        StatusCode::CREATED
    );
    let listed: Value = api
        .http
        .get(server.url("/resource_set"))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
}
