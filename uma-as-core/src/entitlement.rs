//! Keycloak's extensions of the UMA grant, served in its realm mode: the ticketless grant
//! (`audience` and `permission=RESOURCE#SCOPE,…` in place of a ticket, a resource named by id or
//! by name) and the response modes that answer a decision or the permissions instead of an RPT.
//! Both go through the same assessment, and are recorded for the owner, as a ticket's grant.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uma_client::{ErrorCode, Permission, PermissionRequest};

use crate::error::ApiError;
use crate::request::FormParams;
use crate::server::AppState;
use crate::store::{Resource, Ticket};
use crate::time::now;

/// What a granted request is answered with (Keycloak's `response_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseMode {
    /// An RPT: the spec's answer, and Keycloak's default.
    Token,
    /// `{"result": true}`, and no RPT.
    Decision,
    /// The granted permissions as `[{"rsid", "rsname", "scopes"}]`, and no RPT.
    Permissions {
        /// `response_include_resource_name` (default true).
        names: bool,
    },
}

impl ResponseMode {
    /// The mode a request asks for: only in realm mode, where Keycloak's parameters mean
    /// something (elsewhere they are unrecognized parameters, which OAuth ignores).
    pub(crate) fn of(state: &AppState, params: &FormParams) -> Result<Self, ApiError> {
        if !state.keycloak_paths {
            return Ok(Self::Token);
        }
        match params.get("response_mode") {
            None => Ok(Self::Token),
            Some("decision") => Ok(Self::Decision),
            Some("permissions") => Ok(Self::Permissions {
                names: params.get("response_include_resource_name") != Some("false"),
            }),
            Some(other) => Err(ApiError::invalid_request(format!(
                "response_mode {other:?} is not supported: decision or permissions"
            ))),
        }
    }

    /// The answer for what was granted, when it is not an RPT.
    pub(crate) fn answer(self, granted: &[Permission]) -> Option<Response> {
        match self {
            Self::Token => None,
            Self::Decision => Some(Json(json!({"result": true})).into_response()),
            Self::Permissions { names } => {
                let permissions: Vec<Value> = granted
                    .iter()
                    .map(|p| {
                        let mut permission = json!({
                            "rsid": p.resource_id,
                            "scopes": p.resource_scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                        });
                        if let (true, Some(name)) = (names, &p.resource_name) {
                            permission["rsname"] = json!(name);
                        }
                        permission
                    })
                    .collect();
                Some(Json(permissions).into_response())
            }
        }
    }
}

fn invalid_resource(description: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::Other("invalid_resource".to_owned()),
        description,
    )
}

/// The resource `name` of `audience`: by id, else by its unique name.
async fn find(state: &AppState, audience: &str, name: &str) -> Result<Resource, ApiError> {
    if let Some(resource) = state
        .store
        .resource(name)
        .await?
        .filter(|r| r.resource_server == audience)
    {
        return Ok(resource);
    }
    let mut named = state.store.resources_named(audience, name).await?;
    match (named.pop(), named.is_empty()) {
        (Some(resource), true) => Ok(resource),
        (Some(_), false) => Err(invalid_resource(format!(
            "more than one resource is named [{name}]: name it by id"
        ))),
        (None, _) => Err(invalid_resource(format!(
            "Resource with id [{name}] does not exist."
        ))),
    }
}

/// Keycloak's ticketless grant: the ticket its `audience` and `permission` parameters stand
/// for. Each permission names a resource and at least one of its scopes; the resources must
/// have one owner (each ticket here has one).
pub(crate) async fn ticket_for(state: &AppState, params: &FormParams) -> Result<Ticket, ApiError> {
    let audience = params.require("audience")?;
    if !state.clients.contains_key(audience) {
        return Err(ApiError::invalid_request(format!(
            "audience {audience:?} is not a client of this server"
        )));
    }
    if params.permissions().is_empty() {
        return Err(ApiError::invalid_request(
            "without a ticket, name what is asked: permission=RESOURCE#SCOPE",
        ));
    }
    let mut permissions = Vec::with_capacity(params.permissions().len());
    let mut owner: Option<String> = None;
    for asked in params.permissions() {
        let (name, scopes) = asked.split_once('#').unwrap_or((asked.as_str(), ""));
        if name.is_empty() {
            return Err(ApiError::invalid_request(
                "a permission names its resource: scope-only permissions are not supported",
            ));
        }
        let resource = find(state, audience, name).await?;
        let scopes: Vec<&str> = scopes
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if scopes.is_empty() {
            return Err(ApiError::invalid_scope(format!(
                "name the scopes asked of [{name}]: permission={name}#SCOPE"
            )));
        }
        if let Some(unknown) = scopes
            .iter()
            .find(|s| !resource.description.resource_scopes.iter().any(|r| r == *s))
        {
            return Err(ApiError::invalid_scope(format!(
                "One of the given scopes [{unknown}] is invalid"
            )));
        }
        match &owner {
            Some(first) if *first != resource.owner => {
                return Err(ApiError::invalid_request(
                    "the resources of one request must have one owner",
                ));
            }
            Some(_) => {}
            None => owner = Some(resource.owner.clone()),
        }
        permissions.push(PermissionRequest::new(resource.id, scopes));
    }
    Ok(Ticket {
        permissions,
        owner: owner.unwrap_or_default(),
        resource_server: audience.to_owned(),
        expires_at: now().saturating_add(state.lifetimes.ticket.as_secs()),
        gathered: None,
    })
}
