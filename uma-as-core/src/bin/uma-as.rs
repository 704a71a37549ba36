//! `uma-as`: the bundled UMA 2.0 authorization server.
//!
//! ```text
//! uma-as [--config FILE] [--listen ADDR] [--storage memory|sqlite:PATH|postgres://URL]
//!        [--keycloak-import REALM.json]
//! ```
//!
//! With no arguments it listens on `127.0.0.1:8080` with SQLite at `./uma-as.db`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use uma_as_core::config::{Config, Storage};

// A request allocates and frees many small buffers across the runtime's threads; glibc's
// allocator spent ~8 % of the server's CPU on them in the whole-flow benchmark (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The bundled UMA 2.0 authorization server.
#[derive(Debug, Parser)]
#[command(name = "uma-as", version, about)]
struct Args {
    /// The TOML configuration file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The address to listen on; overrides `listen` of the configuration.
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// `memory`, `sqlite:PATH` or `postgres://USER:PASSWORD@HOST:PORT/DATABASE`; overrides
    /// `storage` of the configuration.
    #[arg(long, value_name = "STORAGE")]
    storage: Option<Storage>,
    /// A Keycloak realm export to read at start: its clients, users, resources and policies,
    /// served in Keycloak's realm mode (`[keycloak] import` of the configuration).
    #[arg(long, value_name = "REALM.json")]
    keycloak_import: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("uma-as: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), uma_as_core::Error> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(storage) = args.storage {
        config.storage = storage;
    }
    if let Some(export) = args.keycloak_import {
        config.keycloak_import(export)?;
    }
    // Bind first, so that port 0 gives an ephemeral port and the default issuer names it.
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    config.listen = listener.local_addr()?;
    let server = config.builder().await?.build().await?;
    tracing::info!(
        listen = %listener.local_addr()?,
        issuer = server.issuer(),
        storage = ?config.storage,
        "uma-as listening"
    );
    server.serve(listener, shutdown_signal()).await?;
    tracing::info!("uma-as stopped");
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
