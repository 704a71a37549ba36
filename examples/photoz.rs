//! photoz: a photo-album resource server protected by uma-rs-guard.
//!
//! ```text
//! cargo run --example photoz -- --issuer http://127.0.0.1:8080 --listen 127.0.0.1:8081 \
//!     --client-id photoz --client-secret photoz-secret
//! ```
//!
//! - `POST /albums` with the owner's access token and `{"name": …}` creates an album and registers
//!   it at the authorization server as a resource owned by the caller (scopes `view`, `edit`,
//!   `delete`); it answers `201` with the album, its `id` and its `resource_id`.
//! - `GET /albums` lists the caller's own albums.
//! - `GET /albums/{id}` needs `view`, `PUT` needs `edit`, `DELETE` needs `delete`, all through the
//!   guard: without a sufficient RPT the answer is `401` with an UMA challenge.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use http::Method;
use serde::Deserialize;
use serde_json::json;
use uma_client::{ClientCredentials, ProtectionClient, ResourceDescription, Rpt};
use uma_rs_guard::{Permissions, ResourceId, RouteResolver, UmaGuardLayer};

/// photoz, an UMA-protected photo album service.
#[derive(Debug, Parser)]
struct Args {
    /// The authorization server's issuer.
    #[arg(long)]
    issuer: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// photoz's client id at the authorization server.
    #[arg(long)]
    client_id: String,
    /// photoz's client secret.
    #[arg(long)]
    client_secret: String,
}

#[derive(Debug, Clone, serde::Serialize)]
struct Album {
    id: String,
    name: String,
    owner: String,
    resource_id: String,
}

#[derive(Clone)]
struct App {
    albums: Arc<RwLock<HashMap<String, Album>>>,
    // Album ids need not be secret: who may read an album is the guard's business.
    next_id: Arc<AtomicU64>,
    protection: ProtectionClient,
}

type Result<T, E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let protection = ProtectionClient::builder(&args.issuer)
        .credentials(ClientCredentials::new(
            &args.client_id,
            args.client_secret.as_str(),
        ))
        .build()?;
    let app = App {
        albums: Arc::default(),
        next_id: Arc::new(AtomicU64::new(1)),
        protection: protection.clone(),
    };
    let lookup = app.clone();
    let guard = UmaGuardLayer::builder(&args.issuer)
        .protection_client(protection)
        .realm("photoz")
        .audience(&args.client_id)
        .resolver(RouteResolver::new().route(
            "/albums/{id}",
            ResourceId::lookup("id", move |id| {
                let album = lookup
                    .albums
                    .read()
                    .map(|a| a.get(&id).map(|album| album.resource_id.clone()))
                    .map_err(|_| "the album store is poisoned");
                async move { album }
            }),
            [
                (Method::GET, vec!["view"]),
                (Method::PUT, vec!["edit"]),
                (Method::DELETE, vec!["delete"]),
            ],
        )?)
        .build()?;

    let router = Router::new()
        .route(
            "/albums/{id}",
            get(read_album).put(rename_album).delete(delete_album),
        )
        // Only the album routes go through the guard; `/albums` checks the owner's own token.
        .route_layer(guard)
        .route("/albums", get(list_albums).post(create_album))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    tracing::info!(listen = %listener.local_addr()?, issuer = args.issuer, "photoz listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The owner behind the access token of the request, asked of the authorization server.
async fn owner(app: &App, headers: &HeaderMap) -> Result<String, Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            error(
                StatusCode::UNAUTHORIZED,
                "the owner's access token is required",
            )
        })?;
    let introspection = app
        .protection
        .introspect(&Rpt::new(token))
        .await
        .map_err(|_| {
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the authorization server is unreachable",
            )
        })?;
    match (
        introspection.active,
        introspection.username,
        introspection.permissions,
    ) {
        (true, Some(username), None) => Ok(username),
        _ => Err(error(
            StatusCode::UNAUTHORIZED,
            "the access token is not an owner's",
        )),
    }
}

#[derive(Deserialize)]
struct NewAlbum {
    name: String,
}

async fn create_album(
    State(app): State<App>,
    headers: HeaderMap,
    Json(new): Json<NewAlbum>,
) -> Response {
    let owner = match owner(&app, &headers).await {
        Ok(owner) => owner,
        Err(response) => return response,
    };
    let description = ResourceDescription::new(["view", "edit", "delete"])
        .name(format!("{owner}: {}", new.name))
        .resource_type("https://photoz.example.com/album")
        .owner(&owner);
    let resource_id = match app.protection.create_resource(&description).await {
        Ok(id) => id,
        Err(e) => return error(StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    let album = Album {
        id: app.next_id.fetch_add(1, Ordering::Relaxed).to_string(),
        name: new.name,
        owner,
        resource_id,
    };
    if let Ok(mut albums) = app.albums.write() {
        albums.insert(album.id.clone(), album.clone());
    }
    (StatusCode::CREATED, Json(album)).into_response()
}

async fn list_albums(State(app): State<App>, headers: HeaderMap) -> Response {
    let owner = match owner(&app, &headers).await {
        Ok(owner) => owner,
        Err(response) => return response,
    };
    let albums: Vec<Album> = app
        .albums
        .read()
        .map(|a| a.values().filter(|a| a.owner == owner).cloned().collect())
        .unwrap_or_default();
    Json(albums).into_response()
}

async fn read_album(
    State(app): State<App>,
    Path(id): Path<String>,
    Permissions(granted): Permissions,
) -> Response {
    match app.albums.read().ok().and_then(|a| a.get(&id).cloned()) {
        Some(album) => Json(json!({
            "album": album,
            "photos": ["beach.jpg", "harbour.jpg"],
            "viewer": granted.subject(),
        }))
        .into_response(),
        None => error(StatusCode::NOT_FOUND, "no such album"),
    }
}

async fn rename_album(
    State(app): State<App>,
    Path(id): Path<String>,
    Json(new): Json<NewAlbum>,
) -> Response {
    let Ok(mut albums) = app.albums.write() else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "busy");
    };
    match albums.get_mut(&id) {
        Some(album) => {
            album.name = new.name;
            Json(album.clone()).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "no such album"),
    }
}

async fn delete_album(State(app): State<App>, Path(id): Path<String>) -> Response {
    let removed = app.albums.write().ok().and_then(|mut a| a.remove(&id));
    match removed {
        Some(album) => {
            // Deregister it: protection ends with the resource (FedAuthz §3).
            if let Err(e) = app.protection.delete_resource(&album.resource_id).await {
                tracing::warn!(error = %e, "could not deregister the album's resource");
            }
            StatusCode::NO_CONTENT.into_response()
        }
        None => error(StatusCode::NOT_FOUND, "no such album"),
    }
}
