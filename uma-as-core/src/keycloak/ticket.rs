//! Keycloak's permission ticket API at `authz/protection/permission/ticket`: what has been asked
//! of owners and what they granted, one ticket per resource, scope and requester.
//!
//! There is no ticket table here: a ticket is a view of what the server keeps anyway. A scope of
//! a pending owner-approval request is a ticket not granted (`q:{request}:{scope}`); a scope of
//! an owner's share with one user (a policy naming that user and no group, claim or time) is a
//! granted one (`p:{policy}:{scope}`). Granting a pending ticket approves the request for that
//! scope; ungranting or deleting a granted one takes the scope out of the share; deleting a
//! pending one denies the request; creating a granted one shares the scope with the requester.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use super::policy::PolicyManager;
use crate::error::ApiError;
use crate::policy::PolicyInput;
use crate::request::{JsonBody, live_bearer_token};
use crate::server::{AppState, REALM, Registry, is_pat};
use crate::store::{PendingRequest, Policy, RequestStatus, Resource, Store};

/// Who asks: the resource server with its own PAT (every ticket on its resources), or a user
/// (the tickets she owns, and those granted to her).
pub(crate) enum TicketCaller {
    ResourceServer(String),
    User(PolicyManager),
}

impl FromRequestParts<AppState> for TicketCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let record = live_bearer_token(&parts.headers, &*state.store).await?;
        if is_pat(&record) && record.subject == record.client_id {
            return Ok(Self::ResourceServer(record.client_id));
        }
        PolicyManager::of(&state.registry, record)
            .map(Self::User)
            .ok_or_else(|| ApiError::insufficient_scope(REALM, uma_types::UMA_PROTECTION_SCOPE))
    }
}

impl TicketCaller {
    /// Whether the caller may answer for tickets on `resource`: its resource server or owner.
    fn answers_for(&self, resource: &Resource) -> bool {
        match self {
            Self::ResourceServer(rs) => *rs == resource.resource_server,
            Self::User(user) => {
                user.owner == resource.owner && user.reaches(&resource.resource_server)
            }
        }
    }
}

/// Keycloak's `PermissionTicketRepresentation`; ids of users and scopes are their names here.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TicketOut {
    id: String,
    owner: String,
    owner_name: String,
    resource: String,
    resource_name: Option<String>,
    scope: String,
    scope_name: String,
    requester: String,
    requester_name: String,
    granted: bool,
}

impl TicketOut {
    fn new(id: String, resource: &Resource, scope: &str, requester: &str, granted: bool) -> Self {
        Self {
            id,
            owner: resource.owner.clone(),
            owner_name: resource.owner.clone(),
            resource: resource.id.clone(),
            resource_name: resource.description.name.clone(),
            scope: scope.to_owned(),
            scope_name: scope.to_owned(),
            requester: requester.to_owned(),
            requester_name: requester.to_owned(),
            granted,
        }
    }
}

/// A policy that is a share with one user: the requester of its granted tickets.
fn shared_with(policy: &Policy) -> Option<&str> {
    let plain = policy.groups.is_empty()
        && policy.claims.is_empty()
        && policy.not_before.is_none()
        && policy.not_after.is_none();
    match policy.users.as_slice() {
        [user] if plain => Some(user),
        _ => None,
    }
}

/// The filters of `GET` and `GET /count` (Keycloak's names).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Filter {
    resource_id: Option<String>,
    scope_id: Option<String>,
    owner: Option<String>,
    requester: Option<String>,
    granted: Option<bool>,
    // `returnNames` is read as always true: the ids are names.
    #[serde(default)]
    first: usize,
    max: Option<usize>,
}

impl Filter {
    fn keeps(&self, ticket: &TicketOut) -> bool {
        let is =
            |wanted: &Option<String>, actual: &str| wanted.as_deref().is_none_or(|w| w == actual);
        is(&self.resource_id, &ticket.resource)
            && is(&self.scope_id, &ticket.scope)
            && is(&self.owner, &ticket.owner)
            && is(&self.requester, &ticket.requester)
            && self.granted.is_none_or(|g| g == ticket.granted)
    }
}

/// The most a count reaches.
const MAX_COUNT: usize = 10_000;
const BATCH: usize = 200;

/// The tickets the caller may see that the filter keeps, up to `limit` of them: per resource in
/// order, the pending ones then the granted ones; then, for a user, those granted to her.
async fn tickets(
    store: &dyn Store,
    caller: &TicketCaller,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<TicketOut>, ApiError> {
    let mut out = Vec::new();
    let mut pending: BTreeMap<String, Vec<PendingRequest>> = BTreeMap::new();
    match caller {
        TicketCaller::ResourceServer(rs) => {
            let mut after: Option<String> = None;
            while out.len() < limit {
                let batch = store
                    .resources(rs, filter.owner.as_deref(), after.as_deref(), BATCH)
                    .await?;
                let exhausted = batch.len() < BATCH;
                after = batch.last().map(|r| r.id.clone());
                for resource in batch
                    .iter()
                    .filter(|r| filter.resource_id.as_ref().is_none_or(|id| *id == r.id))
                {
                    if !pending.contains_key(&resource.owner) {
                        let requests = open_requests(store, &resource.owner).await?;
                        pending.insert(resource.owner.clone(), requests);
                    }
                    let policies = store.policies_for(&resource.id).await?;
                    out.extend(on(resource, &policies, &pending[&resource.owner], filter));
                }
                if exhausted {
                    break;
                }
            }
        }
        TicketCaller::User(user) => {
            let requests = open_requests(store, &user.owner).await?;
            let mut after: Option<(String, String)> = None;
            while out.len() < limit {
                let cursor = after.as_ref().map(|(rs, id)| (rs.as_str(), id.as_str()));
                let batch = store.resources_of(&user.owner, cursor, BATCH).await?;
                let exhausted = batch.len() < BATCH;
                after = batch
                    .last()
                    .map(|r| (r.resource_server.clone(), r.id.clone()));
                for resource in batch.iter().filter(|r| user.reaches(&r.resource_server)) {
                    let policies = store.policies_for(&resource.id).await?;
                    out.extend(on(resource, &policies, &requests, filter));
                }
                if exhausted {
                    break;
                }
            }
            // What others shared with her.
            let mut after: Option<String> = None;
            while out.len() < limit {
                let batch = store
                    .policies_naming(&user.owner, &[], after.as_deref(), BATCH)
                    .await?;
                let exhausted = batch.len() < BATCH;
                after = batch.last().map(|p| p.id.clone());
                for policy in batch
                    .into_iter()
                    .filter(|p| shared_with(p) == Some(user.owner.as_str()))
                {
                    if let Some(resource) = store.resource(&policy.resource_id).await? {
                        if user.reaches(&resource.resource_server) {
                            out.extend(on(&resource, &[policy], &[], filter));
                        }
                    }
                }
                if exhausted {
                    break;
                }
            }
        }
    }
    out.truncate(limit);
    Ok(out)
}

/// The tickets on `resource` the filter keeps: its pending requests' scopes, then its shares'.
fn on(
    resource: &Resource,
    policies: &[Policy],
    requests: &[PendingRequest],
    filter: &Filter,
) -> Vec<TicketOut> {
    let mut tickets = Vec::new();
    for request in requests.iter().filter(|r| r.resource_id == resource.id) {
        for scope in &request.scopes {
            let id = format!("q:{}:{scope}", request.id);
            tickets.push(TicketOut::new(id, resource, scope, &request.party, false));
        }
    }
    for policy in policies {
        if let Some(user) = shared_with(policy) {
            for scope in &policy.scopes {
                let id = format!("p:{}:{scope}", policy.id);
                tickets.push(TicketOut::new(id, resource, scope, user, true));
            }
        }
    }
    tickets.retain(|t| filter.keeps(t));
    tickets
}

async fn open_requests(store: &dyn Store, owner: &str) -> Result<Vec<PendingRequest>, ApiError> {
    let mut requests = store.requests_of(owner).await?;
    requests.retain(|r| r.status == RequestStatus::Pending);
    Ok(requests)
}

pub(crate) async fn find(
    State(store): State<Arc<dyn Store>>,
    caller: TicketCaller,
    query: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<TicketOut>>, ApiError> {
    let Query(filter) =
        query.map_err(|e| ApiError::invalid_request(format!("bad ticket query: {e}")))?;
    let max = crate::request::page_size(filter.max);
    let found = tickets(&*store, &caller, &filter, filter.first.saturating_add(max)).await?;
    Ok(Json(
        found.into_iter().skip(filter.first).take(max).collect(),
    ))
}

/// `GET /count`: how many tickets the filter keeps (counted up to 10,000).
pub(crate) async fn count(
    State(store): State<Arc<dyn Store>>,
    caller: TicketCaller,
    query: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<usize>, ApiError> {
    let Query(filter) =
        query.map_err(|e| ApiError::invalid_request(format!("bad ticket query: {e}")))?;
    Ok(Json(
        tickets(&*store, &caller, &filter, MAX_COUNT).await?.len(),
    ))
}

/// What a ticket id stands for.
enum TicketId {
    Pending { request: String, scope: String },
    Granted { policy: String, scope: String },
}

fn parse(id: &str) -> Result<TicketId, ApiError> {
    let invalid = || ApiError::invalid_request("invalid_ticket");
    let mut parts = id.splitn(3, ':');
    let (kind, of, scope) = (
        parts.next(),
        parts.next().ok_or_else(invalid)?,
        parts.next().ok_or_else(invalid)?,
    );
    let (of, scope) = (of.to_owned(), scope.to_owned());
    match kind {
        Some("q") => Ok(TicketId::Pending { request: of, scope }),
        Some("p") => Ok(TicketId::Granted { policy: of, scope }),
        _ => Err(invalid()),
    }
}

/// The resource a ticket is on, if the caller may answer for it; Keycloak's `invalid_ticket`
/// for one that does not exist, `403 not_authorised` for one the caller may not touch.
async fn resource_of(store: &dyn Store, resource_id: &str) -> Result<Resource, ApiError> {
    store
        .resource(resource_id)
        .await?
        .ok_or_else(|| ApiError::invalid_request("invalid_ticket"))
}

fn not_authorised() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        uma_types::ErrorCode::Other("not_authorised".to_owned()),
        "the ticket is answered for only by the resource's owner or resource server",
    )
}

async fn pending(
    store: &dyn Store,
    request: &str,
    scope: &str,
) -> Result<PendingRequest, ApiError> {
    store
        .request(request)
        .await?
        .filter(|r| r.status == RequestStatus::Pending && r.scopes.iter().any(|s| s == scope))
        .ok_or_else(|| ApiError::invalid_request("invalid_ticket"))
}

async fn share(store: &dyn Store, policy: &str, scope: &str) -> Result<Policy, ApiError> {
    store
        .policy(policy)
        .await?
        .filter(|p| shared_with(p).is_some() && p.scopes.iter().any(|s| s == scope))
        .ok_or_else(|| ApiError::invalid_request("invalid_ticket"))
}

/// Takes `scope` out of a share: the share goes with its last scope; either way what it granted
/// is withdrawn.
async fn unshare(store: &dyn Store, policy: Policy, scope: &str) -> Result<(), ApiError> {
    let scopes: Vec<String> = policy
        .scopes
        .iter()
        .filter(|s| *s != scope)
        .cloned()
        .collect();
    if scopes.is_empty() {
        crate::policy::revoke(store, &policy.owner, &policy.id).await?;
        return Ok(());
    }
    let input = PolicyInput {
        name: policy.name.clone(),
        description: policy.description.clone(),
        scopes,
        users: policy.users.clone(),
        groups: policy.groups.clone(),
        clients: policy.clients.clone(),
        claims: policy.claims.clone(),
        not_before: policy.not_before,
        not_after: policy.not_after,
    };
    crate::policy::replace(store, policy, input).await?;
    Ok(())
}

/// A ticket as `PUT` sends it: its id and whether it is granted.
#[derive(Debug, Deserialize)]
pub(crate) struct TicketUpdate {
    id: Option<String>,
    #[serde(default)]
    granted: bool,
}

/// `PUT`: granting a pending ticket approves its request for the scope; ungranting a granted
/// one takes the scope out of the share. `204`, as Keycloak answers.
pub(crate) async fn update(
    State(store): State<Arc<dyn Store>>,
    caller: TicketCaller,
    JsonBody(ticket): JsonBody<TicketUpdate>,
) -> Result<StatusCode, ApiError> {
    let id = ticket
        .id
        .ok_or_else(|| ApiError::invalid_request("invalid_ticket"))?;
    match parse(&id)? {
        TicketId::Pending { request, scope } => {
            let asked = pending(&*store, &request, &scope).await?;
            let resource = resource_of(&*store, &asked.resource_id).await?;
            if !caller.answers_for(&resource) {
                return Err(not_authorised());
            }
            if ticket.granted {
                crate::owner::approve_request(&*store, &asked.owner, &request, Some(vec![scope]))
                    .await?;
            }
        }
        TicketId::Granted { policy, scope } => {
            let shared = share(&*store, &policy, &scope).await?;
            let resource = resource_of(&*store, &shared.resource_id).await?;
            if !caller.answers_for(&resource) {
                return Err(not_authorised());
            }
            if !ticket.granted {
                unshare(&*store, shared, &scope).await?;
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /{id}`: a pending ticket's request is denied; a granted one's scope is taken out of
/// the share. By the owner or the resource server, or by the requester herself.
pub(crate) async fn delete(
    State(store): State<Arc<dyn Store>>,
    caller: TicketCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let is_requester = |party: &str| matches!(&caller, TicketCaller::User(u) if u.owner == party);
    match parse(&id)? {
        TicketId::Pending { request, scope } => {
            let asked = pending(&*store, &request, &scope).await?;
            let resource = resource_of(&*store, &asked.resource_id).await?;
            if !caller.answers_for(&resource) && !is_requester(&asked.party) {
                return Err(not_authorised());
            }
            crate::owner::deny_request(&*store, &asked.owner, &request).await?;
        }
        TicketId::Granted { policy, scope } => {
            let shared = share(&*store, &policy, &scope).await?;
            let resource = resource_of(&*store, &shared.resource_id).await?;
            let requester = shared_with(&shared).unwrap_or_default().to_owned();
            if !caller.answers_for(&resource) && !is_requester(&requester) {
                return Err(not_authorised());
            }
            unshare(&*store, shared, &scope).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// A ticket as `POST` sends it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewTicket {
    id: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
    scope_name: Option<String>,
    requester: Option<String>,
    requester_name: Option<String>,
    #[serde(default)]
    granted: bool,
}

fn invalid_permission(description: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        uma_types::ErrorCode::Other("invalid_permission".to_owned()),
        description,
    )
}

/// `POST`: the owner shares a scope of her owner-managed resource with a user, as a granted
/// ticket. A ticket not granted (a request made on someone's behalf) is not made here.
pub(crate) async fn create(
    State(store): State<Arc<dyn Store>>,
    State(registry): State<Arc<Registry>>,
    caller: TicketCaller,
    JsonBody(ticket): JsonBody<NewTicket>,
) -> Result<Json<TicketOut>, ApiError> {
    if ticket.id.is_some() {
        return Err(invalid_permission("created permissions should not have id"));
    }
    let resource_id = ticket
        .resource
        .ok_or_else(|| invalid_permission("created permissions should have resource"))?;
    let scope = ticket
        .scope_name
        .or(ticket.scope)
        .ok_or_else(|| invalid_permission("created permissions should have scope or scopeName"))?;
    let requester = ticket.requester_name.or(ticket.requester).ok_or_else(|| {
        invalid_permission("created permissions should have requester or requesterName")
    })?;
    let resource = store.resource(&resource_id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            uma_types::ErrorCode::Other("invalid_resource_id".to_owned()),
            format!("Resource set with id [{resource_id}] does not exists in this server."),
        )
    })?;
    let TicketCaller::User(owner) = &caller else {
        return Err(not_authorised());
    };
    if owner.owner != resource.owner || !owner.reaches(&resource.resource_server) {
        return Err(not_authorised());
    }
    if resource.description.owner_managed_access != Some(true) {
        return Err(invalid_permission(
            "permission can only be created for resources with user-managed access enabled",
        ));
    }
    if !ticket.granted {
        return Err(invalid_permission(
            "only granted permissions are created here: requests come from requesting parties",
        ));
    }
    if !registry.is_user(&requester) {
        return Err(invalid_permission(
            "Requester does not exists in this server as user.",
        ));
    }
    let existing = store.policies_for(&resource.id).await?;
    if existing
        .iter()
        .any(|p| shared_with(p) == Some(requester.as_str()) && p.scopes.contains(&scope))
    {
        return Err(invalid_permission("Permission already exists"));
    }
    let input = PolicyInput {
        name: Some(format!("shared with {requester}")),
        description: None,
        scopes: vec![scope.clone()],
        users: vec![requester.clone()],
        groups: Vec::new(),
        clients: Vec::new(),
        claims: Default::default(),
        not_before: None,
        not_after: None,
    };
    let policy = crate::policy::add(&*store, &resource.owner, &resource.id, input).await?;
    let id = format!("p:{}:{scope}", policy.id);
    Ok(Json(TicketOut::new(
        id, &resource, &scope, &requester, true,
    )))
}
