//! One behaviour, three stores: every test runs against the memory store, SQLite and, when
//! `UMA_TEST_POSTGRES_URL` names a database, PostgreSQL.

use std::sync::Arc;

use uma_types::{PermissionRequest, ResourceDescription};

use super::*;
use crate::time::now;

#[path = "../../tests/support/postgres.rs"]
mod test_postgres;

pub(super) async fn stores() -> Vec<(Arc<dyn Store>, Option<TempDb>)> {
    let db = TempDb::new();
    let sqlite = SqliteStore::open(&db.path).await.unwrap();
    let mut stores = vec![
        (Arc::new(MemoryStore::new()) as Arc<dyn Store>, None),
        (Arc::new(sqlite) as Arc<dyn Store>, Some(db)),
    ];
    if let Some(url) = test_postgres::fresh_database().await {
        let postgres = PostgresStore::connect(&url).await.unwrap();
        stores.push((Arc::new(postgres), None));
    }
    stores
}

/// A database file removed when the test ends.
pub(crate) struct TempDb {
    pub(crate) path: std::path::PathBuf,
}

impl TempDb {
    pub(crate) fn new() -> Self {
        let path = std::env::temp_dir().join(format!("uma-as-test-{}.db", crate::secret::new_id()));
        Self { path }
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }
}

/// bob's PCT at `app`, expiring at `expires_at`: the simplest record to purge.
pub(crate) fn pct_until(expires_at: u64) -> TokenRecord {
    TokenRecord {
        kind: TokenKind::Pct,
        client_id: "app".into(),
        subject: "bob".into(),
        issued_at: 1,
        expires_at,
    }
}

fn resource(id: &str, owner: &str) -> Resource {
    Resource {
        id: id.into(),
        owner: owner.into(),
        resource_server: "photoz".into(),
        description: ResourceDescription::new(["view"]).name(id),
    }
}

#[tokio::test]
async fn resources_and_policies() {
    for (store, _db) in stores().await {
        store.put_resource(resource("r1", "alice")).await.unwrap();
        store.put_resource(resource("r2", "bob")).await.unwrap();
        let mut updated = resource("r1", "alice");
        updated.description = ResourceDescription::new(["view", "edit"]);
        store.put_resource(updated.clone()).await.unwrap();
        assert_eq!(store.resource("r1").await.unwrap(), Some(updated));
        assert_eq!(store.resource("nope").await.unwrap(), None);
        let ids = |v: Vec<Resource>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.resources("photoz", None, None, 10).await.unwrap()),
            ["r1", "r2"]
        );
        assert_eq!(
            ids(store
                .resources("photoz", Some("bob"), None, 10)
                .await
                .unwrap()),
            ["r2"]
        );
        // Pages: after an id, at most a limit.
        assert_eq!(
            ids(store.resources("photoz", None, None, 1).await.unwrap()),
            ["r1"]
        );
        assert_eq!(
            ids(store
                .resources("photoz", None, Some("r1"), 1)
                .await
                .unwrap()),
            ["r2"]
        );
        assert!(
            store
                .resources("photoz", Some("alice"), Some("r1"), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .resources("other", None, None, 10)
                .await
                .unwrap()
                .is_empty()
        );

        let policy = Policy::bob_may_view_r1();
        store.put_policy(policy.clone()).await.unwrap();
        let changed = Policy {
            scopes: vec!["edit".into()],
            ..policy.clone()
        };
        store.put_policy(changed.clone()).await.unwrap();
        assert_eq!(store.policy("p1").await.unwrap(), Some(changed.clone()));
        assert_eq!(store.policies_for("r1").await.unwrap(), [changed]);
        assert!(store.policies_for("r2").await.unwrap().is_empty());
        assert!(store.delete_policy("p1").await.unwrap());
        assert!(!store.delete_policy("p1").await.unwrap());

        // Deleting a resource deletes its policies.
        store.put_policy(policy).await.unwrap();
        assert!(store.delete_resource("r1").await.unwrap());
        assert!(!store.delete_resource("r1").await.unwrap());
        assert_eq!(store.policy("p1").await.unwrap(), None);
        assert!(store.policies_for("r1").await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn tickets_are_taken_once() {
    for (store, _db) in stores().await {
        let hash = TokenHash::of("ticket");
        let ticket = Ticket {
            permissions: vec![PermissionRequest::new("r1", ["view"])],
            owner: "alice".into(),
            resource_server: "photoz".into(),
            expires_at: now() + 60,
            gathered: None,
        };
        store.put_ticket(hash, ticket.clone()).await.unwrap();
        let takers: Vec<_> = (0..20)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.take_ticket(&hash).await.unwrap() })
            })
            .collect();
        let mut taken = Vec::new();
        for taker in takers {
            taken.extend(taker.await.unwrap());
        }
        assert_eq!(taken, [ticket]);
    }
}

#[tokio::test]
async fn tokens_and_keys() {
    for (store, _db) in stores().await {
        let hash = TokenHash::of("token");
        let record = TokenRecord {
            kind: TokenKind::Access {
                scopes: vec!["uma_protection".into()],
            },
            client_id: "photoz".into(),
            subject: "photoz".into(),
            issued_at: 1,
            expires_at: now() + 60,
        };
        store.put_token(hash, record.clone()).await.unwrap();
        assert_eq!(store.token(&hash).await.unwrap(), Some(record));
        assert!(store.delete_token(&hash).await.unwrap());
        assert_eq!(store.token(&hash).await.unwrap(), None);

        let key = SigningKey {
            kid: "k1".into(),
            alg: SigningAlgorithm::RS256,
            private_pkcs8: vec![1, 2, 3],
            public: vec![4],
            created_at: 1,
            retired_at: None,
            active_from: 1,
        };
        store.put_signing_key(key.clone()).await.unwrap();
        let retired = SigningKey {
            retired_at: Some(2),
            ..key
        };
        store.put_signing_key(retired.clone()).await.unwrap();
        assert_eq!(store.signing_keys().await.unwrap(), [retired]);
        assert_eq!(store.delete_signing_keys(&["k1".into()]).await.unwrap(), 1);
        assert!(store.signing_keys().await.unwrap().is_empty());
    }
}

/// Replicas rotating at once add one key between them.
#[tokio::test]
async fn a_signing_key_is_added_once_among_concurrent_adders() {
    for (store, _db) in stores().await {
        let adders: Vec<_> = (0..10u64)
            .map(|n| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let key = SigningKey {
                        kid: format!("k{n}"),
                        alg: SigningAlgorithm::EdDSA,
                        private_pkcs8: vec![1],
                        public: vec![2],
                        created_at: 100 + n,
                        retired_at: None,
                        active_from: 100 + n,
                    };
                    store.add_signing_key(key, 50).await.unwrap()
                })
            })
            .collect();
        let mut added = 0;
        for adder in adders {
            added += u32::from(adder.await.unwrap());
        }
        assert_eq!(added, 1);
        assert_eq!(store.signing_keys().await.unwrap().len(), 1);
    }
}

/// Purges take what has expired or passed retention, in batches, and nothing else.
#[tokio::test]
async fn purges_go_in_batches_and_spare_the_live() {
    for (store, _db) in stores().await {
        let now = now();
        let token = |expires_at| TokenRecord {
            kind: TokenKind::Access { scopes: vec![] },
            client_id: "app".into(),
            subject: "bob".into(),
            issued_at: 1,
            expires_at,
        };
        for n in 0..5 {
            let expires_at = if n < 3 { now - 1 } else { now + 60 };
            store
                .put_token(TokenHash::of(&format!("t{n}")), token(expires_at))
                .await
                .unwrap();
            store
                .put_ticket(
                    TokenHash::of(&format!("k{n}")),
                    Ticket {
                        permissions: vec![],
                        owner: "alice".into(),
                        resource_server: "photoz".into(),
                        expires_at,
                        gathered: None,
                    },
                )
                .await
                .unwrap();
        }
        // Batches of 2: expired tickets 2 + tokens 2, then 1 + 1, then nothing.
        assert_eq!(store.purge(now, 0, 2).await.unwrap(), 4);
        assert_eq!(store.purge(now, 0, 2).await.unwrap(), 2);
        assert_eq!(store.purge(now, 0, 2).await.unwrap(), 0);
        for n in 0..5 {
            let live = store
                .token(&TokenHash::of(&format!("t{n}")))
                .await
                .unwrap()
                .is_some();
            assert_eq!(live, n >= 3, "token {n}");
        }
        assert!(
            store
                .take_ticket(&TokenHash::of("k4"))
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test]
async fn sqlite_keeps_everything_across_reopening() {
    let db = TempDb::new();
    {
        let store = SqliteStore::open(&db.path).await.unwrap();
        store.put_resource(resource("r1", "alice")).await.unwrap();
        store
            .put_token(
                TokenHash::of("t"),
                TokenRecord {
                    kind: TokenKind::Access { scopes: vec![] },
                    client_id: "c".into(),
                    subject: "s".into(),
                    issued_at: 1,
                    expires_at: now() + 60,
                },
            )
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&db.path).await.unwrap();
    assert_eq!(
        store.resource("r1").await.unwrap(),
        Some(resource("r1", "alice"))
    );
    assert!(store.token(&TokenHash::of("t")).await.unwrap().is_some());
}

/// The store's connections keep the log's index in this process's memory (SQLite's
/// `unix-excl`), not in a `-shm` file shared with other processes: a read takes no file lock.
#[tokio::test]
async fn sqlite_keeps_the_logs_index_in_memory() {
    let db = TempDb::new();
    let store = SqliteStore::open(&db.path).await.unwrap();
    store.put_resource(resource("r1", "alice")).await.unwrap();
    assert!(store.resource("r1").await.unwrap().is_some());
    let file = |suffix: &str| std::path::PathBuf::from(format!("{}{suffix}", db.path.display()));
    assert!(file("-wal").exists(), "still in WAL mode");
    assert!(!file("-shm").exists());
}

#[tokio::test]
async fn a_failing_write_does_not_fail_the_writes_committed_with_it() {
    let db = TempDb::new();
    let store = Arc::new(SqliteStore::open(&db.path).await.unwrap());
    let ticket = Ticket {
        permissions: vec![],
        owner: "alice".into(),
        resource_server: "photoz".into(),
        expires_at: now() + 60,
        gathered: None,
    };
    store
        .put_ticket(TokenHash::of("dup"), ticket.clone())
        .await
        .unwrap();
    // Many writes at once, so that they share transactions; one of them breaks a primary key.
    let writes: Vec<_> = (0..100)
        .map(|i| {
            let (store, ticket) = (Arc::clone(&store), ticket.clone());
            let key = if i == 50 {
                "dup".to_owned()
            } else {
                format!("t{i}")
            };
            tokio::spawn(async move { store.put_ticket(TokenHash::of(&key), ticket).await })
        })
        .collect();
    let mut failures = 0;
    for write in writes {
        failures += usize::from(write.await.unwrap().is_err());
    }
    assert_eq!(failures, 1);
    for i in (0..100).filter(|i| *i != 50) {
        assert!(
            store
                .take_ticket(&TokenHash::of(&format!("t{i}")))
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test]
async fn repeated_requests_coalesce_into_one() {
    for (store, _db) in stores().await {
        let request = |id: &str, scopes: &[&str]| PendingRequest {
            id: id.into(),
            owner: "alice".into(),
            resource_id: "r1".into(),
            party: "bob".into(),
            client_id: "app".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            status: RequestStatus::Pending,
            created_at: 1,
        };
        let first = store
            .put_request_if_absent(request("q1", &["view"]))
            .await
            .unwrap();
        let again = store
            .put_request_if_absent(request("q2", &["view"]))
            .await
            .unwrap();
        assert_eq!(again.id, "q1");
        let other = store
            .put_request_if_absent(request("q3", &["edit", "view"]))
            .await
            .unwrap();
        assert_eq!(other.id, "q3");
        // The same party asking the same through another client is another request.
        let elsewhere = store
            .put_request_if_absent(PendingRequest {
                client_id: "other-app".into(),
                ..request("q4", &["view"])
            })
            .await
            .unwrap();
        assert_eq!(elsewhere.id, "q4");
        // Answered once: of two answers at once, one counts, on every store.
        let answers = [RequestStatus::Denied, RequestStatus::Approved].map(|status| {
            let (store, first) = (Arc::clone(&store), first.clone());
            tokio::spawn(async move {
                store
                    .decide_request(PendingRequest { status, ..first })
                    .await
                    .unwrap()
            })
        });
        let mut counted = Vec::new();
        for answer in answers {
            counted.push(answer.await.unwrap());
        }
        assert_eq!(counted.iter().filter(|c| **c).count(), 1, "{counted:?}");
        let kept = store.request("q1").await.unwrap().unwrap().status;
        let expected = if counted[0] {
            RequestStatus::Denied
        } else {
            RequestStatus::Approved
        };
        assert_eq!(kept, expected);
        assert!(
            !store
                .decide_request(PendingRequest {
                    status: RequestStatus::Approved,
                    ..request("nope", &["view"])
                })
                .await
                .unwrap(),
            "no such request"
        );
        let ids: Vec<String> = store
            .requests_of("alice")
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(ids, ["q1", "q3", "q4"]);
        assert!(store.requests_of("bob").await.unwrap().is_empty());
    }
}

/// An RPT relying on `policies` (ids at revision 0).
fn rpt_relying_on(policies: &[&str], expires_at: u64) -> TokenRecord {
    let policies = policies
        .iter()
        .map(|p| PolicyRef {
            id: p.to_string(),
            revision: 0,
        })
        .collect();
    TokenRecord::rpt_relying_on(policies, expires_at)
}

#[tokio::test]
async fn a_token_reads_as_revoked_once_a_policy_it_relied_on_changes_or_goes() {
    for (store, _db) in stores().await {
        store.put_resource(resource("r1", "alice")).await.unwrap();
        for id in ["p1", "p2"] {
            let policy = Policy {
                id: id.into(),
                ..Policy::bob_may_view_r1()
            };
            store.put_policy(policy).await.unwrap();
        }
        let live = now() + 60;
        for (name, policies) in [("a", &["p1"][..]), ("b", &["p1", "p2"]), ("c", &["p2"])] {
            let token = rpt_relying_on(policies, live);
            store.put_token(TokenHash::of(name), token).await.unwrap();
        }
        let reads = || async {
            let mut present = vec![];
            for name in ["a", "b", "c"] {
                present.push(store.token(&TokenHash::of(name)).await.unwrap().is_some());
            }
            present
        };
        assert_eq!(reads().await, [true, true, true]);
        // p1 changes: what relied on it is revoked, from the moment the change is stored.
        let changed = Policy {
            id: "p1".into(),
            revision: 1,
            ..Policy::bob_may_view_r1()
        };
        store.put_policy(changed).await.unwrap();
        assert_eq!(reads().await, [false, false, true]);
        // p2 goes: so does what relied on it.
        assert!(store.delete_policy("p2").await.unwrap());
        assert_eq!(reads().await, [false, false, false]);
        // A resource goes: so do its policies, and what relied on them.
        store.put_resource(resource("r2", "alice")).await.unwrap();
        let on_r2 = Policy {
            id: "p3".into(),
            resource_id: "r2".into(),
            ..Policy::bob_may_view_r1()
        };
        store.put_policy(on_r2).await.unwrap();
        let d = TokenHash::of("d");
        store
            .put_token(d, rpt_relying_on(&["p3"], live))
            .await
            .unwrap();
        assert!(store.token(&d).await.unwrap().is_some());
        assert!(store.delete_resource("r2").await.unwrap());
        assert!(store.token(&d).await.unwrap().is_none());
        // The records stay, for the purge to take when they expire; no reader of a token
        // gets them.
        assert!(
            store
                .stored_token(&TokenHash::of("a"))
                .await
                .unwrap()
                .is_some()
        );
    }
}

#[tokio::test]
async fn expired_tokens_are_purged_a_batch_at_a_time() {
    for (store, _db) in stores().await {
        for (name, expires_at) in [
            ("old", now() - 2),
            ("older", now() - 3),
            ("live", now() + 60),
        ] {
            let token = rpt_relying_on(&[], expires_at);
            store.put_token(TokenHash::of(name), token).await.unwrap();
        }
        let stored = || async {
            let mut names = vec![];
            for name in ["older", "old", "live"] {
                if store
                    .stored_token(&TokenHash::of(name))
                    .await
                    .unwrap()
                    .is_some()
                {
                    names.push(name);
                }
            }
            names
        };
        assert_eq!(store.purge(now(), 0, 1).await.unwrap(), 1);
        assert_eq!(stored().await.len(), 2);
        assert_eq!(store.purge(now(), 0, 1).await.unwrap(), 1);
        assert_eq!(stored().await, ["live"]);
        assert_eq!(store.purge(now(), 0, 1).await.unwrap(), 0);
        assert!(store.token(&TokenHash::of("live")).await.unwrap().is_some());
    }
}

/// Stores alice's resource `r1` and [`Policy::bob_may_view_r1`]; returns the policy.
async fn alice_shares_r1_with_bob(store: &dyn Store) -> Policy {
    store.put_resource(resource("r1", "alice")).await.unwrap();
    let policy = Policy::bob_may_view_r1();
    store.put_policy(policy.clone()).await.unwrap();
    policy
}

#[tokio::test]
async fn an_rpt_is_stored_only_while_its_policies_are_as_relied_on() {
    for (store, _db) in stores().await {
        let policy = alice_shares_r1_with_bob(&*store).await;
        let rpt = |policy: &Policy, revision: u64| TokenRecord {
            kind: TokenKind::Rpt {
                permissions: vec![],
                resource_server: "photoz".into(),
                owner: "alice".into(),
                policies: vec![PolicyRef {
                    id: policy.id.clone(),
                    revision,
                }],
            },
            client_id: "app".into(),
            subject: "bob".into(),
            issued_at: 1,
            expires_at: now() + 60,
        };
        let refresh = |name: &str| {
            Some((
                TokenHash::of(name),
                TokenRecord {
                    kind: TokenKind::Pct,
                    ..rpt(&policy, 0)
                },
            ))
        };
        let stored = |name: &'static str| {
            let store = Arc::clone(&store);
            async move { store.token(&TokenHash::of(name)).await.unwrap().is_some() }
        };
        // The decision that granted each: stored with its RPT, or not at all.
        let granted = |id: &str, at: u64| {
            Some(Decision {
                id: id.into(),
                at,
                owner: "alice".into(),
                party: "bob".into(),
                client_id: "app".into(),
                requested: vec![PermissionRequest::new("r1", ["view"])],
                granted: vec![],
                outcome: "granted".into(),
                policies: vec!["p1".into()],
                reason: None,
            })
        };
        assert_eq!(
            store
                .put_rpt(
                    (TokenHash::of("a"), rpt(&policy, 0)),
                    refresh("a-refresh"),
                    granted("da", 10),
                    None
                )
                .await
                .unwrap(),
            RptStored::Stored
        );
        assert!(stored("a").await && stored("a-refresh").await);

        // The policy changes (to a revision as large as a seeded policy's first): an RPT
        // assessed on its old terms is not stored, nor its refresh.
        let changed = crate::secret::new_revision();
        store
            .put_policy(Policy {
                revision: changed,
                ..policy.clone()
            })
            .await
            .unwrap();
        assert_eq!(
            store
                .put_rpt(
                    (TokenHash::of("b"), rpt(&policy, 0)),
                    refresh("b-refresh"),
                    granted("db", 20),
                    None
                )
                .await
                .unwrap(),
            RptStored::PolicyChanged
        );
        assert!(!stored("b").await && !stored("b-refresh").await);
        assert_eq!(
            store
                .put_rpt(
                    (TokenHash::of("c"), rpt(&policy, changed)),
                    None,
                    None,
                    None
                )
                .await
                .unwrap(),
            RptStored::Stored
        );
        assert!(stored("c").await && !stored("a").await);

        // Gone: nothing relying on it is stored.
        store.delete_policy("p1").await.unwrap();
        assert_eq!(
            store
                .put_rpt(
                    (TokenHash::of("d"), rpt(&policy, changed)),
                    None,
                    granted("dd", 30),
                    None
                )
                .await
                .unwrap(),
            RptStored::PolicyChanged
        );
        assert!(!stored("d").await);
        let decisions = store.decisions_of("alice", None, None, 10).await.unwrap();
        let ids: Vec<&str> = decisions.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["da"]);
        assert_eq!(decisions[0].outcome, "granted");
        assert_eq!(decisions[0].policies, ["p1"]);
    }
}

/// The RPT's write spends the ticket it redeems: once, and only with the RPT. Of concurrent
/// writes redeeming one ticket, exactly one stores its RPT; a write that fails on a changed
/// policy leaves the ticket for the next assessment.
#[tokio::test]
async fn an_rpt_spends_its_ticket_once() {
    for (store, _db) in stores().await {
        alice_shares_r1_with_bob(&*store).await;
        let rpt = |revision: u64| TokenRecord {
            kind: TokenKind::Rpt {
                permissions: vec![],
                resource_server: "photoz".into(),
                owner: "alice".into(),
                policies: vec![PolicyRef {
                    id: "p1".into(),
                    revision,
                }],
            },
            client_id: "app".into(),
            subject: "bob".into(),
            issued_at: 1,
            expires_at: now() + 60,
        };
        let ticket = TokenHash::of("ticket");
        store
            .put_ticket(
                ticket,
                Ticket {
                    permissions: vec![PermissionRequest::new("r1", ["view"])],
                    owner: "alice".into(),
                    resource_server: "photoz".into(),
                    expires_at: now() + 60,
                    gathered: None,
                },
            )
            .await
            .unwrap();

        // A stale policy: nothing stored, and the ticket is still there.
        assert_eq!(
            store
                .put_rpt((TokenHash::of("stale"), rpt(7)), None, None, Some(&ticket))
                .await
                .unwrap(),
            RptStored::PolicyChanged
        );
        assert!(store.ticket(&ticket).await.unwrap().is_some());

        // Twenty writes at once: one stores its RPT and spends the ticket, the rest store nothing.
        let writers: Vec<_> = (0..20)
            .map(|n| {
                let (store, rpt) = (Arc::clone(&store), rpt(0));
                tokio::spawn(async move {
                    let hash = TokenHash::of(&format!("rpt-{n}"));
                    let stored = store.put_rpt((hash, rpt), None, None, Some(&ticket)).await;
                    (hash, stored.unwrap())
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for writer in writers {
            outcomes.push(writer.await.unwrap());
        }
        let stored: Vec<_> = outcomes
            .iter()
            .filter(|(_, o)| *o == RptStored::Stored)
            .collect();
        assert_eq!(stored.len(), 1);
        assert!(
            outcomes
                .iter()
                .all(|(_, o)| matches!(o, RptStored::Stored | RptStored::TicketSpent))
        );
        for (hash, outcome) in &outcomes {
            let kept = store.token(hash).await.unwrap().is_some();
            assert_eq!(kept, *outcome == RptStored::Stored);
        }
        assert_eq!(store.ticket(&ticket).await.unwrap(), None);
        assert_eq!(store.take_ticket(&ticket).await.unwrap(), None);
    }
}

#[test]
fn policies_relied_on_read_in_their_old_form_too() {
    let old: PolicyRef = serde_json::from_str("\"p1\"").unwrap();
    assert_eq!(
        old,
        PolicyRef {
            id: "p1".into(),
            revision: 0
        }
    );
    let new: PolicyRef = serde_json::from_str(r#"{"id":"p1","revision":3}"#).unwrap();
    assert_eq!(new.revision, 3);
}

#[tokio::test]
async fn decisions_newest_first_filtered_and_purged() {
    for (store, _db) in stores().await {
        let decision =
            |id: &str, at: u64, resource: &str| Decision::denied(id, "alice", at, resource);
        store.put_decision(decision("d1", 10, "r1")).await.unwrap();
        store.put_decision(decision("d2", 20, "r2")).await.unwrap();
        store.put_decision(decision("d3", 30, "r1")).await.unwrap();
        let ids = |v: Vec<Decision>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
        assert_eq!(
            ids(store.decisions_of("alice", None, None, 10).await.unwrap()),
            ["d3", "d2", "d1"]
        );
        assert_eq!(
            ids(store
                .decisions_of("alice", Some("r1"), None, 10)
                .await
                .unwrap()),
            ["d3", "d1"]
        );
        assert_eq!(
            ids(store.decisions_of("alice", None, None, 1).await.unwrap()),
            ["d3"]
        );
        assert!(
            store
                .decisions_of("bob", None, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.purge(0, 25, 100).await.unwrap(), 2);
        assert_eq!(
            ids(store.decisions_of("alice", None, None, 10).await.unwrap()),
            ["d3"]
        );
    }
}

/// RPT issue and a policy's change serialize (TM-13): whichever order the store puts them in,
/// once the change is stored no RPT on the old terms reads as valid, on any store (PostgreSQL
/// included, where the two run on different connections at once).
#[tokio::test]
async fn an_rpt_racing_a_policy_change_never_survives_it() {
    for (store, _db) in stores().await {
        store.put_resource(resource("r1", "alice")).await.unwrap();
        let mut policy = Policy {
            id: "p1".into(),
            resource_id: "r1".into(),
            owner: "alice".into(),
            scopes: vec!["view".into()],
            ..Policy::default()
        };
        store.put_policy(policy.clone()).await.unwrap();
        for round in 0..40u64 {
            let rpt = TokenRecord::rpt_relying_on(vec![PolicyRef::from(&policy)], now() + 60);
            let hash = TokenHash::of(&format!("rpt-{round}"));
            policy.revision += 1;
            let issuing = {
                let store = Arc::clone(&store);
                tokio::spawn(
                    async move { store.put_rpt((hash, rpt), None, None, None).await.unwrap() },
                )
            };
            let changing = {
                let (store, policy) = (Arc::clone(&store), policy.clone());
                tokio::spawn(async move { store.put_policy(policy).await.unwrap() })
            };
            issuing.await.unwrap();
            changing.await.unwrap();
            assert_eq!(store.token(&hash).await.unwrap(), None, "round {round}");
        }
    }
}

/// Records written by earlier versions, in the long form, read and filter as before.
#[tokio::test]
async fn records_of_earlier_versions_still_read_in_sqlite() {
    let db = TempDb::new();
    let store = SqliteStore::open(&db.path).await.unwrap();
    // The policy the old RPT relied on, still at that revision.
    store.put_resource(resource("r1", "alice")).await.unwrap();
    store.put_policy(Policy::bob_may_view_r1()).await.unwrap();
    let token = r#"{"kind":{"Rpt":{"permissions":[{"resource_id":"r1","resource_scopes":["view"],"rsid":"r1","rsname":"album","scopes":["view"]}],"resource_server":"photoz","owner":"alice","policies":[{"id":"p1","revision":0}]}},"client_id":"app","subject":"bob","issued_at":1,"expires_at":4000000000}"#;
    let decision = r#"{"id":"d1","at":10,"owner":"alice","party":"bob","client_id":"app","requested":[{"resource_id":"r1","resource_scopes":["view"]}],"granted":[{"resource_id":"r1","resource_scopes":["view"],"rsid":"r1","scopes":["view"]}],"outcome":"granted","policies":["p1"],"reason":null}"#;
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.path.display()))
        .await
        .unwrap();
    use sqlx::Connection as _;
    sqlx::query("INSERT INTO tokens (hash, expires_at, body) VALUES (?1, 4000000000, ?2)")
        .bind(&TokenHash::of("old").as_bytes()[..])
        .bind(token)
        .execute(&mut connection)
        .await
        .unwrap();
    sqlx::query("INSERT INTO decisions (owner, at, body) VALUES ('alice', 10, ?1)")
        .bind(decision)
        .execute(&mut connection)
        .await
        .unwrap();
    let record = store.token(&TokenHash::of("old")).await.unwrap().unwrap();
    let TokenKind::Rpt { permissions, .. } = &record.kind else {
        panic!("an RPT: {record:?}");
    };
    assert_eq!(permissions[0].resource_name.as_deref(), Some("album"));
    let decisions = store
        .decisions_of("alice", Some("r1"), None, 10)
        .await
        .unwrap();
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].granted[0].resource_id, "r1");
    assert!(
        store
            .decisions_of("alice", Some("r2"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// On SQLite the purges queue behind the requests' writes; they must still get their turn while
/// writes keep coming (as on a saturated server), or expired rows would pile up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purges_finish_while_writes_keep_coming() {
    for (store, _db) in stores().await {
        let token = pct_until;
        for n in 0..100 {
            store
                .put_token(TokenHash::of(&format!("expired-{n}")), token(now() - 1))
                .await
                .unwrap();
        }
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..8)
            .map(|writer| {
                let (store, done) = (Arc::clone(&store), Arc::clone(&done));
                tokio::spawn(async move {
                    // Bounded, and yielding: the memory store's writes never wait.
                    for n in 0..20_000 {
                        if done.load(std::sync::atomic::Ordering::Relaxed) {
                            return true;
                        }
                        let key = TokenHash::of(&format!("live-{writer}-{n}"));
                        store.put_token(key, token(now() + 60)).await.unwrap();
                        tokio::task::yield_now().await;
                    }
                    false
                })
            })
            .collect();
        // The writers are going before the purges start.
        while store
            .token(&TokenHash::of("live-7-0"))
            .await
            .unwrap()
            .is_none()
        {
            tokio::task::yield_now().await;
        }
        // Ten batches of ten, each waiting its turn at the writer.
        let mut purged = 0;
        while purged < 100 {
            purged += tokio::time::timeout(
                std::time::Duration::from_secs(60),
                store.purge(now(), 0, 10),
            )
            .await
            .expect("a purge never got its turn")
            .unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut still_writing = false;
        for writer in writers {
            still_writing |= writer.await.unwrap();
        }
        assert!(still_writing, "the purges waited until the writes ended");
        assert_eq!(
            store.token(&TokenHash::of("expired-0")).await.unwrap(),
            None
        );
        assert!(
            store
                .token(&TokenHash::of("live-0-0"))
                .await
                .unwrap()
                .is_some()
        );
    }
}

/// After a peak, purges give the freed pages back and the file shrinks; pages a steady state
/// will reuse are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_shrinks_after_a_peak() {
    use sqlx::Connection as _;
    let db = TempDb::new();
    let store = Arc::new(SqliteStore::open(&db.path).await.unwrap());
    let expired = pct_until(now() - 1);
    let writers: Vec<_> = (0..32)
        .map(|writer| {
            let (store, record) = (Arc::clone(&store), expired.clone());
            tokio::spawn(async move {
                for n in 0..1_500 {
                    let key = TokenHash::of(&format!("peak-{writer}-{n}"));
                    store.put_token(key, record.clone()).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let mut connection = sqlx::SqliteConnection::connect(&format!("sqlite:{}", db.path.display()))
        .await
        .unwrap();
    let page_count = "PRAGMA page_count";
    let (peak,): (i64,) = sqlx::query_as(page_count)
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert!(
        peak > 1_000,
        "the peak is too small to show anything: {peak} pages"
    );
    let mut purged = 0;
    // The 48,000 rows, then rounds that find nothing left but still give pages back.
    for _ in 0..2_000 {
        purged += store.purge(now(), 0, 128).await.unwrap();
    }
    assert_eq!(purged, 48_000);
    let (after,): (i64,) = sqlx::query_as(page_count)
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert!(after < peak / 2, "{peak} pages at the peak, {after} after");
}
