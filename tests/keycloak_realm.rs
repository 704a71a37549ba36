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
        refused.as_ref().is_err_and(|e| e.is_request_denied()),
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

/// Keycloak's ticketless grant at its token path, as its enforcers send it.
async fn entitlement(world: &World, user: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let token = world
        .authorization_server
        .access_token(user, CLIENT_ID)
        .await
        .unwrap();
    let mut body = vec![
        ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
        ("audience", RS_ID),
    ];
    body.extend_from_slice(form);
    let response = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .bearer_auth(token.as_str())
        .form(&body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_ticketless_grant_answers_decisions_permissions_or_an_rpt() {
    let world = realm().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let by_name = "Alice's album#view";

    let (status, decision) = entitlement(
        &world,
        "bob",
        &[("permission", by_name), ("response_mode", "decision")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(decision, serde_json::json!({"result": true}));

    let by_id = format!("{}#view", world.resource_id);
    let (status, permissions) = entitlement(
        &world,
        "bob",
        &[("permission", &by_id), ("response_mode", "permissions")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        permissions,
        serde_json::json!([{"rsid": world.resource_id, "rsname": "Alice's album", "scopes": ["view"]}])
    );

    // Without a response mode, an RPT for exactly that.
    let (status, token) = entitlement(&world, "bob", &[("permission", by_name)]).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let rpt = uma_client::Rpt::new(token["access_token"].as_str().unwrap());
    let introspected = world.protection.introspect(&rpt).await.unwrap();
    assert!(introspected.active);

    // Refused: carol has no share, bob asks for edit; in Keycloak's words, never a 200 false.
    for (user, permission) in [("carol", by_name), ("bob", "Alice's album#edit")] {
        let (status, body) = entitlement(
            &world,
            user,
            &[("permission", permission), ("response_mode", "decision")],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}: {body}");
        assert_eq!(body["error"], "access_denied");
        assert_eq!(body["error_description"], "not_authorized");
    }

    // Bad permissions are bad requests, with Keycloak's error codes.
    for (permission, error) in [
        ("nothing-by-this-name#view", "invalid_resource"),
        ("Alice's album#print", "invalid_scope"),
        ("Alice's album", "invalid_scope"),
        ("#view", "invalid_request"),
    ] {
        let (status, body) = entitlement(&world, "bob", &[("permission", permission)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{permission}: {body}");
        assert_eq!(body["error"], error, "{permission}: {body}");
    }
    // Past 64 permissions in one request, the body is refused before anything is looked up.
    let many = vec![("permission", by_name); 65];
    let (status, body) = entitlement(&world, "bob", &many).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    let (status, body) = entitlement(&world, "bob", &[("response_mode", "decision")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = entitlement(
        &world,
        "bob",
        &[("permission", by_name), ("response_mode", "verdict")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Every decision is recorded for the owner, as a ticket's.
    let owner = world.owner_token("alice").await;
    let decisions: Value = reqwest::Client::new()
        .get(world.url("/decisions"))
        .bearer_auth(owner.as_str())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(decisions.as_array().unwrap().len(), 5, "{decisions}");
}

#[tokio::test]
async fn several_permissions_in_one_request_and_none_without_the_realm_mode() {
    let world = realm().await;
    let second = world
        .protection
        .create_resource(
            &uma_client::ResourceDescription::new(["view"])
                .name("second")
                .owner("alice"),
        )
        .await
        .unwrap();
    for resource in [&world.resource_id, &second] {
        world
            .authorization_server
            .share(resource, "bob", ["view"])
            .await
            .unwrap();
    }
    let (status, permissions) = entitlement(
        &world,
        "bob",
        &[
            ("permission", "Alice's album#view"),
            ("permission", "second#view"),
            ("response_mode", "permissions"),
            ("response_include_resource_name", "false"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{permissions}");
    let ids: Vec<&str> = permissions
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(p.get("rsname").is_none(), "{p}");
            p["rsid"].as_str().unwrap()
        })
        .collect();
    assert_eq!(ids, [world.resource_id.as_str(), second.as_str()]);

    // On the spec's server a ticket is required: Keycloak's parameters mean nothing there.
    let spec = World::start().await;
    let token = spec.token("bob").await;
    let response = reqwest::Client::new()
        .post(spec.url("/token"))
        .bearer_auth(token.as_str())
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("audience", RS_ID),
            ("permission", "Alice's album#view"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");
}

#[tokio::test]
async fn client_credentials_with_openid_get_a_pat_in_the_realm_mode_only() {
    let ask = |world: &World, path: &'static str| {
        let url = world.url(path);
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .basic_auth(RS_ID, Some(RS_SECRET))
                .form(&[("grant_type", "client_credentials"), ("scope", "openid")])
                .send()
                .await
                .unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let realm = realm().await;
    let (status, body) = ask(&realm, "/protocol/openid-connect/token").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "uma_protection", "granted, and said so");
    assert!(body.get("id_token").is_none(), "a client is no person");
    let spec = World::start().await;
    let (status, body) = ask(&spec, "/token").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_scope");
}
