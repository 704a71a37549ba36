//! The real `uma-as` binary: configuration, persistence across restarts, clean shutdown.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

mod support;
use support::process::{Server, TempDir};

fn write_config(dir: &Path) -> PathBuf {
    let path = dir.join("uma-as.toml");
    std::fs::write(
        &path,
        r#"
password_grant = true
[[clients]]
client_id = "photoz"
client_secret = "photoz-secret"
[[users]]
username = "alice"
password = "alice-password"
"#,
    )
    .unwrap();
    path
}

/// The arguments that run `uma-as` on `dir`'s configuration and a SQLite file in `dir`.
fn sqlite_server_args(dir: &Path) -> Vec<String> {
    let config = write_config(dir);
    let db = format!("sqlite:{}", dir.join("state.db").display());
    [
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--storage",
        &db,
    ]
    .map(str::to_owned)
    .to_vec()
}

async fn pat(server: &Server) -> String {
    let body: Value = reqwest::Client::new()
        .post(server.url("/token"))
        .basic_auth("photoz", Some("photoz-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn state_survives_a_restart_and_sigterm_stops_it_cleanly() {
    let dir = TempDir::new();
    let args = sqlite_server_args(&dir.0);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let server = Server::start(&args);
    let discovery: Value = reqwest::get(server.url("/.well-known/uma2-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(discovery["issuer"], server.url(""));
    let jwks_before: Value = reqwest::get(server.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let pat = pat(&server).await;
    let created = reqwest::Client::new()
        .post(server.url("/resource_set"))
        .bearer_auth(&pat)
        .json(&serde_json::json!({"resource_scopes": ["view"], "name": "kept", "owner": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(server.terminate().success(), "SIGTERM is a clean exit");

    let server = Server::start(&args);
    // The PAT, the resource and the signing key all survived.
    let read = reqwest::Client::new()
        .get(server.url(&format!("/resource_set/{id}")))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(read.json::<Value>().await.unwrap()["name"], "kept");
    let jwks_after: Value = reqwest::get(server.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks_before, jwks_after);
    assert!(server.terminate().success());
}

/// SQLite serves one server: a second `uma-as` on the same file is refused at start, saying
/// why, once SQLite's wait for the lock (5 s) runs out, and the first serves on.
#[tokio::test]
async fn a_second_server_on_the_same_sqlite_file_is_refused() {
    let dir = TempDir::new();
    let args = sqlite_server_args(&dir.0);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = Server::start(&args);
    let before = pat(&first).await;

    let second = Command::new(env!("CARGO_BIN_EXE_uma-as"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = second.id().to_string();
    let (exited, exit) = std::sync::mpsc::channel();
    std::thread::spawn(move || exited.send(second.wait_with_output()));
    let Ok(second) = exit.recv_timeout(Duration::from_secs(60)) else {
        Command::new("kill").arg(&pid).status().unwrap();
        panic!("a second server started on the first one's SQLite file");
    };
    let second = second.unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("another process has it open"), "{stderr}");

    let introspected = support::api::Api::new().introspect(&first, &before).await;
    assert_eq!(introspected["active"], true, "{introspected}");
    assert!(first.terminate().success());
}

#[test]
fn a_bad_config_is_refused_with_the_key_named() {
    let dir = TempDir::new();
    let path = dir.0.join("bad.toml");
    std::fs::write(&path, "listen = \"127.0.0.1:0\"\npasword_grant = true\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_uma-as"))
        .args(["--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("pasword_grant"), "{stderr}");

    let output = Command::new(env!("CARGO_BIN_EXE_uma-as"))
        .args(["--storage", "postgres://nope"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("storage"));
}

/// The resident memory of a process, in bytes.
#[cfg(target_os = "linux")]
fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib * 1024
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn hostile_sign_in_requests_leave_memory_bounded() {
    let dir = TempDir::new();
    let path = dir.0.join("uma-as.toml");
    std::fs::write(
        &path,
        r#"
[[clients]]
client_id = "photoz"
client_secret = "photoz-secret"
redirect_uris = ["https://photoz.example/cb"]
claims_redirect_uris = ["https://photoz.example/claims"]
"#,
    )
    .unwrap();
    let server = Server::start(&[
        "--config",
        path.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--storage",
        "memory",
    ]);
    let long = |n: usize| "a".repeat(n);
    // Every request carries the most the server keeps (or more, for /claims and the last kind).
    let authorize = server.url(&format!(
        "/authorize?response_type=code&client_id=photoz&redirect_uri=https%3A%2F%2Fphotoz.example%2Fcb&code_challenge={}&code_challenge_method=S256&scope=openid+uma_protection&state={}&nonce={}",
        long(128),
        long(512),
        long(512)
    ));
    let claims = server.url(&format!(
        "/claims?client_id=photoz&claims_redirect_uri=https%3A%2F%2Fphotoz.example%2Fclaims&ticket={}&state={}",
        long(2048),
        long(512)
    ));
    let oversized = server.url(&format!(
        "/authorize?response_type=code&client_id=photoz&state={}",
        long(14_000)
    ));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let fire = |url: String, count: usize| {
        let http = http.clone();
        async move {
            let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
            let mut tasks = Vec::with_capacity(count);
            for _ in 0..count {
                let (http, url, permit) = (
                    http.clone(),
                    url.clone(),
                    limit.clone().acquire_owned().await.unwrap(),
                );
                tasks.push(tokio::spawn(async move {
                    let status = http.get(url).send().await.unwrap().status();
                    drop(permit);
                    status
                }));
            }
            let mut statuses = Vec::with_capacity(count);
            for task in tasks {
                statuses.push(task.await.unwrap());
            }
            statuses
        }
    };
    // Warm up the allocator and the connection pool before the first reading.
    fire(claims.clone(), 200).await;
    let before = resident_bytes(server.child.id());
    let pages = fire(authorize, 5_000).await;
    assert!(pages.iter().all(|s| *s == 200), "every page is served");
    let redirected = fire(claims, 4_000).await;
    assert!(redirected.iter().all(|s| *s == 303));
    let refused = fire(oversized, 1_000).await;
    assert!(refused.iter().all(|s| s.is_client_error()));
    let after = resident_bytes(server.child.id());
    let grown = after.saturating_sub(before);
    println!(
        "resident memory: {} KiB before, {} KiB after 10,000 requests (+{} KiB)",
        before / 1024,
        after / 1024,
        grown / 1024
    );
    assert!(grown < 32 * 1024 * 1024, "grew by {grown} bytes");
}

/// `--keycloak-import`: the realm of the export served in Keycloak's realm mode, its clients
/// able to get tokens, and what it holds that is not imported said in one warning.
#[tokio::test]
async fn a_keycloak_realm_export_is_imported_at_start() {
    let export = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/keycloak-realm.json"
    );
    let server = Server::start(&[
        "--keycloak-import",
        export,
        "--listen",
        "127.0.0.1:0",
        "--storage",
        "memory",
    ]);
    let discovery: Value =
        reqwest::get(server.url("/realms/photoz/.well-known/uma2-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(discovery["issuer"], server.url("/realms/photoz"));
    let token = reqwest::Client::new()
        .post(server.url("/realms/photoz/protocol/openid-connect/token"))
        .basic_auth("photoz-restful-api", Some("photoz-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    let warnings: Vec<&String> = server
        .startup_log
        .iter()
        .filter(|line| line.contains("WARN") && line.contains("not imported"))
        .collect();
    assert_eq!(warnings.len(), 1, "{:#?}", server.startup_log);
    for named in [
        "realm settings",
        "user carol",
        "user mallory",
        "photoz-html5-client",
        "policy \"Admins\" of type role",
    ] {
        assert!(warnings[0].contains(named), "{named}: {}", warnings[0]);
    }
}
