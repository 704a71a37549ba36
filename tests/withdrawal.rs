//! Withdrawing access: changing or deleting a policy, or deregistering the resource, revokes the
//! RPTs that relied on it, at once for introspection.

mod support;

use http::StatusCode;
use serde_json::{Value, json};
use support::World;
use uma_client::UmaGrantRequest;

async fn policy_for_bob(world: &World, alice: &str) -> String {
    let created: Value = reqwest::Client::new()
        .post(world.url(&format!("/policy/{}", world.resource_id)))
        .bearer_auth(alice)
        .json(&json!({"scopes": ["view"], "users": ["bob"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["id"].as_str().unwrap().to_owned()
}

async fn bobs_rpt(world: &World) -> uma_client::Rpt {
    world
        .client_for("bob")
        .await
        .redeem(
            &world.issuer,
            &UmaGrantRequest::new(support::ticket(world).await),
        )
        .await
        .unwrap()
        .rpt()
}

#[tokio::test]
async fn changing_or_deleting_a_policy_revokes_its_rpts() {
    let world = World::start().await;
    let alice = world.owner_token("alice").await.into_string();
    let policy = policy_for_bob(&world, &alice).await;
    let http = reqwest::Client::new();

    // Changed: the RPT granted under the old policy is inactive at once.
    let rpt = bobs_rpt(&world).await;
    assert!(world.protection.introspect(&rpt).await.unwrap().active);
    let changed = http
        .put(world.url(&format!("/policy/{policy}")))
        .bearer_auth(&alice)
        .json(&json!({"scopes": ["view"], "users": ["bob"], "not_after": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(!world.protection.introspect(&rpt).await.unwrap().active);

    // Deleted: likewise.
    let policy = policy_for_bob(&world, &alice).await;
    let rpt = bobs_rpt(&world).await;
    let deleted = http
        .delete(world.url(&format!("/policy/{policy}")))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(!world.protection.introspect(&rpt).await.unwrap().active);

    // Another party's RPT under another policy is untouched.
    world
        .authorization_server
        .share(&world.resource_id, "carol", ["view"])
        .await
        .unwrap();
    let carols = world
        .client_for("carol")
        .await
        .redeem(
            &world.issuer,
            &UmaGrantRequest::new(support::ticket(&world).await),
        )
        .await
        .unwrap()
        .rpt();
    let _ = policy_for_bob(&world, &alice).await;
    assert!(world.protection.introspect(&carols).await.unwrap().active);
}

#[tokio::test]
async fn deregistering_the_resource_revokes_its_rpts() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let rpt = bobs_rpt(&world).await;
    world
        .protection
        .delete_resource(&world.resource_id)
        .await
        .unwrap();
    assert!(!world.protection.introspect(&rpt).await.unwrap().active);
}

async fn refresh(world: &World, token: &str, scope: Option<&str>) -> (http::StatusCode, Value) {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        form.push(("scope", scope));
    }
    let response = reqwest::Client::new()
        .post(world.url("/token"))
        .basic_auth(support::CLIENT_ID, Some(support::CLIENT_SECRET))
        .form(&form)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn an_rpt_refreshes_without_a_new_assessment_until_its_policy_goes() {
    let world = World::start_with(|b| b.rpt_refresh_tokens(true)).await;
    let alice = world.owner_token("alice").await.into_string();
    let policy = {
        let created: Value = reqwest::Client::new()
            .post(world.url(&format!("/policy/{}", world.resource_id)))
            .bearer_auth(&alice)
            .json(&json!({"scopes": ["view", "edit"], "users": ["bob"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["id"].as_str().unwrap().to_owned()
    };
    let ticket = world
        .protection
        .request_permissions(vec![uma_client::PermissionRequest::new(
            world.resource_id.clone(),
            ["view", "edit"],
        )])
        .await
        .unwrap();
    let token = world
        .client_for("bob")
        .await
        .redeem(&world.issuer, &UmaGrantRequest::new(ticket))
        .await
        .unwrap();
    let refresh_token = token.refresh_token.unwrap().into_string();

    // Refreshed, narrowed to `view`; the presented refresh token is spent.
    let (status, refreshed) = refresh(&world, &refresh_token, Some("view")).await;
    assert_eq!(status, http::StatusCode::OK);
    assert!(refreshed.get("scope").is_none());
    let rpt = uma_client::Rpt::new(refreshed["access_token"].as_str().unwrap());
    let introspection = world.protection.introspect(&rpt).await.unwrap();
    assert_eq!(
        introspection.permissions.unwrap()[0].resource_scopes,
        ["view"]
    );
    assert_eq!(
        refresh(&world, &refresh_token, None).await.0,
        http::StatusCode::BAD_REQUEST
    );

    // Once the policy is narrowed, the refresh token that relied on it is gone (N-19).
    let next = refreshed["refresh_token"].as_str().unwrap().to_owned();
    reqwest::Client::new()
        .put(world.url(&format!("/policy/{policy}")))
        .bearer_auth(&alice)
        .json(&json!({"scopes": ["view"], "users": ["bob"]}))
        .send()
        .await
        .unwrap();
    let (status, body) = refresh(&world, &next, None).await;
    assert_eq!(status, http::StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}
