//! The real `uma-as` binary: configuration, persistence across restarts, clean shutdown.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap();
        let path = std::env::temp_dir().join(format!("uma-as-bin-{}", u64::from_le_bytes(bytes)));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `uma-as` and the address it logged.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(args: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_uma-as"))
            .args(args)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // The first log line says where it listens; reading it is the synchronisation.
        let addr = loop {
            let line = lines
                .next()
                .expect("uma-as exited before listening")
                .unwrap();
            if let Some(rest) = line.split("listen=").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Self { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

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
    let config = write_config(&dir.0);
    let db = format!("sqlite:{}", dir.0.join("state.db").display());
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--storage",
        &db,
    ];

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
