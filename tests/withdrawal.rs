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
    let alice = world.token("alice").await.into_string();
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
