//! The AS's HTTP API as a resource server, an owner and a client call it, against any running
//! `uma-as`, with the configuration these tests share.

#![allow(dead_code)] // each test file uses a different part

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::process::{Server, TempDir};

/// Where claims gathering sends Bob back to `doctor-app`.
pub const CALLBACK: &str = "https://doctor-app.example/claims-callback";

/// Writes the shared configuration: `photoz` (the resource server), `doctor-app` (Bob's
/// client), users `alice` and `bob`, the password grant on, one issuer for every replica.
pub fn write_config(dir: &TempDir) -> std::path::PathBuf {
    let config = dir.0.join("uma-as.toml");
    std::fs::write(
        &config,
        format!(
            r#"
issuer = "http://uma.test"
password_grant = true
approval_poll_interval = 0
[[clients]]
client_id = "photoz"
client_secret = "photoz-secret"
[[clients]]
client_id = "doctor-app"
client_secret = "doctor-secret"
claims_redirect_uris = ["{CALLBACK}"]
[[users]]
username = "alice"
password = "alice-password"
[[users]]
username = "bob"
password = "bob-password"
"#
        ),
    )
    .unwrap();
    config
}

/// An HTTP client that follows no redirect, so that each one can be checked.
pub struct Api {
    pub http: reqwest::Client,
}

impl Api {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { http }
    }

    pub async fn token(&self, on: &Server, client: (&str, &str), form: &[(&str, &str)]) -> Value {
        self.http
            .post(on.url("/token"))
            .basic_auth(client.0, Some(client.1))
            .form(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn pat(&self, on: &Server) -> String {
        let body = self
            .token(
                on,
                ("photoz", "photoz-secret"),
                &[("grant_type", "client_credentials")],
            )
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A user's tokens through a client, by the password grant.
    pub async fn sign_in(
        &self,
        on: &Server,
        user: &str,
        client: (&str, &str),
        scope: &str,
    ) -> Value {
        let password = format!("{user}-password");
        self.token(
            on,
            client,
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", &password),
                ("scope", scope),
            ],
        )
        .await
    }

    pub async fn owner_token(&self, on: &Server) -> String {
        let body = self
            .sign_in(on, "alice", ("photoz", "photoz-secret"), "uma_protection")
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Alice's album, registered through `on`.
    pub async fn album(&self, on: &Server, owner_managed: bool) -> String {
        let body: Value = self
            .http
            .post(on.url("/resource_set"))
            .bearer_auth(self.pat(on).await)
            .json(&json!({
                "name": "album", "owner": "alice", "resource_scopes": ["view"],
                "ownerManagedAccess": owner_managed,
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["_id"].as_str().unwrap().to_owned()
    }

    /// Alice shares the album with Bob through `on`; the policy's id.
    pub async fn share(&self, on: &Server, album: &str) -> String {
        let body: Value = self
            .http
            .post(on.url(&format!("/policy/{album}")))
            .bearer_auth(self.owner_token(on).await)
            .json(&json!({"scopes": ["view"], "users": ["bob"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn ticket(&self, on: &Server, album: &str) -> String {
        let body: Value = self
            .http
            .post(on.url("/permission"))
            .bearer_auth(self.pat(on).await)
            .json(&json!({"resource_id": album, "resource_scopes": ["view"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["ticket"].as_str().unwrap().to_owned()
    }

    /// The UMA grant on `on`, as `auth` (Bob's access token, or the client's credentials).
    pub async fn grant(
        &self,
        on: &Server,
        auth: &Auth,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut form = form.to_vec();
        form.push(("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"));
        let request = self.http.post(on.url("/token")).form(&form);
        let request = match auth {
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Client => request.basic_auth("doctor-app", Some("doctor-secret")),
        };
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    pub async fn introspect(&self, on: &Server, token: &str) -> Value {
        self.http
            .post(on.url("/introspect"))
            .bearer_auth(self.pat(on).await)
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn bob(&self, on: &Server) -> Auth {
        let body = self
            .sign_in(on, "bob", ("doctor-app", "doctor-secret"), "openid")
            .await;
        Auth::Bearer(body["access_token"].as_str().unwrap().to_owned())
    }
}

/// Who asks in the UMA grant.
pub enum Auth {
    /// The client for Bob, with his access token.
    Bearer(String),
    /// `doctor-app` alone, with its credentials.
    Client,
}
