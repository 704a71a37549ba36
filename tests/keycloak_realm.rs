//! Keycloak's realm mode: the issuer is `{base}/realms/{realm}`, discovery names Keycloak's
//! paths, and our client, protection client and guard complete the whole UMA flow through
//! them, while the spec's paths keep working beside them.

mod support;

use http::StatusCode;
use serde_json::Value;
use support::{CLIENT_ID, CLIENT_SECRET, RS_ID, RS_SECRET, World};

async fn realm() -> World {
    World::start_with(|builder| builder.keycloak_realm("photoz")).await
}

#[tokio::test]
async fn discovery_names_keycloaks_paths_under_the_realm() {
    let world = realm().await;
    let issuer = world.issuer.as_str();
    assert!(issuer.ends_with("/realms/photoz"), "{issuer}");
    for well_known in ["uma2-configuration", "openid-configuration"] {
        let document: Value = reqwest::get(format!("{issuer}/.well-known/{well_known}"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(document["issuer"], issuer);
        for (member, path) in [
            ("token_endpoint", "/protocol/openid-connect/token"),
            (
                "introspection_endpoint",
                "/protocol/openid-connect/token/introspect",
            ),
            ("jwks_uri", "/protocol/openid-connect/certs"),
            ("authorization_endpoint", "/protocol/openid-connect/auth"),
            ("revocation_endpoint", "/protocol/openid-connect/revoke"),
            (
                "resource_registration_endpoint",
                "/authz/protection/resource_set",
            ),
            ("permission_endpoint", "/authz/protection/permission"),
        ] {
            assert_eq!(
                document[member],
                format!("{issuer}{path}"),
                "{well_known}: {member}"
            );
        }
    }
    let certs: Value = reqwest::get(format!("{issuer}/protocol/openid-connect/certs"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!certs["keys"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn the_whole_flow_runs_through_keycloaks_paths() {
    // The World registered its resource through discovery, so through Keycloak's path.
    let world = realm().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let bob = world.client_for("bob").await;
    let album = bob.get(&world.album_url).send().await.unwrap();
    assert_eq!(album.status(), StatusCode::OK);

    // An RPT, introspected at Keycloak's path with the resource server's own credentials.
    let rpt = world
        .client_for("bob")
        .await
        .redeem(
            &world.issuer,
            &uma_client::UmaGrantRequest::new(support::ticket(&world).await),
        )
        .await
        .unwrap()
        .rpt();
    let introspected: Value = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token/introspect"))
        .basic_auth(RS_ID, Some(RS_SECRET))
        .form(&[("token", rpt.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(introspected["active"], true, "{introspected}");
    assert_eq!(
        introspected["permissions"][0]["resource_id"],
        world.resource_id.as_str()
    );

    // The spec's paths answer under the realm too.
    let pat: Value = reqwest::Client::new()
        .post(world.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(pat["access_token"].is_string(), "{pat}");
    let listed = reqwest::Client::new()
        .get(world.url("/authz/protection/resource_set"))
        .bearer_auth(world.protection.pat().await.unwrap().as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let wrong = reqwest::Client::new()
        .get(world.url("/protocol/openid-connect/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn without_the_realm_mode_keycloaks_paths_are_not_served() {
    let world = World::start().await;
    let token = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn refusals_at_keycloaks_token_path_are_in_keycloaks_words() {
    let world = realm().await;
    let carol = world
        .authorization_server
        .access_token("carol", CLIENT_ID)
        .await
        .unwrap();
    let refusal = |path: &'static str| {
        let (world, carol) = (&world, carol.clone());
        async move {
            let ticket = support::ticket(world).await;
            let response = reqwest::Client::new()
                .post(world.url(path))
                .bearer_auth(carol.as_str())
                .form(&[
                    ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
                    ("ticket", ticket.as_str()),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
            response.json::<Value>().await.unwrap()
        }
    };
    let keycloak = refusal("/protocol/openid-connect/token").await;
    assert_eq!(keycloak["error"], "access_denied", "{keycloak}");
    assert_eq!(keycloak["error_description"], "not_authorized");
    // The spec's path keeps the spec's words.
    let spec = refusal("/token").await;
    assert_eq!(spec["error"], "request_denied", "{spec}");
    // Our client reads Keycloak's words, through discovery's (Keycloak's) token endpoint.
    let refused = world
        .client_for("carol")
        .await
        .get(&world.album_url)
        .send()
        .await;
    assert!(
        matches!(refused, Err(uma_client::Error::RequestDenied { .. })),
        "{refused:?}"
    );

    // A request put to the owner: `request_submitted`, in Keycloak's words.
    let managed = world
        .protection
        .create_resource(
            &uma_client::ResourceDescription::new(["view"])
                .name("diary")
                .owner("alice")
                .owner_managed_access(true),
        )
        .await
        .unwrap();
    let ticket = world
        .protection
        .request_permissions(vec![uma_client::PermissionRequest::new(managed, ["view"])])
        .await
        .unwrap();
    let submitted: Value = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .bearer_auth(carol.as_str())
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("ticket", ticket.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(submitted["error"], "access_denied", "{submitted}");
    assert_eq!(submitted["error_description"], "request_submitted");
}
