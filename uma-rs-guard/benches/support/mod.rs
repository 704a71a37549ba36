//! What the guard's benchmarks (and its oneshot tests) share: an authorization server with a
//! resource of alice (scopes `view` and `edit`) shared with bob for `view`, bob's RPT for it, the
//! guard in front of `/album`, and the request.

use std::convert::Infallible;
use std::time::Duration;

use http::{Method, Request, Response};
use uma_as_core::{AuthorizationServer, ClientConfig, RptFormat, RunningServer};
use uma_client::{
    ClientCredentials, GrantAuth, PermissionRequest, ProtectionClient, ResourceDescription,
    UmaClient, UmaGrantRequest,
};
use uma_rs_guard::{ResourceId, RouteResolver, UmaGuardLayer, UmaGuardLayerBuilder};

pub struct Setup {
    pub server: RunningServer,
    pub resource_id: String,
    pub rpt: String,
}

pub async fn setup(format: RptFormat) -> Setup {
    let server = AuthorizationServer::builder()
        .client(ClientConfig::new("photoz", "photoz-secret"))
        .client(ClientConfig::new("app", "app-secret"))
        .user("alice")
        .user("bob")
        .rpt_format(format)
        .rpt_lifetime(Duration::from_secs(3600))
        .spawn()
        .await
        .unwrap();
    let issuer = server.issuer().to_owned();
    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .build()
        .unwrap();
    let resource_id = protection
        .create_resource(&ResourceDescription::new(["view", "edit"]).owner("alice"))
        .await
        .unwrap();
    server.share(&resource_id, "bob", ["view"]).await.unwrap();
    let ticket = protection
        .request_permissions(vec![PermissionRequest::new(resource_id.clone(), ["view"])])
        .await
        .unwrap();
    let uma = UmaClient::builder()
        .trust(&issuer)
        .auth(GrantAuth::Bearer(
            server.access_token("bob", "app").await.unwrap(),
        ))
        .build()
        .unwrap();
    let rpt = uma
        .redeem(&issuer, &UmaGrantRequest::new(ticket))
        .await
        .unwrap()
        .access_token
        .into_string();
    Setup {
        server,
        resource_id,
        rpt,
    }
}

pub fn guard(setup: &Setup) -> UmaGuardLayerBuilder {
    UmaGuardLayer::builder(setup.server.issuer())
        .client_credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .resolver(
            RouteResolver::new()
                .route(
                    "/album",
                    ResourceId::fixed(&setup.resource_id),
                    [(Method::GET, vec!["view"])],
                )
                .unwrap(),
        )
}

pub async fn handler(_: Request<String>) -> Result<Response<String>, Infallible> {
    Ok(Response::new("album".to_owned()))
}

pub fn request(rpt: &str) -> Request<String> {
    Request::builder()
        .uri("/album")
        .header(http::header::AUTHORIZATION, format!("Bearer {rpt}"))
        .body(String::new())
        .unwrap()
}
