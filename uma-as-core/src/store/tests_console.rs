//! What the owner's console reads, on every store: an owner's resources across resource
//! servers page by page, what is shared with a user or their groups, and decisions page by
//! page without losing any made in the same second.

use uma_types::{PermissionRequest, ResourceDescription};

use super::tests::stores;
use super::*;

fn resource(id: &str, owner: &str, server: &str) -> Resource {
    Resource {
        id: id.into(),
        owner: owner.into(),
        resource_server: server.into(),
        description: ResourceDescription::new(["view"]).name(id),
    }
}

fn policy(id: &str, resource: &str, owner: &str, users: &[&str], groups: &[&str]) -> Policy {
    Policy {
        id: id.into(),
        resource_id: resource.into(),
        owner: owner.into(),
        scopes: vec!["view".into()],
        users: users.iter().map(|u| (*u).to_owned()).collect(),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        ..Policy::default()
    }
}

#[tokio::test]
async fn an_owners_resources_page_by_page_across_servers() {
    for (store, _db) in stores().await {
        for (id, owner, server) in [
            ("r3", "alice", "photoz"),
            ("r1", "alice", "photoz"),
            ("r2", "alice", "calendar"),
            ("r4", "bob", "photoz"),
            ("r5", "alice", "zebra"),
        ] {
            store
                .put_resource(resource(id, owner, server))
                .await
                .unwrap();
        }
        let ids = |v: Vec<Resource>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.resources_of("alice", None, 10).await.unwrap()),
            ["r2", "r1", "r3", "r5"],
            "by resource server, then id"
        );
        let first = store.resources_of("alice", None, 2).await.unwrap();
        assert_eq!(ids(first.clone()), ["r2", "r1"]);
        let last = first.last().unwrap();
        let after = Some((last.resource_server.as_str(), last.id.as_str()));
        assert_eq!(
            ids(store.resources_of("alice", after, 2).await.unwrap()),
            ["r3", "r5"]
        );
        assert!(
            store
                .resources_of("alice", Some(("zebra", "r5")), 2)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .resources_of("carol", None, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn what_is_shared_with_a_user_by_name_or_group() {
    for (store, _db) in stores().await {
        store
            .put_resource(resource("r1", "alice", "photoz"))
            .await
            .unwrap();
        store
            .put_resource(resource("r2", "bob", "photoz"))
            .await
            .unwrap();
        store
            .put_resource(resource("r3", "carol", "photoz"))
            .await
            .unwrap();
        let puts = [
            policy("p1", "r1", "alice", &["bob"], &[]),
            policy("p2", "r1", "alice", &[], &["doctors"]),
            // Bob's own resource, naming him: not shared *with* him.
            policy("p3", "r2", "bob", &["bob"], &[]),
            policy("p4", "r1", "alice", &["carol"], &["nurses"]),
            policy("p5", "r3", "carol", &["bob"], &["doctors"]),
        ];
        for p in puts {
            store.put_policy(p).await.unwrap();
        }
        let groups = vec!["doctors".to_owned()];
        let ids = |v: Vec<Policy>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store
                .policies_naming("bob", &groups, None, 10)
                .await
                .unwrap()),
            ["p1", "p2", "p5"],
            "by name or group, each once, never his own"
        );
        assert_eq!(
            ids(store
                .policies_naming("bob", &groups, Some("p1"), 1)
                .await
                .unwrap()),
            ["p2"]
        );
        assert_eq!(
            ids(store.policies_naming("bob", &[], None, 10).await.unwrap()),
            ["p1", "p5"]
        );
        // A changed policy is found by what it names now.
        store
            .put_policy(policy("p1", "r1", "alice", &["carol"], &[]))
            .await
            .unwrap();
        assert_eq!(
            ids(store.policies_naming("bob", &[], None, 10).await.unwrap()),
            ["p5"]
        );
        assert_eq!(
            ids(store.policies_naming("carol", &[], None, 10).await.unwrap()),
            ["p1", "p4"]
        );
        // Deleted policies, and those of deleted resources, are gone.
        assert!(store.delete_policy("p5").await.unwrap());
        assert!(store.delete_resource("r1").await.unwrap());
        assert!(
            store
                .policies_naming("carol", &["doctors".into()], None, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn decisions_page_by_page_through_one_second() {
    for (store, _db) in stores().await {
        let decision = |id: &str, at: u64| Decision {
            id: id.into(),
            at,
            owner: "alice".into(),
            party: "bob".into(),
            client_id: "app".into(),
            requested: vec![PermissionRequest::new("r1", ["view"])],
            granted: vec![],
            outcome: "request_denied".into(),
            policies: vec![],
            reason: None,
        };
        for (id, at) in [("d1", 10), ("d2", 20), ("d3", 20), ("d4", 20), ("d5", 30)] {
            store.put_decision(decision(id, at)).await.unwrap();
        }
        let mut from = None;
        let mut pages = Vec::new();
        loop {
            let page = store.decisions_of("alice", None, from, 2).await.unwrap();
            if page.is_empty() {
                break;
            }
            from = DecisionCursor::next(from, &page);
            pages.push(page.into_iter().map(|d| d.id).collect::<Vec<_>>());
        }
        assert_eq!(pages, [vec!["d5", "d4"], vec!["d3", "d2"], vec!["d1"]]);
        // A page all of one second carries on through it.
        let first = store
            .decisions_of("alice", None, Some(DecisionCursor { at: 20, skip: 0 }), 1)
            .await
            .unwrap();
        let next = DecisionCursor::next(Some(DecisionCursor { at: 20, skip: 0 }), &first);
        assert_eq!(next, Some(DecisionCursor { at: 20, skip: 1 }));
        let second = store.decisions_of("alice", None, next, 1).await.unwrap();
        let third = DecisionCursor::next(next, &second);
        assert_eq!(third, Some(DecisionCursor { at: 20, skip: 2 }));
        assert_eq!(second[0].id, "d3");
    }
}

#[tokio::test]
async fn resources_by_name_within_their_resource_server() {
    for (store, _db) in stores().await {
        for (id, server) in [("r1", "photoz"), ("r2", "photoz"), ("r3", "calendar")] {
            let mut r = resource(id, "alice", server);
            r.description.name = Some(if id == "r1" { "album" } else { "shared" }.into());
            store.put_resource(r).await.unwrap();
        }
        let mut twin = resource("r4", "bob", "photoz");
        twin.description.name = Some("shared".into());
        store.put_resource(twin).await.unwrap();
        let ids = |v: Vec<Resource>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.resources_named("photoz", "album").await.unwrap()),
            ["r1"]
        );
        assert_eq!(
            ids(store.resources_named("photoz", "shared").await.unwrap()),
            ["r2", "r4"],
            "two: ambiguous"
        );
        assert_eq!(
            ids(store.resources_named("calendar", "shared").await.unwrap()),
            ["r3"]
        );
        assert!(
            store
                .resources_named("calendar", "album")
                .await
                .unwrap()
                .is_empty()
        );
        // A renamed resource is found by its new name only.
        let mut renamed = resource("r1", "alice", "photoz");
        renamed.description.name = Some("holiday".into());
        store.put_resource(renamed).await.unwrap();
        assert!(
            store
                .resources_named("photoz", "album")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ids(store.resources_named("photoz", "holiday").await.unwrap()),
            ["r1"]
        );
    }
}
