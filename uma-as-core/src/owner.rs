//! Owner-managed access: requests no policy grants are put to the resource owner, who approves
//! (which makes a policy) or denies them through the owner API at `{issuer}/requests`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use uma_types::ErrorCode;

use crate::error::ApiError;
use crate::policy::Owner;
use crate::request::OptionalJsonBody;
use crate::secret;
use crate::server::Registry;
use crate::store::{PendingRequest, Policy, RequestStatus, Resource, Store, StoreError};
use crate::time::now;

/// Puts the request for each resource to its owner, coalescing with the same request asked
/// before. `true` while any is undecided; `false` once one was denied (or approved for fewer
/// scopes than asked, which did not grant it).
pub(crate) async fn submit(
    store: &dyn Store,
    ungranted: &[(&Resource, &BTreeSet<String>)],
    party: &str,
    client_id: &str,
) -> Result<bool, StoreError> {
    let mut pending = false;
    for (resource, scopes) in ungranted {
        let request = store
            .put_request_if_absent(PendingRequest {
                id: secret::new_id(),
                owner: resource.owner.clone(),
                resource_id: resource.id.clone(),
                party: party.to_owned(),
                client_id: client_id.to_owned(),
                scopes: scopes.iter().cloned().collect(),
                status: RequestStatus::Pending,
                created_at: now(),
            })
            .await?;
        match request.status {
            RequestStatus::Pending => pending = true,
            RequestStatus::Approved | RequestStatus::Denied => return Ok(false),
        }
    }
    Ok(pending)
}

/// Who asks: a person through a client, or a client acting for itself (no person), which the
/// owner must be able to tell apart before approving (TM-12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PartyType {
    User,
    Client,
}

/// A request as the owner API shows it.
#[derive(Debug, Serialize)]
pub(crate) struct RequestView {
    id: String,
    resource_id: String,
    party: String,
    party_type: PartyType,
    /// Who asks, in words: "bob through doctor-app", "the client doctor-app, for itself".
    requested_by: String,
    client_id: String,
    scopes: Vec<String>,
    status: RequestStatus,
    created_at: u64,
}

impl RequestView {
    fn new(registry: &Registry, r: PendingRequest) -> Self {
        let party_type = party_type(registry, &r);
        let requested_by = requested_by(registry, &r);
        Self {
            id: r.id,
            resource_id: r.resource_id,
            party: r.party,
            party_type,
            requested_by,
            client_id: r.client_id,
            scopes: r.scopes,
            status: r.status,
            created_at: r.created_at,
        }
    }
}

pub(crate) async fn list(
    State(store): State<Arc<dyn Store>>,
    State(registry): State<Arc<Registry>>,
    owner: Owner,
) -> Result<Json<Vec<RequestView>>, ApiError> {
    let requests = store.requests_of(owner.name()).await?;
    Ok(Json(
        requests
            .into_iter()
            .map(|r| RequestView::new(&registry, r))
            .collect(),
    ))
}

/// The owner's request `id`, or `404` (another owner's request looks the same as none).
pub(crate) async fn owned(
    store: &dyn Store,
    owner: &str,
    id: &str,
) -> Result<PendingRequest, ApiError> {
    store
        .request(id)
        .await?
        .filter(|r| r.owner == owner)
        .ok_or_else(|| ApiError::not_found("no such request to you"))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Approval {
    #[serde(default)]
    scopes: Option<Vec<String>>,
}

/// What an approval answers: the request and the policy it made.
#[derive(Debug, Serialize)]
pub(crate) struct Approved {
    request: RequestView,
    policy_id: String,
}

/// Who asks, in words: "bob through doctor-app", "the client doctor-app, for itself".
pub(crate) fn requested_by(registry: &Registry, r: &PendingRequest) -> String {
    match party_type(registry, r) {
        PartyType::User => format!("{} through {}", r.party, r.client_id),
        PartyType::Client => format!("the client {}, for itself", r.client_id),
    }
}

fn party_type(registry: &Registry, request: &PendingRequest) -> PartyType {
    if registry.is_user(&request.party) {
        PartyType::User
    } else {
        PartyType::Client
    }
}

/// Approves a request, for all its scopes or (with `{"scopes": [...]}`) some of them: a policy
/// then grants them to exactly the party that asked, through exactly the client it asked
/// through (TM-12), so that its later requests pass without asking. A person's approval names
/// the person and the client; a client's (acting for itself) names the client as the party, so
/// that it never extends to the people who use that client.
pub(crate) async fn approve(
    State(store): State<Arc<dyn Store>>,
    State(registry): State<Arc<Registry>>,
    owner: Owner,
    Path(id): Path<String>,
    OptionalJsonBody(approval): OptionalJsonBody<Approval>,
) -> Result<Json<Approved>, ApiError> {
    let scopes = approval.unwrap_or_default().scopes;
    let (request, policy_id) = approve_request(&*store, owner.name(), &id, scopes).await?;
    Ok(Json(Approved {
        request: RequestView::new(&registry, request),
        policy_id,
    }))
}

/// Approves the owner's request `id` for `scopes` (all it asked when `None`): the request
/// approved, and the id of the policy made.
pub(crate) async fn approve_request(
    store: &dyn Store,
    owner: &str,
    id: &str,
    scopes: Option<Vec<String>>,
) -> Result<(PendingRequest, String), ApiError> {
    let mut request = owned(store, owner, id).await?;
    if request.status != RequestStatus::Pending {
        return Err(answered_already());
    }
    let scopes = scopes.unwrap_or_else(|| request.scopes.clone());
    if let Some(extra) = scopes.iter().find(|s| !request.scopes.contains(s)) {
        return Err(ApiError::invalid_scope(format!(
            "scope {extra:?} was not asked for"
        )));
    }
    let policy = Policy {
        id: secret::new_id(),
        resource_id: request.resource_id.clone(),
        owner: request.owner.clone(),
        name: Some(format!("approved request {}", request.id)),
        scopes,
        users: vec![request.party.clone()],
        clients: vec![request.client_id.clone()],
        created_at: Some(now()),
        ..Policy::default()
    };
    let policy_id = policy.id.clone();
    // The policy first, so that an approval that counts always has its policy; if another
    // answer came first, the policy goes again.
    store.put_policy(policy).await?;
    request.status = RequestStatus::Approved;
    if !store.decide_request(request.clone()).await? {
        store.delete_policy(&policy_id).await?;
        return Err(answered_already());
    }
    Ok((request, policy_id))
}

/// `409` for an answer to a request that has been answered.
fn answered_already() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::InvalidRequest,
        "the request has been answered already",
    )
}

pub(crate) async fn deny(
    State(store): State<Arc<dyn Store>>,
    State(registry): State<Arc<Registry>>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<Json<RequestView>, ApiError> {
    let request = deny_request(&*store, owner.name(), &id).await?;
    Ok(Json(RequestView::new(&registry, request)))
}

/// Denies the owner's request `id`.
pub(crate) async fn deny_request(
    store: &dyn Store,
    owner: &str,
    id: &str,
) -> Result<PendingRequest, ApiError> {
    let mut request = owned(store, owner, id).await?;
    if request.status != RequestStatus::Pending {
        return Err(answered_already());
    }
    request.status = RequestStatus::Denied;
    if !store.decide_request(request.clone()).await? {
        return Err(answered_already());
    }
    Ok(request)
}
