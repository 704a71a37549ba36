//! The resource registration endpoint (FedAuthz §3.2): create, read, update, delete, list.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uma_client::{RegisteredResource, ResourceDescription, ResourceRegistration};

use crate::error::ApiError;
use crate::protection::ProtectionAuth;
use crate::request::JsonBody;
use crate::secret;
use crate::server::{AppState, paths};
use crate::store::Resource;

/// Who owns a resource being registered: Keycloak's `owner` (a configured user) when a resource
/// server registers with its own PAT, otherwise the PAT's owner.
fn owner_of(
    state: &AppState,
    auth: &ProtectionAuth,
    description: &ResourceDescription,
) -> Result<String, ApiError> {
    match &description.owner {
        Some(owner) if *owner == auth.owner => Ok(owner.clone()),
        Some(owner) if auth.is_client_pat() && state.is_user(owner) => Ok(owner.clone()),
        Some(owner) => Err(ApiError::invalid_request(format!(
            "owner {owner:?} is not a user this PAT may register resources for"
        ))),
        None => Ok(auth.owner.clone()),
    }
}

fn validate(description: &ResourceDescription) -> Result<(), ApiError> {
    if description
        .resource_scopes
        .iter()
        .any(|s| s.as_str().is_empty())
    {
        return Err(ApiError::invalid_request(
            "resource_scopes has an empty scope",
        ));
    }
    Ok(())
}

pub(crate) async fn create(
    State(state): State<AppState>,
    auth: ProtectionAuth,
    JsonBody(mut description): JsonBody<ResourceDescription>,
) -> Result<Response, ApiError> {
    validate(&description)?;
    let owner = owner_of(&state, &auth, &description)?;
    description.owner = Some(owner.clone());
    let id = secret::new_id();
    state
        .store
        .put_resource(Resource {
            id: id.clone(),
            owner,
            resource_server: auth.resource_server,
            description,
        })
        .await?;
    let location = format!("{}/{id}", state.endpoint(paths::RESOURCE_REGISTRATION));
    let mut response = (
        StatusCode::CREATED,
        Json(ResourceRegistration {
            id,
            user_access_policy_uri: None,
        }),
    )
        .into_response();
    if let Ok(location) = HeaderValue::try_from(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// The resource with `id`, if this PAT may see it; otherwise `404`, never a hint that it exists.
async fn visible(state: &AppState, auth: &ProtectionAuth, id: &str) -> Result<Resource, ApiError> {
    state
        .store
        .resource(id)
        .await?
        .filter(|resource| auth.may_manage(resource))
        .ok_or_else(|| ApiError::not_found("no such resource"))
}

pub(crate) async fn read(
    State(state): State<AppState>,
    auth: ProtectionAuth,
    Path(id): Path<String>,
) -> Result<Json<RegisteredResource>, ApiError> {
    let resource = visible(&state, &auth, &id).await?;
    Ok(Json(RegisteredResource {
        id: resource.id,
        description: resource.description,
    }))
}

pub(crate) async fn update(
    State(state): State<AppState>,
    auth: ProtectionAuth,
    Path(id): Path<String>,
    JsonBody(mut description): JsonBody<ResourceDescription>,
) -> Result<Json<ResourceRegistration>, ApiError> {
    validate(&description)?;
    let existing = visible(&state, &auth, &id).await?;
    // The owner is fixed at registration; an update replaces the description only.
    if description
        .owner
        .as_ref()
        .is_some_and(|o| *o != existing.owner)
    {
        return Err(ApiError::invalid_request(
            "a resource's owner cannot change",
        ));
    }
    description.owner = Some(existing.owner.clone());
    state
        .store
        .put_resource(Resource {
            description,
            ..existing
        })
        .await?;
    Ok(Json(ResourceRegistration {
        id,
        user_access_policy_uri: None,
    }))
}

pub(crate) async fn delete(
    State(state): State<AppState>,
    auth: ProtectionAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    visible(&state, &auth, &id).await?;
    let policies = state.store.policies_for(&id).await?;
    state.store.delete_resource(&id).await?;
    // Protection ends with registration (FedAuthz §3): the RPTs for it go with its policies.
    for policy in policies {
        crate::policy::withdraw(&state, &policy.id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Filters of the list operation (Keycloak's names); each given one must match exactly.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ListFilter {
    name: Option<String>,
    #[serde(rename = "type")]
    resource_type: Option<String>,
    owner: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    auth: ProtectionAuth,
    filter: Result<Query<ListFilter>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<String>>, ApiError> {
    let Query(filter) =
        filter.map_err(|e| ApiError::invalid_request(format!("bad list filter: {e}")))?;
    let owner = (!auth.is_client_pat()).then_some(auth.owner.as_str());
    let resources = state.store.resources(&auth.resource_server, owner).await?;
    let matches = |wanted: &Option<String>, actual: Option<&String>| {
        wanted.as_ref().is_none_or(|w| Some(w) == actual)
    };
    Ok(Json(
        resources
            .into_iter()
            .filter(|r| matches(&filter.name, r.description.name.as_ref()))
            .filter(|r| matches(&filter.resource_type, r.description.resource_type.as_ref()))
            .filter(|r| matches(&filter.owner, Some(&r.owner)))
            .map(|r| r.id)
            .collect(),
    ))
}
