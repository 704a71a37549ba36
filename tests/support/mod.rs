//! A bundled authorization server and a guarded resource server on ephemeral loopback ports.

#![allow(dead_code)] // each test file uses a different part of the support module

pub mod interop;

use std::net::SocketAddr;

use axum::routing::get;
use axum::{Extension, Json, Router};
use http::Method;
use serde_json::{Value, json};
use uma_as_core::{AuthorizationServer, ClientConfig, RunningServer};
use uma_client::{
    AccessToken, ClientCredentials, GrantAuth, ProtectionClient, ResourceDescription, UmaClient,
};
use uma_rs_guard::{
    GrantedPermissions, ResourceId, RouteResolver, UmaGuardLayer, UmaGuardLayerBuilder,
};

pub const RS_ID: &str = "photoz";
pub const RS_SECRET: &str = "photoz-secret";
pub const CLIENT_ID: &str = "doctor-app";
pub const CLIENT_SECRET: &str = "doctor-secret";
pub const OTHER_RS_ID: &str = "other-rs";
pub const OTHER_RS_SECRET: &str = "other-secret";

/// Alice's album on the `photoz` resource server, guarded, with nothing shared yet.
pub struct World {
    pub authorization_server: RunningServer,
    pub issuer: String,
    pub protection: ProtectionClient,
    pub resource_id: String,
    pub album_url: String,
    pub rs_addr: SocketAddr,
}

impl World {
    pub async fn start() -> Self {
        Self::start_with(|b| b).await
    }

    /// [`World::start`] with the authorization server configured further.
    pub async fn start_with(
        configure: impl FnOnce(
            uma_as_core::AuthorizationServerBuilder,
        ) -> uma_as_core::AuthorizationServerBuilder,
    ) -> Self {
        let builder = AuthorizationServer::builder()
            .client(ClientConfig::new(RS_ID, RS_SECRET))
            .client(ClientConfig::new(CLIENT_ID, CLIENT_SECRET))
            .client(ClientConfig::new(OTHER_RS_ID, OTHER_RS_SECRET))
            .user("alice")
            .user("bob")
            .user("carol");
        let authorization_server = configure(builder)
            .spawn()
            .await
            .expect("the authorization server starts");
        let issuer = authorization_server.issuer().to_owned();
        let protection = ProtectionClient::builder(&issuer)
            .credentials(ClientCredentials::new(RS_ID, RS_SECRET))
            .build()
            .unwrap();
        let resource_id = protection
            .create_resource(
                &ResourceDescription::new(["view", "edit"])
                    .name("Alice's album")
                    .owner("alice"),
            )
            .await
            .expect("the resource registers");
        let (rs_addr, album_url) = serve_album(&issuer, protection.clone(), &resource_id).await;
        Self {
            authorization_server,
            issuer,
            protection,
            resource_id,
            album_url,
            rs_addr,
        }
    }

    pub async fn token(&self, user: &str) -> AccessToken {
        self.authorization_server
            .access_token(user, CLIENT_ID)
            .await
            .unwrap()
    }

    /// The user's owner token (scope `uma_protection`), for the owner API.
    pub async fn owner_token(&self, user: &str) -> AccessToken {
        self.authorization_server
            .owner_token(user, CLIENT_ID)
            .await
            .unwrap()
    }

    pub async fn client_for(&self, user: &str) -> UmaClient {
        UmaClient::builder()
            .resource_server(format!("http://{}", self.rs_addr), &self.issuer)
            .auth(GrantAuth::Bearer(self.token(user).await))
            .build()
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// The policies on `resource`, as its owner lists them through the owner API.
pub async fn policies_on(server: &RunningServer, owner: &str, resource: &str) -> Vec<Value> {
    let token = server.owner_token(owner, CLIENT_ID).await.unwrap();
    let listed: Value = reqwest::Client::new()
        .get(format!("{}/policy?resource={resource}", server.issuer()))
        .bearer_auth(token.as_str())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listed.as_array().expect("a list of policies").clone()
}

/// The origin of a URL, as `UmaClientBuilder::resource_server` takes it.
pub fn origin(url: &str) -> String {
    url::Url::parse(url).unwrap().origin().ascii_serialization()
}

/// Serves `GET`/`PUT /albums/alice` behind a guard for `resource_id`; returns its address and URL.
pub async fn serve_album(
    issuer: &str,
    protection: ProtectionClient,
    resource_id: &str,
) -> (SocketAddr, String) {
    serve_album_with(issuer, protection, resource_id, |guard| guard).await
}

/// [`serve_album`] with the guard configured further.
pub async fn serve_album_with(
    issuer: &str,
    protection: ProtectionClient,
    resource_id: &str,
    configure: impl FnOnce(UmaGuardLayerBuilder) -> UmaGuardLayerBuilder,
) -> (SocketAddr, String) {
    let guard = configure(UmaGuardLayer::builder(issuer))
        .protection_client(protection)
        .realm("photoz")
        .resolver(
            RouteResolver::new()
                .route(
                    "/albums/alice",
                    ResourceId::fixed(resource_id),
                    [(Method::GET, vec!["view"]), (Method::PUT, vec!["edit"])],
                )
                .unwrap()
                .unprotected("/health")
                .unwrap(),
        )
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/albums/alice",
            get(
                |Extension(granted): Extension<GrantedPermissions>| async move {
                    Json(json!({"album": "Alice's album", "viewer": granted.subject()}))
                },
            )
            .put(|| async { "edited" }),
        )
        .route("/health", get(|| async { "ok" }))
        .route("/unlisted", get(|| async { "should never be served" }))
        .layer(guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, format!("http://{addr}/albums/alice"))
}

/// A fresh ticket for `view` on the album, straight from the permission endpoint.
pub async fn ticket(world: &World) -> uma_client::PermissionTicket {
    world
        .protection
        .request_permissions(vec![uma_client::PermissionRequest::new(
            world.resource_id.clone(),
            ["view"],
        )])
        .await
        .unwrap()
}
