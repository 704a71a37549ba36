//! The real authorization server behind a layer that counts requests per path, and a resource
//! server guarded against it: shared by the guard's end-to-end tests.

#![allow(dead_code)] // each test file uses a different part

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Request;
use axum::routing::get;
use http::Method;
use serde_json::json;
use uma_as_core::{AuthorizationServer, ClientConfig, UserConfig};
use uma_client::{ClientCredentials, GrantAuth, ProtectionClient, ResourceDescription, UmaClient};
use uma_rs_guard::{
    GuardOutcome, Permissions, ResourceId, RouteResolver, UmaGuardLayer, UmaGuardLayerBuilder,
};

pub const RS: (&str, &str) = ("photoz", "photoz-secret");
pub const APP: (&str, &str) = ("doctor-app", "doctor-secret");

/// The real AS behind a layer that counts requests per path.
pub struct CountingAs {
    pub server: AuthorizationServer,
    pub calls: Arc<Mutex<HashMap<String, usize>>>,
    pub resource_id: String,
}

impl CountingAs {
    pub async fn start(
        configure: impl FnOnce(
            uma_as_core::AuthorizationServerBuilder,
        ) -> uma_as_core::AuthorizationServerBuilder,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let builder = AuthorizationServer::builder()
            .issuer(&issuer)
            .client(ClientConfig::new(RS.0, RS.1))
            .client(ClientConfig::new(APP.0, APP.1))
            .user(UserConfig::new("alice"))
            .user(UserConfig::new("bob"));
        let server = configure(builder).build().await.unwrap();
        let calls: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let counter = Arc::clone(&calls);
        let app = server.router().layer(tower::util::MapRequestLayer::new(
            move |request: Request| {
                *counter
                    .lock()
                    .unwrap()
                    .entry(request.uri().path().to_owned())
                    .or_default() += 1;
                request
            },
        ));
        tokio::spawn(async move { axum::serve(listener, app).await });
        let protection = ProtectionClient::builder(&issuer)
            .credentials(ClientCredentials::new(RS.0, RS.1))
            .build()
            .unwrap();
        let resource_id = protection
            .create_resource(
                &ResourceDescription::new(["view", "edit"])
                    .name("album")
                    .owner("alice"),
            )
            .await
            .unwrap();
        server.share(&resource_id, "bob", ["view"]).await.unwrap();
        Self {
            server,
            calls,
            resource_id,
        }
    }

    pub fn calls(&self, path: &str) -> usize {
        self.calls.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    pub fn guard(&self) -> UmaGuardLayerBuilder {
        UmaGuardLayer::builder(self.server.issuer())
            .client_credentials(ClientCredentials::new(RS.0, RS.1))
            .realm("photoz")
            .resolver(
                RouteResolver::new()
                    .route(
                        "/album",
                        ResourceId::fixed(&self.resource_id),
                        [(Method::GET, vec!["view"]), (Method::PUT, vec!["edit"])],
                    )
                    .unwrap(),
            )
    }

    pub async fn rpt(&self) -> String {
        self.rpt_for(&self.resource_id).await
    }

    /// Bob's RPT for `view` on `resource_id`.
    pub async fn rpt_for(&self, resource_id: &str) -> String {
        let uma = UmaClient::builder()
            .trust(self.server.issuer())
            .auth(GrantAuth::Bearer(
                self.server.access_token("bob", APP.0).await.unwrap(),
            ))
            .build()
            .unwrap();
        let ticket = ProtectionClient::builder(self.server.issuer())
            .credentials(ClientCredentials::new(RS.0, RS.1))
            .build()
            .unwrap()
            .request_permissions(vec![uma_client::PermissionRequest::new(
                resource_id.to_owned(),
                ["view"],
            )])
            .await
            .unwrap();
        uma.redeem(
            self.server.issuer(),
            &uma_client::UmaGrantRequest::new(ticket),
        )
        .await
        .unwrap()
        .access_token
        .into_string()
    }
}

/// Serves `/album` behind `guard`; the handler answers with what the guard handed it.
pub async fn serve(guard: UmaGuardLayer) -> String {
    let app = Router::new()
        .route(
            "/album",
            get(
                |permissions: Option<Permissions>,
                 outcome: Option<axum::Extension<GuardOutcome>>| async move {
                    let outcome = outcome.map(|axum::Extension(o)| match o {
                        GuardOutcome::Unprotected => "unprotected".to_owned(),
                        GuardOutcome::Granted(_) => "granted".to_owned(),
                        GuardOutcome::Refused(r) => format!("refused: {:?}", r.kind()),
                        other => format!("{other:?}"),
                    });
                    axum::Json(json!({
                        "subject": permissions.and_then(|Permissions(p)| p.subject().map(str::to_owned)),
                        "outcome": outcome,
                    }))
                },
            )
            .put(|| async { "edited" }),
        )
        .layer(guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/album", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

pub async fn get_with(url: &str, rpt: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(url);
    if let Some(rpt) = rpt {
        request = request.bearer_auth(rpt);
    }
    request.send().await.unwrap()
}
