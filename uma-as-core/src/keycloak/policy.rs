//! Keycloak's UMA policy API at `authz/protection/uma-policy`: a resource server manages its
//! users' policies on their behalf, with the user's own token. The policies are the owners'
//! policies of this server (the console and the owner API show them), in Keycloak's
//! representation; what this server cannot evaluate (`roles`, a JavaScript `condition`,
//! `NEGATIVE` logic, an `AFFIRMATIVE` choice between kinds of grantee) is refused rather than
//! stored as something broader.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::policy::{self, PolicyInput};
use crate::request::{JsonBody, live_bearer_token};
use crate::server::{AppState, REALM, Registry, is_pat};
use crate::store::{Policy, Resource, Store, TokenKind, TokenRecord};

/// Who manages policies here: a user, through a token of her own. An owner token (scope
/// `uma_protection`) reaches all her resources; an ordinary access token of hers only those of
/// the resource server it was issued to, as Keycloak ties the API to the token's client.
pub(crate) struct PolicyManager {
    pub(super) owner: String,
    resource_server: Option<String>,
}

impl FromRequestParts<AppState> for PolicyManager {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let record = live_bearer_token(&parts.headers, &*state.store).await?;
        Self::of(&state.registry, record)
            .ok_or_else(|| ApiError::insufficient_scope(REALM, uma_types::UMA_PROTECTION_SCOPE))
    }
}

impl PolicyManager {
    /// The user a live token stands for, if it is a user's.
    pub(super) fn of(registry: &Registry, record: TokenRecord) -> Option<Self> {
        let a_users_token = matches!(record.kind, TokenKind::Access { .. })
            && record.subject != record.client_id
            && registry.is_user(&record.subject);
        a_users_token.then(|| Self {
            resource_server: (!is_pat(&record)).then_some(record.client_id),
            owner: record.subject,
        })
    }

    /// Whether the token reaches a resource of this resource server.
    pub(super) fn reaches(&self, resource_server: &str) -> bool {
        self.resource_server
            .as_deref()
            .is_none_or(|rs| rs == resource_server)
    }

    /// The resource, if this caller may manage its policies: Keycloak's `400 invalid_request`
    /// otherwise, the same for a resource that does not exist as for one of someone else.
    async fn resource(&self, store: &dyn Store, id: &str) -> Result<Resource, ApiError> {
        store
            .resource(id)
            .await?
            .filter(|r| r.owner == self.owner && self.reaches(&r.resource_server))
            .ok_or_else(|| {
                ApiError::invalid_request(format!(
                    "Resource [{id}] cannot be found among the resources you own here"
                ))
            })
    }

    /// The caller's policy `id`, on a resource it may manage; `404` otherwise.
    async fn policy(&self, store: &dyn Store, id: &str) -> Result<Policy, ApiError> {
        let policy = policy::owned(store, &self.owner, id).await?;
        self.resource(store, &policy.resource_id)
            .await
            .map_err(|_| ApiError::not_found(format!("Policy with [{id}] does not exist")))?;
        Ok(policy)
    }
}

/// Keycloak's `UmaPermissionRepresentation`, as sent.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UmaPermission {
    id: Option<String>,
    name: Option<String>,
    description: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    logic: Option<String>,
    decision_strategy: Option<String>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    clients: Vec<String>,
    #[serde(default)]
    roles: Vec<String>,
    condition: Option<String>,
    // `owner` and `resources`, sent back as read, are ignored: the token says whose policy it
    // is, and the path which policy or resource is meant.
}

impl UmaPermission {
    /// The owners' policy this asks for, or why this server cannot evaluate it.
    fn into_input(self, resource: &Resource) -> Result<PolicyInput, ApiError> {
        let unsupported = |what: &str| {
            ApiError::invalid_request(format!(
                "{what} is not supported: name users, groups or clients"
            ))
        };
        if !self.roles.is_empty() {
            return Err(unsupported("a policy on roles"));
        }
        if self
            .condition
            .as_deref()
            .is_some_and(|c| !c.trim().is_empty())
        {
            return Err(unsupported("a JavaScript condition"));
        }
        if self.kind.as_deref().is_some_and(|k| k != "uma") {
            return Err(ApiError::invalid_request("the type of a UMA policy is uma"));
        }
        if self.logic.as_deref().is_some_and(|l| l != "POSITIVE") {
            return Err(unsupported("NEGATIVE logic"));
        }
        let kinds = [&self.users, &self.groups, &self.clients]
            .iter()
            .filter(|named| !named.is_empty())
            .count();
        match self.decision_strategy.as_deref() {
            None | Some("UNANIMOUS") => {}
            Some("AFFIRMATIVE" | "CONSENSUS") if kinds <= 1 => {}
            Some(other) => {
                return Err(unsupported(&format!(
                    "decisionStrategy {other} across users, groups and clients"
                )));
            }
        }
        // Keycloak grants every scope of the resource when none is named.
        let scopes = if self.scopes.is_empty() {
            resource
                .description
                .resource_scopes
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect()
        } else {
            self.scopes
        };
        Ok(PolicyInput {
            name: self.name,
            description: self.description,
            scopes,
            users: self.users,
            // Keycloak names groups by path (`/doctors`); here a group is its name.
            groups: self
                .groups
                .into_iter()
                .map(|g| g.strip_prefix('/').map(str::to_owned).unwrap_or(g))
                .collect(),
            clients: self.clients,
            claims: Default::default(),
            not_before: None,
            not_after: None,
        })
    }
}

/// A policy in Keycloak's representation, as answered.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UmaPermissionOut {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    logic: &'static str,
    decision_strategy: &'static str,
    owner: String,
    resources: Vec<String>,
    scopes: Vec<String>,
    users: Vec<String>,
    groups: Vec<String>,
    clients: Vec<String>,
}

impl From<Policy> for UmaPermissionOut {
    fn from(p: Policy) -> Self {
        Self {
            id: p.id,
            name: p.name,
            description: p.description,
            kind: "uma",
            logic: "POSITIVE",
            decision_strategy: "UNANIMOUS",
            owner: p.owner,
            resources: vec![p.resource_id],
            scopes: p.scopes,
            users: p.users,
            groups: p.groups.into_iter().map(|g| format!("/{g}")).collect(),
            clients: p.clients,
        }
    }
}

/// `POST uma-policy/{resource_id}`: answered with the policy, as Keycloak answers it.
pub(crate) async fn create(
    State(store): State<Arc<dyn Store>>,
    manager: PolicyManager,
    Path(resource_id): Path<String>,
    JsonBody(asked): JsonBody<UmaPermission>,
) -> Result<Json<UmaPermissionOut>, ApiError> {
    if asked.id.is_some() {
        return Err(ApiError::invalid_request(
            "Newly created uma policies should not have an id",
        ));
    }
    let resource = manager.resource(&*store, &resource_id).await?;
    let input = asked.into_input(&resource)?;
    let policy = policy::add(&*store, &manager.owner, &resource.id, input).await?;
    Ok(Json(policy.into()))
}

/// `GET uma-policy/{policy_id}`.
pub(crate) async fn read(
    State(store): State<Arc<dyn Store>>,
    manager: PolicyManager,
    Path(id): Path<String>,
) -> Result<Json<UmaPermissionOut>, ApiError> {
    Ok(Json(manager.policy(&*store, &id).await?.into()))
}

/// `PUT uma-policy/{policy_id}`: `201` and no body, as Keycloak answers it.
pub(crate) async fn update(
    State(store): State<Arc<dyn Store>>,
    manager: PolicyManager,
    Path(id): Path<String>,
    JsonBody(asked): JsonBody<UmaPermission>,
) -> Result<StatusCode, ApiError> {
    let existing = manager.policy(&*store, &id).await?;
    let resource = manager.resource(&*store, &existing.resource_id).await?;
    policy::replace(&*store, existing, asked.into_input(&resource)?).await?;
    Ok(StatusCode::CREATED)
}

/// `DELETE uma-policy/{policy_id}`: the policy goes, and the RPTs it granted with it.
pub(crate) async fn delete(
    State(store): State<Arc<dyn Store>>,
    manager: PolicyManager,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    manager.policy(&*store, &id).await?;
    policy::revoke(&*store, &manager.owner, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET uma-policy?name&resource&scope&first&max`: the caller's policies, a page at a time.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Find {
    name: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    first: usize,
    max: Option<usize>,
}

/// The caller's resources read at a time while listing all her policies.
const SCAN_BATCH: usize = 200;

impl Find {
    fn matches(&self, policy: &Policy) -> bool {
        self.name.as_deref().is_none_or(|wanted| {
            policy
                .name
                .as_deref()
                .is_some_and(|n| n.to_lowercase().contains(&wanted.to_lowercase()))
        }) && self
            .scope
            .as_deref()
            .is_none_or(|s| policy.scopes.iter().any(|p| p == s))
    }
}

pub(crate) async fn find(
    State(store): State<Arc<dyn Store>>,
    manager: PolicyManager,
    query: Result<Query<Find>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<UmaPermissionOut>>, ApiError> {
    let Query(find) =
        query.map_err(|e| ApiError::invalid_request(format!("bad policy query: {e}")))?;
    let max = crate::request::page_size(find.max);
    let wanted = find.first.saturating_add(max);
    let mut found: Vec<Policy> = Vec::new();
    if let Some(resource) = &find.resource {
        let resource = manager.resource(&*store, resource).await?;
        found = store.policies_for(&resource.id).await?;
        found.retain(|p| find.matches(p));
        found.sort_by(|a, b| a.id.cmp(&b.id));
    } else {
        let mut after: Option<(String, String)> = None;
        while found.len() < wanted {
            let cursor = after.as_ref().map(|(rs, id)| (rs.as_str(), id.as_str()));
            let batch = store
                .resources_of(&manager.owner, cursor, SCAN_BATCH)
                .await?;
            let exhausted = batch.len() < SCAN_BATCH;
            after = batch
                .last()
                .map(|r| (r.resource_server.clone(), r.id.clone()));
            for resource in batch.iter().filter(|r| manager.reaches(&r.resource_server)) {
                // In the order of the owner's resources, then of ids: pages that hold still.
                let mut policies = store.policies_for(&resource.id).await?;
                policies.retain(|p| find.matches(p));
                policies.sort_by(|a, b| a.id.cmp(&b.id));
                found.append(&mut policies);
            }
            if exhausted {
                break;
            }
        }
    }
    Ok(Json(
        found
            .into_iter()
            .skip(find.first)
            .take(max)
            .map(Into::into)
            .collect(),
    ))
}
