//! Keycloak's parameters of the UMA grant in the realm mode: `submit_request` (whether an
//! ungranted request for owner-managed resources is put to the owner: by default only with a
//! ticket), `permission_resource_format=uri` with `permission_resource_matching_uri`, and claims
//! pushed in Keycloak's format (`claim_token_format=urn:ietf:params:oauth:token-type:jwt`).

mod support;

use http::StatusCode;
use serde_json::Value;
use support::{RS_ID, World};
use uma_client::{PermissionRequest, ResourceDescription};

async fn realm() -> World {
    World::start_with(|builder| builder.keycloak_realm("photoz").user("dave")).await
}

/// The UMA grant at Keycloak's token path, as `user` through doctor-app.
async fn grant(world: &World, user: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let token = world.token(user).await;
    let mut body = vec![("grant_type", uma_client::UMA_TICKET_GRANT_TYPE)];
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

async fn pending(world: &World) -> usize {
    let owner = world.owner_token("alice").await;
    let requests: Vec<Value> = reqwest::Client::new()
        .get(world.url("/requests"))
        .bearer_auth(owner.as_str())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    requests.len()
}

#[tokio::test]
async fn submit_request_puts_the_request_to_the_owner_by_default_only_with_a_ticket() {
    let world = realm().await;
    let diary = world
        .protection
        .create_resource(
            &ResourceDescription::new(["read"])
                .name("diary")
                .owner("alice")
                .owner_managed_access(true),
        )
        .await
        .unwrap();
    let ticketless = [("audience", RS_ID), ("permission", "diary#read")];

    // No ticket, no submit_request: refused, and alice is not asked.
    let (status, body) = grant(&world, "bob", &ticketless).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error_description"], "not_authorized");
    assert_eq!(pending(&world).await, 0);

    // submit_request=true: alice is asked.
    let mut asked = ticketless.to_vec();
    asked.push(("submit_request", "true"));
    let (status, body) = grant(&world, "bob", &asked).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error_description"], "request_submitted");
    assert_eq!(pending(&world).await, 1);

    // With a ticket the default is to ask; submit_request=false does not.
    let ticket = |world: &World| {
        let protection = world.protection.clone();
        let diary = diary.clone();
        async move {
            protection
                .request_permissions(vec![PermissionRequest::new(diary, ["read"])])
                .await
                .unwrap()
        }
    };
    let first = ticket(&world).await;
    let (status, body) = grant(&world, "carol", &[("ticket", first.as_str())]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error_description"], "request_submitted");
    assert_eq!(pending(&world).await, 2);
    let second = ticket(&world).await;
    let (status, body) = grant(
        &world,
        "dave",
        &[("ticket", second.as_str()), ("submit_request", "false")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error_description"], "not_authorized");
    assert_eq!(pending(&world).await, 2);
    let third = ticket(&world).await;
    let (status, body) = grant(
        &world,
        "carol",
        &[("ticket", third.as_str()), ("submit_request", "maybe")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn permissions_name_resources_by_uri_or_by_a_path_their_uris_match() {
    let world = realm().await;
    let holiday = world
        .protection
        .create_resource(
            &ResourceDescription::new(["view"])
                .name("holiday")
                .owner("alice")
                .uris(["/albums/holiday", "/albums/{album}/photos/*"]),
        )
        .await
        .unwrap();
    world
        .authorization_server
        .share(&holiday, "bob", ["view"])
        .await
        .unwrap();
    let by_uri = |path: &'static str, matching: &'static str| {
        vec![
            ("audience", RS_ID),
            ("permission", path),
            ("permission_resource_format", "uri"),
            ("permission_resource_matching_uri", matching),
            ("response_mode", "permissions"),
        ]
    };
    let (status, body) = grant(&world, "bob", &by_uri("/albums/holiday#view", "false")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body[0]["rsid"], holiday.as_str());
    // A path only a pattern matches: with matching only.
    let path = "/albums/holiday/photos/2024/beach.jpg#view";
    let (status, body) = grant(&world, "bob", &by_uri(path, "false")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_resource");
    let (status, body) = grant(&world, "bob", &by_uri(path, "true")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body[0]["rsid"], holiday.as_str());
    // Carol has no share; nothing lives at /nowhere; a format not known is a bad request.
    let (status, _) = grant(&world, "carol", &by_uri("/albums/holiday#view", "false")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = grant(&world, "bob", &by_uri("/nowhere#view", "true")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_resource"))
    );
    let (status, body) = grant(
        &world,
        "bob",
        &[
            ("audience", RS_ID),
            ("permission", "/albums/holiday#view"),
            ("permission_resource_format", "path"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
}

/// The ticketless grant as the resource server asks it, for the user of `subject` (an access
/// token of hers), with claims it asserts in Keycloak's format.
async fn asserting(world: &World, subject: &str, claims: &str) -> (StatusCode, Value) {
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(claims);
    let response = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .basic_auth(RS_ID, Some(support::RS_SECRET))
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("audience", RS_ID),
            ("permission", "Alice's album#view"),
            ("response_mode", "decision"),
            ("subject_token", subject),
            ("claim_token", &token),
            ("claim_token_format", "urn:ietf:params:oauth:token-type:jwt"),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_resource_server_may_assert_claims_about_the_request_and_nobody_else() {
    let world = World::start_with(|builder| {
        builder
            .keycloak_realm("photoz")
            .user(uma_as_core::UserConfig::new("erin").claim("department", "cardiology"))
    })
    .await;
    // Alice lets bob and erin view from the radiology department only.
    let owner = world.owner_token("alice").await;
    let created = reqwest::Client::new()
        .post(world.url(&format!("/policy/{}", world.resource_id)))
        .bearer_auth(owner.as_str())
        .json(
            &serde_json::json!({"scopes": ["view"], "users": ["bob", "erin"],
                                  "claims": {"department": "radiology"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let bob = world.token("bob").await;
    let radiology = r#"{"department": ["radiology"]}"#;
    let (status, body) = asserting(&world, bob.as_str(), radiology).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = asserting(&world, bob.as_str(), r#"{"department": "cardiology"}"#).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // What the server knows of erin wins over what the resource server says of her.
    let erin = world.token("erin").await;
    let (status, _) = asserting(&world, erin.as_str(), radiology).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Malformed assertions are bad requests.
    for claims in [
        r#"{"department": ["a", "b"]}"#,
        r#"["radiology"]"#,
        "not json",
    ] {
        let (status, body) = asserting(&world, bob.as_str(), claims).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{claims}: {body}");
    }
    // Another client asserting claims is refused: it is not the resource server.
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(radiology);
    let (status, body) = grant(
        &world,
        "bob",
        &[
            ("audience", RS_ID),
            ("permission", "Alice's album#view"),
            ("claim_token", &token),
            ("claim_token_format", "urn:ietf:params:oauth:token-type:jwt"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_request");
}
