//! keycloak-connect (npm), unchanged, against `uma-as` in Keycloak's realm mode: an Express app
//! (`tests/interop/keycloak_connect/app.js`) protects its routes with `keycloak.enforcer` and
//! `keycloak.protect` as Keycloak's documentation shows; bob, with a share of `view`, is let in,
//! carol is not, and nobody gets `edit`; roles in tokens are checked as the adapter checks them.
//!
//! The packages are found in `UMA_NODE_MODULES` (`.ci/run` installs them with `npm ci` into
//! `target/interop-node` and sets it). Without node or them, the test prints `skipped: …` and
//! passes, and with `UMA_REQUIRE_INTEROP` set (as `.ci/run` sets it) fails instead.

mod support;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use http::StatusCode;
use serde_json::Value;
use support::{CLIENT_ID, CLIENT_SECRET, RS_ID, RS_SECRET};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use uma_as_core::{AuthorizationServer, ClientConfig, RunningServer, UserConfig};
use uma_client::{ClientCredentials, ProtectionClient, ResourceDescription};

/// The `node_modules` holding express and keycloak-connect, or `None` having said so.
fn node_modules() -> Option<PathBuf> {
    let modules = std::env::var_os("UMA_NODE_MODULES").map(PathBuf::from);
    let node = std::process::Command::new("node").arg("--version").output();
    let usable = node.is_ok_and(|o| o.status.success())
        && modules
            .as_ref()
            .is_some_and(|m| m.join("keycloak-connect").is_dir() && m.join("express").is_dir());
    if usable {
        return modules;
    }
    if std::env::var_os("UMA_REQUIRE_INTEROP").is_some() {
        panic!(
            "no node, or UMA_NODE_MODULES without keycloak-connect and express, and UMA_REQUIRE_INTEROP is set"
        );
    }
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: no node with keycloak-connect (npm ci in tests/interop/keycloak_connect, then set UMA_NODE_MODULES)"
    );
    None
}

/// The Express app, started; its base URL. It stops when the child is dropped.
async fn express_app(modules: &PathBuf, server: &RunningServer) -> (Child, String) {
    let base = server.issuer().strip_suffix("/realms/photoz").unwrap();
    let app = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/keycloak_connect/app.js"
    );
    let mut child = Command::new("node")
        .args([app, base, "photoz", RS_ID, RS_SECRET])
        .env("NODE_PATH", modules)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // A bound on a failure only: the app says its port as soon as it listens.
    let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the Express app says its port")
        .unwrap()
        .expect("the Express app says its port");
    let port = first.strip_prefix("listening ").expect("listening PORT");
    (child, format!("http://127.0.0.1:{port}"))
}

/// A user's access token through Keycloak's token path, as a Keycloak login would give it.
async fn login(server: &RunningServer, user: &str) -> String {
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/protocol/openid-connect/token", server.issuer()))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", &format!("{user}-password")),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

async fn call(method: http::Method, url: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keycloak_connects_enforcer_admits_bob_and_refuses_carol() {
    let Some(modules) = node_modules() else {
        return;
    };
    let server = AuthorizationServer::builder()
        .keycloak_realm("photoz")
        .password_grant(true)
        .client(ClientConfig::new(RS_ID, RS_SECRET))
        .client(ClientConfig::new(CLIENT_ID, CLIENT_SECRET))
        .user("alice")
        .user(
            UserConfig::new("bob")
                .password("bob-password")
                .client_roles(RS_ID, ["album-manager"]),
        )
        .user(
            UserConfig::new("carol")
                .password("carol-password")
                .realm_roles(["admin"]),
        )
        .spawn()
        .await
        .unwrap();
    let protection = ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new(RS_ID, RS_SECRET))
        .build()
        .unwrap();
    let album = protection
        .create_resource(
            &ResourceDescription::new(["view", "edit"])
                .name("album")
                .owner("alice"),
        )
        .await
        .unwrap();
    let share = server.share(&album, "bob", ["view"]).await.unwrap();
    let (_app, base) = express_app(&modules, &server).await;
    let (bob, carol) = (login(&server, "bob").await, login(&server, "carol").await);
    let get = http::Method::GET;

    // The enforcer's default (response_mode=permissions, subject_token = the caller's token).
    let (status, body) = call(get.clone(), &format!("{base}/album"), Some(&bob)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["permissions"][0]["rsid"], album.as_str());
    assert_eq!(body["permissions"][0]["rsname"], "album");
    let (status, _) = call(get.clone(), &format!("{base}/album"), Some(&carol)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(get.clone(), &format!("{base}/album"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = call(http::Method::PUT, &format!("{base}/album"), Some(&bob)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "bob has no share of edit");

    // The user's token verified offline (RS256, the realm's certs), then an RPT asked for and
    // verified offline too, its authorization.permissions read.
    let (status, body) = call(get.clone(), &format!("{base}/me"), Some(&bob)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["preferred_username"],
        "bob"
    );
    let (status, body) = call(get.clone(), &format!("{base}/album/by-token"), Some(&bob)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = call(get.clone(), &format!("{base}/album/by-token"), Some(&carol)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Roles, as keycloak.protect checks them in the token: carol is a realm admin, bob manages
    // albums at photoz.
    for (path, user, status) in [
        ("/admin", &carol, StatusCode::OK),
        ("/admin", &bob, StatusCode::FORBIDDEN),
        ("/manage", &bob, StatusCode::OK),
        ("/manage", &carol, StatusCode::FORBIDDEN),
    ] {
        let (got, body) = call(get.clone(), &format!("{base}{path}"), Some(user)).await;
        assert_eq!(got, status, "{path}: {body}");
    }

    // A token whose claims were changed under its signature is refused offline.
    let parts: Vec<&str> = bob.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        carol.split('.').nth(1).unwrap(),
        parts[2]
    );
    let (status, _) = call(get.clone(), &format!("{base}/me"), Some(&forged)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Alice withdraws the share: the enforcer asks each time, and bob is refused from then on.
    let owner = server.owner_token("alice", CLIENT_ID).await.unwrap();
    let deleted = reqwest::Client::new()
        .delete(format!("{}/policy/{share}", server.issuer()))
        .bearer_auth(owner.as_str())
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let (status, _) = call(get, &format!("{base}/album"), Some(&bob)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
