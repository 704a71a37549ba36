//! Explainable decisions: every decision on a ticket is recorded, and the owner reads the ones
//! about their resources.

mod support;

use serde_json::Value;
use support::{CLIENT_ID, CLIENT_SECRET, World};
use uma_client::{ClientCredentials, GrantAuth, UmaClient, UmaGrantRequest};

async fn decisions(world: &World, user: &str, query: &str) -> Vec<Value> {
    let token = world.owner_token(user).await;
    let body: Value = reqwest::Client::new()
        .get(world.url(&format!("/decisions{query}")))
        .bearer_auth(token.as_str())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body.as_array().unwrap().clone()
}

#[tokio::test]
async fn the_owner_reads_why_each_request_went_as_it_did() {
    let world = World::start().await;
    let bob = world.client_for("bob").await;
    let grant = || async { UmaGrantRequest::new(support::ticket(&world).await) };

    // Denied: no policy.
    assert!(bob.redeem(&world.issuer, &grant().await).await.is_err());
    // need_info: the client, as itself, before a policy naming bob.
    let policy = world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let as_itself = UmaClient::builder()
        .trust(&world.issuer)
        .auth(GrantAuth::Client(ClientCredentials::new(
            CLIENT_ID,
            CLIENT_SECRET,
        )))
        .build()
        .unwrap();
    assert!(
        as_itself
            .redeem(&world.issuer, &grant().await)
            .await
            .is_err()
    );
    // Granted, by that policy.
    bob.redeem(&world.issuer, &grant().await).await.unwrap();

    let recorded = decisions(&world, "alice", "").await;
    assert_eq!(recorded.len(), 3);
    let (granted, need_info, denied) = (&recorded[0], &recorded[1], &recorded[2]);
    assert_eq!(denied["outcome"], "request_denied");
    assert_eq!(denied["party"], "bob");
    assert!(
        denied["reason"]
            .as_str()
            .unwrap()
            .contains("no policy grants bob")
    );
    assert_eq!(need_info["outcome"], "need_info");
    assert_eq!(need_info["party"], CLIENT_ID);
    assert!(
        need_info["reason"]
            .as_str()
            .unwrap()
            .contains("not identified")
    );
    assert_eq!(granted["outcome"], "granted");
    assert_eq!(granted["policies"], serde_json::json!([policy]));
    assert_eq!(
        granted["granted"][0]["resource_id"],
        world.resource_id.as_str()
    );
    assert_eq!(
        granted["requested"][0]["resource_scopes"],
        serde_json::json!(["view"])
    );

    // Filtered by resource, limited, and nobody else's business.
    assert_eq!(
        decisions(
            &world,
            "alice",
            &format!("?resource={}&limit=2", world.resource_id)
        )
        .await
        .len(),
        2
    );
    assert!(
        decisions(&world, "alice", "?resource=another")
            .await
            .is_empty()
    );
    assert!(decisions(&world, "bob", "").await.is_empty());
}
