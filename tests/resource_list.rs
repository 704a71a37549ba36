//! The protection API's resource list with Keycloak's filters (`_id`, `name`, `exactName`,
//! `uri`, `matchingUri`, `owner`, `type`, `scope`), its pages (`first`, `max`: 100 by default,
//! at most 1,000) and `deep`, at the spec's path and Keycloak's; `uris` and `attributes` kept.

mod support;

use serde_json::{Value, json};
use support::World;

async fn list(world: &World, pat: &str, path: &str, query: &str) -> Value {
    let response = reqwest::Client::new()
        .get(world.url(&format!("{path}{query}")))
        .bearer_auth(pat)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{query}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn filters_pages_and_deep_answers() {
    let world = World::start_with(|builder| builder.keycloak_realm("photoz")).await;
    let pat = world.protection.pat().await.unwrap().into_string();
    let created: Value = reqwest::Client::new()
        .post(world.url("/authz/protection/resource_set"))
        .bearer_auth(&pat)
        .json(&json!({
            "resource_scopes": ["view"], "name": "Bob's album", "type": "album", "owner": "bob",
            "uris": ["/albums/bob/*", "/bob/{photo}"], "attributes": {"colour": ["blue"]}
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bobs = created["_id"].as_str().unwrap().to_owned();
    let alices = world.resource_id.clone();
    let mut both = vec![alices.clone(), bobs.clone()];
    both.sort();

    for path in ["/resource_set", "/authz/protection/resource_set"] {
        for (query, expected) in [
            ("", json!(both)),
            ("?owner=bob", json!([bobs])),
            ("?owner=alice", json!([alices])),
            ("?name=Bob%27s%20album", json!([bobs])),
            ("?name=ALBUM", json!(both)),
            ("?name=bob&exactName=true", json!([])),
            ("?name=Bob%27s%20album&exactName=true", json!([bobs])),
            ("?type=album", json!([bobs])),
            ("?type=album&owner=alice", json!([])),
            ("?scope=edit", json!([alices])),
            ("?scope=view", json!(both)),
            ("?uri=/bob/{photo}", json!([bobs])),
            ("?uri=/bob/1", json!([])),
            ("?uri=/bob/1&matchingUri=true", json!([bobs])),
            (
                "?uri=/albums/bob/2024/summer&matchingUri=true",
                json!([bobs]),
            ),
            ("?uri=/albums/alice&matchingUri=true", json!([])),
            (&format!("?_id={bobs}"), json!([bobs])),
            ("?max=1", json!([both[0]])),
            ("?first=1&max=1", json!([both[1]])),
            ("?first=2", json!([])),
        ] {
            assert_eq!(
                list(&world, &pat, path, query).await,
                expected,
                "{path}{query}"
            );
        }
        // deep: the resources themselves, uris and attributes as registered.
        let deep = list(&world, &pat, path, "?owner=bob&deep=true").await;
        assert_eq!(deep[0]["_id"], bobs.as_str());
        assert_eq!(deep[0]["uris"], json!(["/albums/bob/*", "/bob/{photo}"]));
        assert_eq!(deep[0]["attributes"], json!({"colour": ["blue"]}));
    }
}

#[tokio::test]
async fn pages_cross_the_stores_batches_and_are_capped() {
    let world = World::start().await;
    let pat = world.protection.pat().await.unwrap().into_string();
    let client = reqwest::Client::new();
    // 1,200 resources: more than a store batch (500) and than the largest page (1,000).
    let mut ids = vec![world.resource_id.clone()];
    for n in 0..1200 {
        let created: Value = client
            .post(world.url("/resource_set"))
            .bearer_auth(&pat)
            .json(
                &json!({"resource_scopes": ["view"], "name": format!("photo {n}"), "owner": "bob",
                          "type": if n % 400 == 399 { "rare" } else { "common" }}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(created["_id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    let page = |query: &'static str| list(&world, &pat, "/resource_set", query);
    assert_eq!(
        page("").await.as_array().unwrap().len(),
        100,
        "Keycloak's default"
    );
    assert_eq!(
        page("?max=5000").await.as_array().unwrap().len(),
        1000,
        "capped"
    );
    let last: Vec<String> = serde_json::from_value(page("?first=1000&max=1000").await).unwrap();
    assert_eq!(last, ids[1000..]);
    // A rare match in every batch: found across all of them, in id order.
    let rare: Vec<String> = serde_json::from_value(page("?type=rare").await).unwrap();
    assert_eq!(rare.len(), 3);
    let rare_second: Vec<String> =
        serde_json::from_value(page("?type=rare&first=1&max=1").await).unwrap();
    assert_eq!(rare_second, rare[1..2]);
}
