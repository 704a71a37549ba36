//! The owners' policy API at `policy_endpoint` (the shape of Keycloak's uma-policy API), called
//! with the owner's own token for it (scope `uma_protection`, see [`Owner`]). A change takes effect for the next token request.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::request::{JsonBody, live_bearer_token};
use crate::secret;
use crate::server::{AppState, REALM, is_pat};
use crate::store::{Policy, Store};

/// A policy as the owner writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyInput {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    pub(crate) scopes: Vec<String>,
    #[serde(default)]
    pub(crate) users: Vec<String>,
    #[serde(default)]
    pub(crate) groups: Vec<String>,
    #[serde(default)]
    pub(crate) clients: Vec<String>,
    #[serde(default)]
    pub(crate) claims: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) not_before: Option<u64>,
    #[serde(default)]
    pub(crate) not_after: Option<u64>,
}

/// A policy as the API answers it.
#[derive(Debug, Serialize)]
pub(crate) struct PolicyOutput {
    id: String,
    resource: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    scopes: Vec<String>,
    users: Vec<String>,
    groups: Vec<String>,
    clients: Vec<String>,
    claims: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_before: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_after: Option<u64>,
}

impl From<Policy> for PolicyOutput {
    fn from(p: Policy) -> Self {
        Self {
            id: p.id,
            resource: p.resource_id,
            name: p.name,
            description: p.description,
            scopes: p.scopes,
            users: p.users,
            groups: p.groups,
            clients: p.clients,
            claims: p.claims,
            not_before: p.not_before,
            not_after: p.not_after,
        }
    }
}

/// The resource owner calling the owner API (policies, pending requests, decisions): the user
/// of a live access token carrying `uma_protection`, which she obtained herself through the
/// authorization code or password grant (Keycloak's owner-PAT convention, TM-10). A token got
/// only to know who she is, to act as a requesting party, or a client's own PAT, is refused.
#[derive(Debug)]
pub(crate) struct Owner(String);

impl Owner {
    pub(crate) fn name(&self) -> &str {
        &self.0
    }
}

impl FromRequestParts<AppState> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let record = live_bearer_token(&parts.headers, &*state.store).await?;
        let is_owner_token = is_pat(&record)
            && record.subject != record.client_id
            && state.registry.is_user(&record.subject);
        if is_owner_token {
            Ok(Self(record.subject))
        } else {
            Err(ApiError::insufficient_scope(
                REALM,
                uma_types::UMA_PROTECTION_SCOPE,
            ))
        }
    }
}

/// Checks a policy against its resource, which `owner` must own; fills a [`Policy`].
async fn build(
    store: &dyn Store,
    owner: &str,
    resource_id: &str,
    (id, revision, created_at): (String, u64, Option<u64>),
    input: PolicyInput,
) -> Result<Policy, ApiError> {
    let resource = store
        .resource(resource_id)
        .await?
        .filter(|r| r.owner == owner)
        .ok_or_else(|| ApiError::not_found("no such resource of yours"))?;
    if input.scopes.is_empty() {
        return Err(ApiError::invalid_request(
            "a policy grants at least one scope",
        ));
    }
    if let Some(scope) = input.scopes.iter().find(|s| {
        !resource
            .description
            .resource_scopes
            .iter()
            .any(|r| r == s.as_str())
    }) {
        return Err(ApiError::invalid_scope(format!(
            "scope {scope:?} is not registered for the resource"
        )));
    }
    if input.users.is_empty()
        && input.groups.is_empty()
        && input.clients.is_empty()
        && input.claims.is_empty()
    {
        // Grant §5.6: an empty condition must not mean "everyone".
        return Err(ApiError::invalid_request(
            "a policy names at least one of users, groups, clients or claims",
        ));
    }
    if let (Some(from), Some(to)) = (input.not_before, input.not_after) {
        if from > to {
            return Err(ApiError::invalid_request("not_before is after not_after"));
        }
    }
    Ok(Policy {
        id,
        resource_id: resource.id,
        owner: owner.to_owned(),
        name: input.name,
        description: input.description,
        scopes: input.scopes,
        users: input.users,
        groups: input.groups,
        clients: input.clients,
        claims: input.claims,
        not_before: input.not_before,
        not_after: input.not_after,
        revision,
        created_at,
    })
}

/// The owner's policy with this id, or `404`.
pub(crate) async fn owned(store: &dyn Store, owner: &str, id: &str) -> Result<Policy, ApiError> {
    store
        .policy(id)
        .await?
        .filter(|p| p.owner == owner)
        .ok_or_else(|| ApiError::not_found("no such policy of yours"))
}

pub(crate) async fn create(
    State(store): State<Arc<dyn Store>>,
    owner: Owner,
    Path(resource_id): Path<String>,
    JsonBody(input): JsonBody<PolicyInput>,
) -> Result<(StatusCode, Json<PolicyOutput>), ApiError> {
    let policy = add(&*store, owner.name(), &resource_id, input).await?;
    Ok((StatusCode::CREATED, Json(policy.into())))
}

/// Makes and stores a new policy of `owner` on her resource.
pub(crate) async fn add(
    store: &dyn Store,
    owner: &str,
    resource_id: &str,
    input: PolicyInput,
) -> Result<Policy, ApiError> {
    let made = (secret::new_id(), 0, Some(crate::time::now()));
    let policy = build(store, owner, resource_id, made, input).await?;
    store.put_policy(policy.clone()).await?;
    Ok(policy)
}

/// Replaces a policy with a new revision of it: RPTs being issued on the old terms are refused
/// when stored, and those issued on them are revoked (TM-13; see [`revoke`]).
pub(crate) async fn replace(
    store: &dyn Store,
    existing: Policy,
    input: PolicyInput,
) -> Result<Policy, ApiError> {
    let revision = existing.revision.saturating_add(1);
    let kept = (existing.id, revision, existing.created_at);
    let policy = build(store, &existing.owner, &existing.resource_id, kept, input).await?;
    store.put_policy(policy.clone()).await?;
    Ok(policy)
}

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    resource: String,
}

pub(crate) async fn list(
    State(store): State<Arc<dyn Store>>,
    owner: Owner,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<PolicyOutput>>, ApiError> {
    let Query(query) =
        query.map_err(|_| ApiError::invalid_request("the query parameter resource is required"))?;
    let resource = store
        .resource(&query.resource)
        .await?
        .filter(|r| r.owner == owner.0)
        .ok_or_else(|| ApiError::not_found("no such resource of yours"))?;
    let mut policies = store.policies_for(&resource.id).await?;
    policies.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Json(policies.into_iter().map(Into::into).collect()))
}

pub(crate) async fn read(
    State(store): State<Arc<dyn Store>>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<Json<PolicyOutput>, ApiError> {
    Ok(Json(owned(&*store, owner.name(), &id).await?.into()))
}

pub(crate) async fn update(
    State(store): State<Arc<dyn Store>>,
    owner: Owner,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<PolicyInput>,
) -> Result<Json<PolicyOutput>, ApiError> {
    let existing = owned(&*store, owner.name(), &id).await?;
    Ok(Json(replace(&*store, existing, input).await?.into()))
}

pub(crate) async fn delete(
    State(store): State<Arc<dyn Store>>,
    owner: Owner,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    revoke(&*store, owner.name(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the owner's policy `id`, and with it what it granted; the policy that was.
///
/// What a changed or deleted policy granted is revoked as soon as the change is stored: the store
/// reads a token relying on it as absent ([`Store::token`]), so introspection reports its RPTs
/// inactive at once and the next request needs a new grant under the policy as it is now (Grant
/// §6.1). A JWT RPT checked offline stays usable until it expires (the RPT lifetime, 5 minutes by
/// default): that is the window.
pub(crate) async fn revoke(store: &dyn Store, owner: &str, id: &str) -> Result<Policy, ApiError> {
    let policy = owned(store, owner, id).await?;
    store.delete_policy(id).await?;
    Ok(policy)
}
