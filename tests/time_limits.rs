//! Time-limited access stays limited (TM-4), withdrawing a policy and issuing an RPT that relies
//! on it serialize (TM-13), and so do two redemptions of one ticket held apart (TM-5).

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use http::StatusCode;
use serde_json::{Value, json};
use support::{CLIENT_ID, CLIENT_SECRET, RS_ID, RS_SECRET, World};
use tokio::sync::Notify;
use uma_as_core::store::{
    Decision, DecisionCursor, MemoryStore, PendingRequest, Policy, Resource, RptStored, SigningKey,
    Store, StoreError, Ticket, TokenRecord,
};
use uma_as_core::{AuthorizationServer, ClientConfig, TokenHash};
use uma_client::{ClientCredentials, ProtectionClient, ResourceDescription, UmaGrantRequest};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The UMA grant for Bob through the client, with a fresh ticket: the token endpoint's JSON.
async fn grant(world: &World) -> (StatusCode, Value) {
    let ticket = support::ticket(world).await;
    let response = reqwest::Client::new()
        .post(world.url("/token"))
        .bearer_auth(world.token("bob").await.as_str())
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("ticket", ticket.as_str()),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn refresh(world: &World, refresh_token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(world.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ])
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn an_rpt_and_its_refreshes_end_with_the_policy_that_granted_them() {
    let world = World::start_with(|b| b.rpt_refresh_tokens(true)).await;
    let not_after = now() + 3;
    let alice = world.owner_token("alice").await;
    let created = reqwest::Client::new()
        .post(world.url(&format!("/policy/{}", world.resource_id)))
        .bearer_auth(alice.as_str())
        .json(&json!({"scopes": ["view"], "users": ["bob"], "not_after": not_after}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);

    let (status, token) = grant(&world).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert!(token["expires_in"].as_u64().unwrap() <= 3, "{token}");
    let rpt = token["access_token"].as_str().unwrap();
    let introspected = world.protection.introspect(&rpt.into()).await.unwrap();
    assert!(introspected.exp.unwrap() <= not_after);

    // Refreshed at once: still no later than the policy's end (or refused, on a machine so slow
    // that the end has passed).
    let asked_at = now();
    let (status, refreshed) = refresh(&world, token["refresh_token"].as_str().unwrap()).await;
    let Some(refresh_token) = refreshed["refresh_token"].as_str() else {
        assert!(now() >= not_after, "{status}: {refreshed}");
        return;
    };
    assert!(asked_at + refreshed["expires_in"].as_u64().unwrap() <= not_after);

    // Once the policy has ended, its refresh token refreshes nothing.
    let past_the_end = UNIX_EPOCH + Duration::from_secs(not_after + 1);
    if let Ok(wait) = past_the_end.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
    let (status, body) = refresh(&world, refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
}

/// Alice's resource shared with Bob: a ticket for it, and Bob's client.
struct Shared {
    server: uma_as_core::RunningServer,
    protection: ProtectionClient,
    policy: String,
    ticket: uma_client::PermissionTicket,
    bob: uma_client::UmaClient,
}

async fn shared(
    configure: impl FnOnce(
        uma_as_core::AuthorizationServerBuilder,
    ) -> uma_as_core::AuthorizationServerBuilder,
) -> Shared {
    let builder = AuthorizationServer::builder()
        .rpt_refresh_tokens(true)
        .client(ClientConfig::new(RS_ID, RS_SECRET))
        .client(ClientConfig::new(CLIENT_ID, CLIENT_SECRET))
        .user("alice")
        .user("bob");
    let server = configure(builder).spawn().await.unwrap();
    let protection = ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new(RS_ID, RS_SECRET))
        .build()
        .unwrap();
    let resource = protection
        .create_resource(&ResourceDescription::new(["view"]).owner("alice"))
        .await
        .unwrap();
    let policy = server.share(&resource, "bob", ["view"]).await.unwrap();
    let ticket = protection
        .request_permissions(vec![uma_client::PermissionRequest::new(
            resource.clone(),
            ["view"],
        )])
        .await
        .unwrap();
    let bob = uma_client::UmaClient::builder()
        .trust(server.issuer())
        .auth(uma_client::GrantAuth::Bearer(
            server.access_token("bob", CLIENT_ID).await.unwrap(),
        ))
        .build()
        .unwrap();
    Shared {
        server,
        protection,
        policy,
        ticket,
        bob,
    }
}

#[tokio::test]
async fn a_rotated_refresh_token_ends_when_the_first_one_does() {
    let Shared {
        server,
        ticket,
        bob,
        ..
    } = shared(|b| b.refresh_token_lifetime(Duration::from_secs(2))).await;
    let first = bob
        .redeem(server.issuer(), &UmaGrantRequest::new(ticket))
        .await
        .unwrap();
    let first_ends = now() + 2;
    let world_refresh = |token: String| {
        let issuer = server.issuer().to_owned();
        async move {
            let response = reqwest::Client::new()
                .post(format!("{issuer}/token"))
                .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
                .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
                .send()
                .await
                .unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    // Rotate once, then again after the first refresh token's end: the rotated one ended with
    // it, however recently it was issued.
    let (status, body) = world_refresh(first.refresh_token.unwrap().into_string()).await;
    let Some(rotated) = body["refresh_token"].as_str() else {
        // Only on a machine so slow that the first one had already ended.
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        return;
    };
    let past_the_end = UNIX_EPOCH + Duration::from_secs(first_ends + 1);
    if let Ok(wait) = past_the_end.duration_since(SystemTime::now()) {
        tokio::time::sleep(wait).await;
    }
    let (status, body) = world_refresh(rotated.to_owned()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// A memory store whose reads of a resource's policies wait, once armed, until released: the
/// window between a grant's assessment and the storing of its RPT, held open.
#[derive(Default)]
struct Paused {
    inner: MemoryStore,
    armed: std::sync::atomic::AtomicBool,
    reading: Notify,
    release: Notify,
}

#[async_trait]
impl Store for Paused {
    async fn policies_for(&self, resource_id: &str) -> Result<Vec<Policy>, StoreError> {
        let policies = self.inner.policies_for(resource_id).await?;
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.reading.notify_one();
            self.release.notified().await;
        }
        Ok(policies)
    }
    async fn put_resource(&self, resource: Resource) -> Result<(), StoreError> {
        self.inner.put_resource(resource).await
    }
    async fn resource(&self, id: &str) -> Result<Option<Resource>, StoreError> {
        self.inner.resource(id).await
    }
    async fn delete_resource(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_resource(id).await
    }
    async fn resources(
        &self,
        resource_server: &str,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        self.inner
            .resources(resource_server, owner, after, limit)
            .await
    }
    async fn resources_named(
        &self,
        resource_server: &str,
        name: &str,
    ) -> Result<Vec<Resource>, StoreError> {
        self.inner.resources_named(resource_server, name).await
    }
    async fn resources_of(
        &self,
        owner: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        self.inner.resources_of(owner, after, limit).await
    }
    async fn policies_naming(
        &self,
        user: &str,
        groups: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Policy>, StoreError> {
        self.inner.policies_naming(user, groups, after, limit).await
    }
    async fn put_policy(&self, policy: Policy) -> Result<(), StoreError> {
        self.inner.put_policy(policy).await
    }
    async fn policy(&self, id: &str) -> Result<Option<Policy>, StoreError> {
        self.inner.policy(id).await
    }
    async fn delete_policy(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_policy(id).await
    }
    async fn put_ticket(&self, hash: TokenHash, ticket: Ticket) -> Result<(), StoreError> {
        self.inner.put_ticket(hash, ticket).await
    }
    async fn take_ticket(&self, hash: &TokenHash) -> Result<Option<Ticket>, StoreError> {
        self.inner.take_ticket(hash).await
    }
    async fn ticket(&self, hash: &TokenHash) -> Result<Option<Ticket>, StoreError> {
        self.inner.ticket(hash).await
    }
    async fn put_token(&self, hash: TokenHash, token: TokenRecord) -> Result<(), StoreError> {
        self.inner.put_token(hash, token).await
    }
    async fn put_rpt(
        &self,
        rpt: (TokenHash, TokenRecord),
        refresh: Option<(TokenHash, TokenRecord)>,
        decision: Option<Decision>,
        ticket: Option<&TokenHash>,
    ) -> Result<RptStored, StoreError> {
        self.inner.put_rpt(rpt, refresh, decision, ticket).await
    }
    async fn stored_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.stored_token(hash).await
    }
    async fn delete_token(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        self.inner.delete_token(hash).await
    }
    async fn put_request_if_absent(
        &self,
        request: PendingRequest,
    ) -> Result<PendingRequest, StoreError> {
        self.inner.put_request_if_absent(request).await
    }
    async fn decide_request(&self, request: PendingRequest) -> Result<bool, StoreError> {
        self.inner.decide_request(request).await
    }
    async fn request(&self, id: &str) -> Result<Option<PendingRequest>, StoreError> {
        self.inner.request(id).await
    }
    async fn requests_of(&self, owner: &str) -> Result<Vec<PendingRequest>, StoreError> {
        self.inner.requests_of(owner).await
    }
    async fn put_decision(&self, decision: Decision) -> Result<(), StoreError> {
        self.inner.put_decision(decision).await
    }
    async fn decisions_of(
        &self,
        owner: &str,
        resource: Option<&str>,
        from: Option<DecisionCursor>,
        limit: usize,
    ) -> Result<Vec<Decision>, StoreError> {
        self.inner.decisions_of(owner, resource, from, limit).await
    }
    async fn purge(&self, now: u64, kept_since: u64, batch: usize) -> Result<u64, StoreError> {
        self.inner.purge(now, kept_since, batch).await
    }
    async fn put_signing_key(&self, key: SigningKey) -> Result<(), StoreError> {
        self.inner.put_signing_key(key).await
    }
    async fn add_signing_key(&self, key: SigningKey, after: u64) -> Result<bool, StoreError> {
        self.inner.add_signing_key(key, after).await
    }
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        self.inner.signing_keys().await
    }
    async fn delete_signing_keys(&self, kids: &[String]) -> Result<u64, StoreError> {
        self.inner.delete_signing_keys(kids).await
    }
}

#[tokio::test]
async fn a_policy_deleted_during_an_assessment_leaves_no_live_rpt() {
    let store = Arc::new(Paused::default());
    let Shared {
        server,
        policy,
        ticket,
        bob,
        protection,
    } = shared(|b| b.store(Arc::clone(&store) as Arc<dyn Store>)).await;

    // Bob's grant reads the policy, and waits; Alice deletes it meanwhile; the grant goes on.
    store.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let reading = store.reading.notified();
    let issuer = server.issuer().to_owned();
    let granting =
        tokio::spawn(async move { bob.redeem(&issuer, &UmaGrantRequest::new(ticket)).await });
    reading.await;
    let deleted = reqwest::Client::new()
        .delete(format!("{}/policy/{policy}", server.issuer()))
        .bearer_auth(
            server
                .owner_token("alice", CLIENT_ID)
                .await
                .unwrap()
                .as_str(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    store.release.notify_one();

    match granting.await.unwrap() {
        // Either no RPT at all...
        Err(error) if error.is_request_denied() => {}
        // ...or none that is alive.
        Ok(token) => {
            let introspected = protection.introspect(&token.rpt()).await.unwrap();
            assert!(!introspected.active, "an RPT outlived its policy");
        }
        Err(other) => panic!("{other}"),
    }
}

/// Two redemptions of one ticket, held apart (TM-5): bob's reads the ticket and waits before
/// weighing it; carol's redeems it meanwhile and is refused, her request put to the owner; then
/// bob's goes on, finds the ticket spent and answers `invalid_grant` — and puts nothing to the
/// owner, because a refusal spends its ticket before its side effects.
#[tokio::test]
async fn a_ticket_spent_meanwhile_gives_a_waiting_refusal_no_side_effects() {
    let store = Arc::new(Paused::default());
    let server = AuthorizationServer::builder()
        .client(ClientConfig::new(RS_ID, RS_SECRET))
        .client(ClientConfig::new(CLIENT_ID, CLIENT_SECRET))
        .user("alice")
        .user("bob")
        .user("carol")
        .store(Arc::clone(&store) as Arc<dyn Store>)
        .spawn()
        .await
        .unwrap();
    let protection = ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new(RS_ID, RS_SECRET))
        .build()
        .unwrap();
    let resource = protection
        .create_resource(
            &ResourceDescription::new(["view"])
                .owner("alice")
                .owner_managed_access(true),
        )
        .await
        .unwrap();
    let ticket = protection
        .request_permissions(vec![uma_client::PermissionRequest::new(resource, ["view"])])
        .await
        .unwrap();
    let token_url = format!("{}/token", server.issuer());
    let redeem = |bearer: &str| {
        reqwest::Client::new()
            .post(&token_url)
            .bearer_auth(bearer)
            .form(&[
                ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
                ("ticket", ticket.as_str()),
            ])
    };
    let bob = server.access_token("bob", CLIENT_ID).await.unwrap();
    let carol = server.access_token("carol", CLIENT_ID).await.unwrap();

    store.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let reading = store.reading.notified();
    let waiting = tokio::spawn(redeem(bob.as_str()).send());
    reading.await;
    let carols = redeem(carol.as_str()).send().await.unwrap();
    assert_eq!(carols.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        carols.json::<Value>().await.unwrap()["error"],
        "request_submitted"
    );
    store.release.notify_one();
    let bobs = waiting.await.unwrap().unwrap();
    assert_eq!(bobs.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bobs.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let asked = store.inner.requests_of("alice").await.unwrap();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].party, "carol");
}
