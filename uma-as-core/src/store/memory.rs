//! The in-memory store, for tests and embedding.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use super::{
    Decision, DecisionCursor, PendingRequest, Policy, RequestStatus, Resource, RptStored,
    SigningKey, Store, StoreError, Ticket, TokenRecord,
};
use crate::secret::TokenHash;

/// Keeps everything in this process's memory; gone when it exits.
///
/// The server's maintenance task purges what has expired, so memory stays bounded by what is
/// live.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    resources: HashMap<String, Resource>,
    policies: HashMap<String, Policy>,
    // Policy ids by resource id: a grant reads only the policies of the resources in its ticket.
    policies_by_resource: HashMap<String, Vec<String>>,
    tickets: HashMap<TokenHash, Ticket>,
    tokens: HashMap<TokenHash, TokenRecord>,
    signing_keys: Vec<SigningKey>,
    requests: Vec<PendingRequest>,
    decisions: std::collections::VecDeque<Decision>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every critical section below is a single map operation, so a panic elsewhere cannot
        // leave the state half-updated; keep serving after poisoning.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn put_resource(&self, resource: Resource) -> Result<(), StoreError> {
        self.lock().resources.insert(resource.id.clone(), resource);
        Ok(())
    }

    async fn resource(&self, id: &str) -> Result<Option<Resource>, StoreError> {
        Ok(self.lock().resources.get(id).cloned())
    }

    async fn delete_resource(&self, id: &str) -> Result<bool, StoreError> {
        let mut state = self.lock();
        for policy in state.policies_by_resource.remove(id).unwrap_or_default() {
            state.policies.remove(&policy);
        }
        Ok(state.resources.remove(id).is_some())
    }

    async fn resources(
        &self,
        resource_server: &str,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let state = self.lock();
        let mut resources: Vec<Resource> = state
            .resources
            .values()
            .filter(|r| r.resource_server == resource_server)
            .filter(|r| owner.is_none_or(|o| r.owner == o))
            .filter(|r| after.is_none_or(|a| r.id.as_str() > a))
            .cloned()
            .collect();
        resources.sort_by(|a, b| a.id.cmp(&b.id));
        resources.truncate(limit);
        Ok(resources)
    }

    async fn resources_named(
        &self,
        resource_server: &str,
        name: &str,
    ) -> Result<Vec<Resource>, StoreError> {
        let state = self.lock();
        let mut named: Vec<Resource> = state
            .resources
            .values()
            .filter(|r| r.resource_server == resource_server)
            .filter(|r| r.description.name.as_deref() == Some(name))
            .cloned()
            .collect();
        named.sort_by(|a, b| a.id.cmp(&b.id));
        named.truncate(2);
        Ok(named)
    }

    async fn resources_of(
        &self,
        owner: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let state = self.lock();
        let key = |r: &Resource| (r.resource_server.clone(), r.id.clone());
        let mut resources: Vec<Resource> = state
            .resources
            .values()
            .filter(|r| r.owner == owner)
            .filter(|r| {
                after.is_none_or(|(s, id)| (r.resource_server.as_str(), r.id.as_str()) > (s, id))
            })
            .cloned()
            .collect();
        resources.sort_by_key(key);
        resources.truncate(limit);
        Ok(resources)
    }

    async fn put_policy(&self, policy: Policy) -> Result<(), StoreError> {
        let mut state = self.lock();
        if !state.policies.contains_key(&policy.id) {
            state
                .policies_by_resource
                .entry(policy.resource_id.clone())
                .or_default()
                .push(policy.id.clone());
        }
        state.policies.insert(policy.id.clone(), policy);
        Ok(())
    }

    async fn policy(&self, id: &str) -> Result<Option<Policy>, StoreError> {
        Ok(self.lock().policies.get(id).cloned())
    }

    async fn delete_policy(&self, id: &str) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(policy) = state.policies.remove(id) else {
            return Ok(false);
        };
        if let Some(ids) = state.policies_by_resource.get_mut(&policy.resource_id) {
            ids.retain(|p| p != id);
        }
        Ok(true)
    }

    async fn policies_for(&self, resource_id: &str) -> Result<Vec<Policy>, StoreError> {
        let state = self.lock();
        Ok(state
            .policies_by_resource
            .get(resource_id)
            .into_iter()
            .flatten()
            .filter_map(|id| state.policies.get(id).cloned())
            .collect())
    }

    async fn policies_naming(
        &self,
        user: &str,
        groups: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Policy>, StoreError> {
        let state = self.lock();
        let mut policies: Vec<Policy> = state
            .policies
            .values()
            .filter(|p| p.owner != user && after.is_none_or(|a| p.id.as_str() > a))
            .filter(|p| {
                p.users.iter().any(|u| u == user) || p.groups.iter().any(|g| groups.contains(g))
            })
            .cloned()
            .collect();
        policies.sort_by(|a, b| a.id.cmp(&b.id));
        policies.truncate(limit);
        Ok(policies)
    }

    async fn put_ticket(&self, hash: TokenHash, ticket: Ticket) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.tickets.insert(hash, ticket);
        Ok(())
    }

    async fn take_ticket(&self, hash: &TokenHash) -> Result<Option<Ticket>, StoreError> {
        Ok(self.lock().tickets.remove(hash))
    }

    async fn ticket(&self, hash: &TokenHash) -> Result<Option<Ticket>, StoreError> {
        Ok(self.lock().tickets.get(hash).cloned())
    }

    async fn put_token(&self, hash: TokenHash, token: TokenRecord) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.tokens.insert(hash, token);
        Ok(())
    }

    async fn put_rpt(
        &self,
        rpt: (TokenHash, TokenRecord),
        refresh: Option<(TokenHash, TokenRecord)>,
        decision: Option<Decision>,
        ticket: Option<&TokenHash>,
    ) -> Result<RptStored, StoreError> {
        let mut state = self.lock();
        let unchanged = rpt.1.kind.policies().iter().all(|relied| {
            state
                .policies
                .get(&relied.id)
                .is_some_and(|p| p.revision == relied.revision)
        });
        if !unchanged {
            return Ok(RptStored::PolicyChanged);
        }
        if ticket.is_some_and(|t| state.tickets.remove(t).is_none()) {
            return Ok(RptStored::TicketSpent);
        }
        state.tokens.insert(rpt.0, rpt.1);
        if let Some((hash, record)) = refresh {
            state.tokens.insert(hash, record);
        }
        if let Some(decision) = decision {
            state.decisions.push_back(decision);
        }
        Ok(RptStored::Stored)
    }

    async fn stored_token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        Ok(self.lock().tokens.get(hash).cloned())
    }

    async fn delete_token(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(self.lock().tokens.remove(hash).is_some())
    }

    async fn put_request_if_absent(
        &self,
        request: PendingRequest,
    ) -> Result<PendingRequest, StoreError> {
        let mut state = self.lock();
        let same = |r: &&PendingRequest| {
            r.resource_id == request.resource_id
                && r.party == request.party
                && r.client_id == request.client_id
                && r.scopes == request.scopes
        };
        if let Some(existing) = state.requests.iter().find(same) {
            return Ok(existing.clone());
        }
        state.requests.push(request.clone());
        Ok(request)
    }

    async fn decide_request(&self, request: PendingRequest) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let pending = state
            .requests
            .iter_mut()
            .find(|r| r.id == request.id && r.status == RequestStatus::Pending);
        Ok(pending.map(|existing| *existing = request).is_some())
    }

    async fn request(&self, id: &str) -> Result<Option<PendingRequest>, StoreError> {
        Ok(self.lock().requests.iter().find(|r| r.id == id).cloned())
    }

    async fn requests_of(&self, owner: &str) -> Result<Vec<PendingRequest>, StoreError> {
        Ok(self
            .lock()
            .requests
            .iter()
            .filter(|r| r.owner == owner)
            .cloned()
            .collect())
    }

    async fn put_decision(&self, decision: Decision) -> Result<(), StoreError> {
        self.lock().decisions.push_back(decision);
        Ok(())
    }

    async fn decisions_of(
        &self,
        owner: &str,
        resource: Option<&str>,
        from: Option<DecisionCursor>,
        limit: usize,
    ) -> Result<Vec<Decision>, StoreError> {
        let skip = from.map_or(0, |f| usize::try_from(f.skip).unwrap_or(usize::MAX));
        Ok(self
            .lock()
            .decisions
            .iter()
            .rev()
            .filter(|d| d.owner == owner)
            .filter(|d| resource.is_none_or(|r| d.requested.iter().any(|p| p.resource_id == r)))
            .filter(|d| from.is_none_or(|f| d.at <= f.at))
            .skip(skip)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn purge(&self, now: u64, kept_since: u64, batch: usize) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let tickets: Vec<TokenHash> = state
            .tickets
            .iter()
            .filter(|(_, t)| t.expires_at <= now)
            .map(|(hash, _)| *hash)
            .take(batch)
            .collect();
        let tokens: Vec<TokenHash> = state
            .tokens
            .iter()
            .filter(|(_, t)| t.expires_at <= now)
            .map(|(hash, _)| *hash)
            .take(batch)
            .collect();
        let mut purged = tickets.len() + tokens.len();
        for hash in &tickets {
            state.tickets.remove(hash);
        }
        for hash in &tokens {
            state.tokens.remove(hash);
        }
        // Decisions arrive in time order: the old ones are at the front.
        let mut decisions = 0;
        while decisions < batch && state.decisions.front().is_some_and(|d| d.at < kept_since) {
            state.decisions.pop_front();
            decisions += 1;
        }
        purged += decisions;
        let requests = state.requests.len();
        let mut left = batch;
        state.requests.retain(|r| {
            let old = r.created_at < kept_since && left > 0;
            left -= usize::from(old);
            !old
        });
        purged += requests - state.requests.len();
        Ok(purged as u64)
    }

    async fn put_signing_key(&self, key: SigningKey) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.signing_keys.retain(|k| k.kid != key.kid);
        state.signing_keys.push(key);
        Ok(())
    }

    async fn add_signing_key(
        &self,
        key: SigningKey,
        unless_made_after: u64,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock();
        if state
            .signing_keys
            .iter()
            .any(|k| k.created_at > unless_made_after)
        {
            return Ok(false);
        }
        state.signing_keys.push(key);
        Ok(true)
    }

    async fn delete_signing_keys(&self, kids: &[String]) -> Result<u64, StoreError> {
        let mut state = self.lock();
        let before = state.signing_keys.len();
        state.signing_keys.retain(|k| !kids.contains(&k.kid));
        Ok((before - state.signing_keys.len()) as u64)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        Ok(self.lock().signing_keys.clone())
    }
}
