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
    let issuer = server.issuer().to_owned();
    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new("hello-rs", "hello-secret"))
        .build()?;
    let resource = protection
        .create_resource(&ResourceDescription::new(["read"]).owner("alice"))
        .await?;
    server.share(&resource, "bob", ["read"]).await?;
    let ticket = protection
        .request_permissions(vec![PermissionRequest::new(resource.clone(), ["read"])])
        .await?;
    let rpt = UmaClient::builder()
        .trust(&issuer)
        .auth(GrantAuth::Bearer(server.access_token("bob", "app").await?))
        .build()?
        .redeem(&issuer, &UmaGrantRequest::new(ticket))
        .await?
        .access_token
        .into_string();
    Ok((server, resource, rpt))
}
