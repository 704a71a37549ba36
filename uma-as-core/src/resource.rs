//! The resource registration endpoint (FedAuthz §3.2): create, read, update, delete, list.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uma_types::{RegisteredResource, ResourceDescription, ResourceRegistration};

use crate::error::ApiError;
use crate::protection::ProtectionAuth;
use crate::request::JsonBody;
use crate::secret;
use crate::server::{Issuer, Registry, paths};
use crate::store::{Resource, Store};

/// Who owns a resource being registered: Keycloak's `owner` (a configured user) when a resource
/// server registers with its own PAT, otherwise the PAT's owner.
fn owner_of(
    registry: &Registry,
    auth: &ProtectionAuth,
    description: &ResourceDescription,
) -> Result<String, ApiError> {
    match &description.owner {
        Some(owner) if *owner == auth.owner => Ok(owner.clone()),
        Some(owner) if auth.is_client_pat() && registry.is_user(owner) => Ok(owner.clone()),
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
    State(store): State<Arc<dyn Store>>,
    State(registry): State<Arc<Registry>>,
    State(issuer): State<Issuer>,
    auth: ProtectionAuth,
    JsonBody(mut description): JsonBody<ResourceDescription>,
) -> Result<Response, ApiError> {
    validate(&description)?;
    let owner = owner_of(&registry, &auth, &description)?;
    description.owner = Some(owner.clone());
    let id = secret::new_id();
    store
        .put_resource(Resource {
            id: id.clone(),
            owner,
            resource_server: auth.resource_server,
            description,
        })
        .await?;
    let location = format!("{}/{id}", issuer.endpoint(paths::RESOURCE_REGISTRATION));
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
async fn visible(store: &dyn Store, auth: &ProtectionAuth, id: &str) -> Result<Resource, ApiError> {
    store
        .resource(id)
        .await?
        .filter(|resource| auth.may_manage(resource))
        .ok_or_else(|| ApiError::not_found("no such resource"))
}

pub(crate) async fn read(
    State(store): State<Arc<dyn Store>>,
    auth: ProtectionAuth,
    Path(id): Path<String>,
) -> Result<Json<RegisteredResource>, ApiError> {
    let resource = visible(&*store, &auth, &id).await?;
    Ok(Json(RegisteredResource {
        id: resource.id,
        description: resource.description,
    }))
}

pub(crate) async fn update(
    State(store): State<Arc<dyn Store>>,
    auth: ProtectionAuth,
    Path(id): Path<String>,
    JsonBody(mut description): JsonBody<ResourceDescription>,
) -> Result<Json<ResourceRegistration>, ApiError> {
    validate(&description)?;
    let existing = visible(&*store, &auth, &id).await?;
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
    store
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
    State(store): State<Arc<dyn Store>>,
    auth: ProtectionAuth,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    visible(&*store, &auth, &id).await?;
    // Protection ends with registration (FedAuthz §3): the RPTs for it go with its policies,
    // which go with it.
    store.delete_resource(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The list operation's query: Keycloak's filters and pages (`first`, `max`). Each filter given
/// must match: `name` a part of the name, any case (the whole name with `exactName=true`),
/// `uri` one of the resource's `uris` (or, with `matchingUri=true`, a path one of them matches as
/// a pattern), `scope` one of its scopes, `owner` and `type` exactly. `deep=true` answers the
/// resources themselves rather than their ids.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ListQuery {
    #[serde(rename = "_id")]
    id: Option<String>,
    name: Option<String>,
    #[serde(rename = "exactName", default)]
    exact_name: bool,
    uri: Option<String>,
    #[serde(rename = "matchingUri", default)]
    matching_uri: bool,
    owner: Option<String>,
    #[serde(rename = "type")]
    resource_type: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    deep: bool,
    #[serde(default)]
    first: usize,
    max: Option<usize>,
}

/// Resources read from the store at a time while filtering.
const SCAN_BATCH: usize = 500;

impl ListQuery {
    fn matches(&self, resource: &Resource) -> bool {
        let description = &resource.description;
        let name = description.name.as_deref().unwrap_or("");
        let name_matches = self.name.as_deref().is_none_or(|wanted| {
            if self.exact_name {
                name == wanted
            } else {
                name.to_lowercase().contains(&wanted.to_lowercase())
            }
        });
        let uri_matches = self.uri.as_deref().is_none_or(|wanted| {
            description.uris.iter().any(|uri| {
                uri == wanted || (self.matching_uri && crate::keycloak::uri_matches(uri, wanted))
            })
        });
        name_matches
            && uri_matches
            && self.id.as_deref().is_none_or(|id| resource.id == id)
            && self.owner.as_deref().is_none_or(|o| resource.owner == o)
            && self
                .resource_type
                .as_deref()
                .is_none_or(|t| description.resource_type.as_deref() == Some(t))
            && self
                .scope
                .as_deref()
                .is_none_or(|s| description.resource_scopes.iter().any(|r| r == s))
    }
}

/// A resource server's resources (one owner's, or all) that `wanted` picks, in id order: the
/// `take` after skipping `skip`, read from the store a batch at a time, so that memory stays
/// bounded however many there are (the time is that of reading up to all of them).
pub(crate) async fn scan(
    store: &dyn Store,
    resource_server: &str,
    owner: Option<&str>,
    (skip, take): (usize, usize),
    wanted: impl Fn(&Resource) -> bool,
) -> Result<Vec<Resource>, ApiError> {
    let (mut found, mut skipped, mut after) = (Vec::new(), 0, None::<String>);
    while found.len() < take {
        let batch = store
            .resources(resource_server, owner, after.as_deref(), SCAN_BATCH)
            .await?;
        let exhausted = batch.len() < SCAN_BATCH;
        after = batch.last().map(|r| r.id.clone());
        for resource in batch.into_iter().filter(|r| wanted(r)) {
            if skipped < skip {
                skipped += 1;
            } else if found.len() < take {
                found.push(resource);
            }
        }
        if exhausted {
            break;
        }
    }
    Ok(found)
}

pub(crate) async fn list(
    State(store): State<Arc<dyn Store>>,
    auth: ProtectionAuth,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) =
        query.map_err(|e| ApiError::invalid_request(format!("bad list query: {e}")))?;
    let max = crate::request::page_size(query.max);
    // An owner's PAT sees that owner's resources; the resource server's own, all of its own.
    let owner = (!auth.is_client_pat()).then_some(auth.owner.as_str());
    let found = scan(
        &*store,
        &auth.resource_server,
        owner,
        (query.first, max),
        |r| query.matches(r),
    )
    .await?;
    Ok(if query.deep {
        let resources: Vec<RegisteredResource> = found
            .into_iter()
            .map(|r| RegisteredResource {
                id: r.id,
                description: r.description,
            })
            .collect();
        Json(resources).into_response()
    } else {
        Json(found.into_iter().map(|r| r.id).collect::<Vec<_>>()).into_response()
    })
}
