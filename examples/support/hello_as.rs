//! The authorization server the guard load examples run beside their guarded route (included
//! by `guard_load.rs` and `guard_server.rs` with `#[path]`).

use std::time::Duration;

use uma_as_core::{AuthorizationServer, ClientConfig, RptFormat, RunningServer};
use uma_client::{
    ClientCredentials, GrantAuth, PermissionRequest, ProtectionClient, ResourceDescription,
    UmaClient, UmaGrantRequest,
};

/// The examples' error type.
pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// An AS, a resource of alice shared with bob, and bob's RPT for it.
pub async fn authorization(format: RptFormat) -> Result<(RunningServer, String, String)> {
    let server = AuthorizationServer::builder()
        .client(ClientConfig::new("hello-rs", "hello-secret"))
        .client(ClientConfig::new("app", "app-secret"))
        .user("alice")
        .user("bob")
        .rpt_format(format)
        .rpt_lifetime(Duration::from_secs(3600))
        .spawn()
        .await?;
    let resource = ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new("hello-rs", "hello-secret"))
        .build()?
        .create_resource(&ResourceDescription::new(["read"]).owner("alice"))
        .await?;
    server.share(&resource, "bob", ["read"]).await?;
    let rpt = rpts(&server, &resource, 1, 1).await?.remove(0);
    Ok((server, resource, rpt))
}

/// `count` distinct RPTs of bob for `resource`, each from a whole UMA grant (a ticket, then the
/// token request), `concurrency` grants at a time.
pub async fn rpts(
    server: &RunningServer,
    resource: &str,
    count: usize,
    concurrency: usize,
) -> Result<Vec<String>> {
    use std::sync::Arc;
    let issuer = server.issuer().to_owned();
    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new("hello-rs", "hello-secret"))
        .build()?;
    let client = UmaClient::builder()
        .trust(&issuer)
        .auth(GrantAuth::Bearer(server.access_token("bob", "app").await?))
        .build()?;
    let shared = Arc::new((protection, client, issuer, resource.to_owned()));
    let mut minted = Vec::with_capacity(count);
    let mut pending = tokio::task::JoinSet::new();
    for _ in 0..count {
        if pending.len() >= concurrency.max(1) {
            if let Some(rpt) = pending.join_next().await {
                minted.push(rpt??);
            }
        }
        let shared = Arc::clone(&shared);
        pending.spawn(async move {
            let (protection, client, issuer, resource) = &*shared;
            let ticket = protection
                .request_permissions(vec![PermissionRequest::new(resource.clone(), ["read"])])
                .await?;
            let rpt = client
                .redeem(issuer, &UmaGrantRequest::new(ticket))
                .await?
                .access_token
                .into_string();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(rpt)
        });
    }
    while let Some(rpt) = pending.join_next().await {
        minted.push(rpt??);
    }
    Ok(minted)
}
