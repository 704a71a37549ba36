//! Keycloak's UMA policy API (`authz/protection/uma-policy`) in the realm mode: a resource
//! server manages alice's policies with alice's token, in Keycloak's representation; they are
//! alice's policies like any other (they grant, their change withdraws RPTs, their deletion
//! refuses); the wrong callers and what cannot be evaluated are refused.

mod support;

use http::StatusCode;
use serde_json::{Value, json};
use support::{CLIENT_ID, RS_ID, World};

async fn realm() -> World {
    World::start_with(|builder| {
        builder
            .keycloak_realm("photoz")
            .user(uma_as_core::UserConfig::new("dave").groups(["doctors"]))
    })
    .await
}

async fn send(
    world: &World,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().request(method, world.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Whether `user` gets `scope` on the album by Keycloak's ticketless grant.
async fn may(world: &World, user: &str, scope: &str) -> bool {
    let token = world.token(user).await;
    let response = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .bearer_auth(token.as_str())
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("audience", RS_ID),
            ("permission", &format!("{}#{scope}", world.resource_id)),
            ("response_mode", "decision"),
        ])
        .send()
        .await
        .unwrap();
    response.status() == StatusCode::OK
}

#[tokio::test]
async fn a_resource_server_manages_alices_policies_with_her_token() {
    let world = realm().await;
    let discovery: Value = reqwest::get(world.url("/.well-known/uma2-configuration"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["policy_endpoint"],
        world.url("/authz/protection/uma-policy")
    );
    // Alice's own token at the resource server, as Keycloak's users sign in to it.
    let alice = world
        .authorization_server
        .access_token("alice", RS_ID)
        .await
        .unwrap();
    let alice = Some(alice.as_str());
    let album = world.resource_id.clone();
    use reqwest::Method;

    let (status, body) = send(
        &world,
        Method::POST,
        &format!("/authz/protection/uma-policy/{album}"),
        alice,
        Some(json!({"name": "Bob may view", "description": "holidays", "scopes": ["view"], "users": ["bob"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["type"], "uma");
    assert_eq!(created["logic"], "POSITIVE");
    assert_eq!(created["decisionStrategy"], "UNANIMOUS");
    assert_eq!(created["owner"], "alice");
    assert_eq!(created["resources"], json!([album]));
    assert!(may(&world, "bob", "view").await);
    assert!(!may(&world, "bob", "edit").await);
    assert!(!may(&world, "carol", "view").await);

    // Found by resource, name and scope; the owner API shows the same policy.
    for (query, count) in [
        ("", 1),
        (&format!("?resource={album}") as &str, 1),
        ("?name=bob", 1),
        ("?name=nobody", 0),
        ("?scope=view", 1),
        ("?scope=edit", 0),
        ("?first=1", 0),
    ] {
        let (status, body) = send(
            &world,
            Method::GET,
            &format!("/authz/protection/uma-policy{query}"),
            alice,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let found: Vec<Value> = serde_json::from_str(&body).unwrap();
        assert_eq!(found.len(), count, "{query}: {body}");
    }
    assert_eq!(
        support::policies_on(&world.authorization_server, "alice", &album)
            .await
            .len(),
        1
    );

    // An update: 201 and no body, as Keycloak; no scope named grants every scope; bob's RPT
    // on the old terms is withdrawn.
    let bob = world.token("bob").await;
    let answer: Value = reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .bearer_auth(bob.as_str())
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("audience", RS_ID),
            ("permission", &format!("{album}#view")),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rpt = uma_client::Rpt::new(answer["access_token"].as_str().unwrap());
    assert!(world.protection.introspect(&rpt).await.unwrap().active);
    let (status, body) = send(
        &world,
        Method::PUT,
        &format!("/authz/protection/uma-policy/{id}"),
        alice,
        Some(json!({"id": id, "name": "Bob may do all", "users": ["bob"], "owner": "alice"})),
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, ""));
    assert!(!world.protection.introspect(&rpt).await.unwrap().active);
    assert!(may(&world, "bob", "edit").await);
    let (_, body) = send(
        &world,
        Method::GET,
        &format!("/authz/protection/uma-policy/{id}"),
        alice,
        None,
    )
    .await;
    let read: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(read["scopes"], json!(["view", "edit"]));
    assert_eq!(read["name"], "Bob may do all");

    // Groups by Keycloak's path.
    let (status, body) = send(
        &world,
        Method::POST,
        &format!("/authz/protection/uma-policy/{album}"),
        alice,
        Some(json!({"scopes": ["view"], "groups": ["/doctors"]})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["groups"],
        json!(["/doctors"])
    );
    assert!(may(&world, "dave", "view").await);

    // Deleted: 204, and bob is refused.
    let (status, _) = send(
        &world,
        Method::DELETE,
        &format!("/authz/protection/uma-policy/{id}"),
        alice,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!may(&world, "bob", "view").await);
    let (status, _) = send(
        &world,
        Method::GET,
        &format!("/authz/protection/uma-policy/{id}"),
        alice,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn wrong_callers_and_what_cannot_be_evaluated_are_refused() {
    let world = realm().await;
    let album = world.resource_id.clone();
    let create = format!("/authz/protection/uma-policy/{album}");
    let share = json!({"scopes": ["view"], "users": ["bob"]});
    use reqwest::Method;
    let alice = world
        .authorization_server
        .access_token("alice", RS_ID)
        .await
        .unwrap();
    let (status, body) = send(
        &world,
        Method::POST,
        &create,
        Some(alice.as_str()),
        Some(share.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let item = format!("/authz/protection/uma-policy/{id}");

    // Bob's token at the resource server: not his resource, not his policy.
    let bob = world
        .authorization_server
        .access_token("bob", RS_ID)
        .await
        .unwrap();
    let (status, body) = send(
        &world,
        Method::POST,
        &create,
        Some(bob.as_str()),
        Some(share.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    for method in [Method::GET, Method::DELETE] {
        let (status, _) = send(&world, method, &item, Some(bob.as_str()), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = send(
        &world,
        Method::PUT,
        &item,
        Some(bob.as_str()),
        Some(share.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, body) = send(
        &world,
        Method::GET,
        "/authz/protection/uma-policy",
        Some(bob.as_str()),
        None,
    )
    .await;
    assert_eq!(body, "[]");
    // Alice's token at another client reaches only that client's resources.
    let elsewhere = world
        .authorization_server
        .access_token("alice", CLIENT_ID)
        .await
        .unwrap();
    let (status, _) = send(
        &world,
        Method::POST,
        &create,
        Some(elsewhere.as_str()),
        Some(share.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(&world, Method::GET, &item, Some(elsewhere.as_str()), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Her owner token (uma_protection) reaches all of hers.
    let owner = world.owner_token("alice").await;
    let (status, _) = send(&world, Method::GET, &item, Some(owner.as_str()), None).await;
    assert_eq!(status, StatusCode::OK);
    // The resource server's own PAT is nobody's; no token is nobody.
    let pat = world.protection.pat().await.unwrap();
    let (status, _) = send(
        &world,
        Method::POST,
        &create,
        Some(pat.as_str()),
        Some(share.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(&world, Method::POST, &create, None, Some(share.clone())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // What this server cannot evaluate is refused, never stored as something broader.
    for (what, body) in [
        ("roles", json!({"scopes": ["view"], "roles": ["manager"]})),
        (
            "a condition",
            json!({"scopes": ["view"], "users": ["bob"], "condition": "$evaluation.grant()"}),
        ),
        (
            "NEGATIVE logic",
            json!({"scopes": ["view"], "users": ["bob"], "logic": "NEGATIVE"}),
        ),
        (
            "either users or groups",
            json!({"scopes": ["view"], "users": ["bob"], "groups": ["/doctors"], "decisionStrategy": "AFFIRMATIVE"}),
        ),
        (
            "an id",
            json!({"id": "mine", "scopes": ["view"], "users": ["bob"]}),
        ),
        ("nobody named", json!({"scopes": ["view"]})),
        (
            "another type",
            json!({"type": "js", "scopes": ["view"], "users": ["bob"]}),
        ),
        (
            "an unknown scope",
            json!({"scopes": ["print"], "users": ["bob"]}),
        ),
    ] {
        let (status, body) = send(
            &world,
            Method::POST,
            &create,
            Some(alice.as_str()),
            Some(body),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
        let error: Value = serde_json::from_str(&body).unwrap();
        assert!(error["error"].is_string(), "{what}: {body}");
    }
    let (_, body) = send(
        &world,
        Method::GET,
        "/authz/protection/uma-policy",
        Some(alice.as_str()),
        None,
    )
    .await;
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&body).unwrap().len(),
        1,
        "only the first"
    );
}
