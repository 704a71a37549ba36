//! A Keycloak realm export (`tests/fixtures/keycloak-realm.json`, in the shape Keycloak exports)
//! read at start: its clients, users, groups, resources and the policies it can express here
//! work; what it cannot is left out (the unit tests beside the import name each); importing
//! again on the same store replaces rather than adds.

use std::path::PathBuf;

use http::StatusCode;
use serde_json::Value;
use uma_as_core::config::Config;
use uma_as_core::store::{SqliteStore, Store};

const RS: &str = "photoz-restful-api";

fn fixture() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keycloak-realm.json"
    ))
}

/// `uma-as` as its binary starts it, from TOML naming the export and a SQLite file.
async fn start(database: &std::path::Path) -> (String, tokio::task::JoinHandle<()>) {
    let toml = format!(
        "storage = \"sqlite:{}\"\n[keycloak]\nrealm = \"photoz\"\nimport = {:?}\n",
        database.display(),
        fixture().display().to_string()
    );
    let mut config = Config::from_toml(&toml).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    config.listen = listener.local_addr().unwrap();
    let server = config.builder().await.unwrap().build().await.unwrap();
    let issuer = server.issuer().to_owned();
    let task = tokio::spawn(async move {
        server
            .serve(listener, std::future::pending())
            .await
            .unwrap();
    });
    (issuer, task)
}

/// A password grant at Keycloak's token path: the token, or the refusal's status.
async fn login(
    issuer: &str,
    client: (&str, &str),
    user: &str,
    password: &str,
) -> Result<Value, StatusCode> {
    let response = reqwest::Client::new()
        .post(format!("{issuer}/protocol/openid-connect/token"))
        .basic_auth(client.0, Some(client.1))
        .form(&[
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("scope", "openid"),
        ])
        .send()
        .await
        .unwrap();
    match response.status() {
        StatusCode::OK => Ok(response.json().await.unwrap()),
        status => Err(status),
    }
}

async fn decision(issuer: &str, token: &Value, permission: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{issuer}/protocol/openid-connect/token"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("audience", RS),
            ("permission", permission),
            ("response_mode", "decision"),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realm_export_configures_the_server() {
    let dir = std::env::temp_dir().join(format!("uma-kc-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = dir.join("uma.db");
    let _ = std::fs::remove_file(&database);
    let (issuer, task) = start(&database).await;
    assert!(issuer.ends_with("/realms/photoz"), "{issuer}");

    let rs = (RS, "photoz-secret");
    let app = ("doctor-app", "doctor-secret");
    // Users with their passwords; carol's is stored hashed, mallory is disabled.
    let bob_at_rs = login(&issuer, rs, "bob", "bob").await.unwrap();
    let bob_at_app = login(&issuer, app, "bob", "bob").await.unwrap();
    assert!(login(&issuer, rs, "alice", "alice").await.is_ok());
    assert!(login(&issuer, rs, "carol", "carol").await.is_err());
    assert!(login(&issuer, rs, "mallory", "mallory").await.is_err());
    // A public client is not imported.
    assert!(
        login(&issuer, ("photoz-html5-client", ""), "bob", "bob")
            .await
            .is_err()
    );

    // Bob's claims: email and his one-valued attribute.
    let id_token = bob_at_rs["id_token"].as_str().unwrap();
    let payload = id_token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["email"], "bob@photoz.example");
    assert_eq!(claims["licence"], "MD-1234");
    assert!(claims.get("languages").is_none());

    // The permissions: view for bob; edit for the doctors through doctor-app only; the admin
    // resource's role permission is not imported, so nobody gets it.
    assert_eq!(
        decision(&issuer, &bob_at_rs, "Alice Album#view").await,
        StatusCode::OK
    );
    assert_eq!(
        decision(&issuer, &bob_at_rs, "Alice Album#edit").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        decision(&issuer, &bob_at_app, "Alice Album#edit").await,
        StatusCode::OK
    );
    let alice = login(&issuer, rs, "alice", "alice").await.unwrap();
    // Her realm roles, carried in her access token as Keycloak carries them.
    let access = alice["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let access: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(access)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(access["realm_access"]["roles"], serde_json::json!(["user"]));
    assert_eq!(
        decision(&issuer, &alice, "Admin Resource#admin").await,
        StatusCode::FORBIDDEN
    );

    // The resources, as exported.
    let pat: Value = reqwest::Client::new()
        .post(format!("{issuer}/protocol/openid-connect/token"))
        .basic_auth(rs.0, Some(rs.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let album: Value = reqwest::Client::new()
        .get(format!(
            "{issuer}/authz/protection/resource_set/alice-album-id"
        ))
        .bearer_auth(pat["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(album["owner"], "alice");
    assert_eq!(album["uris"], serde_json::json!(["/album/alice/*"]));
    assert_eq!(album["attributes"]["colour"], serde_json::json!(["blue"]));
    assert_eq!(album["ownerManagedAccess"], true);
    task.abort();
    let _ = task.await;

    // Imported again on the same store: replaced, not added.
    let (_issuer, task) = start(&database).await;
    task.abort();
    let _ = task.await;
    let store = SqliteStore::open(&database).await.unwrap();
    assert_eq!(store.resources(RS, None, None, 100).await.unwrap().len(), 2);
    assert_eq!(store.policies_for("alice-album-id").await.unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
