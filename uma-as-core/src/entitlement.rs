//! Keycloak's extensions of the UMA grant, served in its realm mode: the ticketless grant
//! (`audience` and `permission=RESOURCE#SCOPE,…` in place of a ticket, a resource named by id or
//! by name) and the response modes that answer a decision or the permissions instead of an RPT.
//! Both go through the same assessment, and are recorded for the owner, as a ticket's grant.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uma_types::{ErrorCode, Permission, PermissionRequest};

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

/// Whether a request no policy grants, for resources whose owners asked to be asked, is put to
/// them: always on the spec's terms; in the realm mode as Keycloak's `submit_request` says,
/// which defaults to whether a ticket was presented.
pub(crate) fn submits(
    state: &AppState,
    params: &FormParams,
    with_ticket: bool,
) -> Result<bool, ApiError> {
    if !state.keycloak_paths {
        return Ok(true);
    }
    match params.get("submit_request") {
        None => Ok(with_ticket),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ApiError::invalid_request(format!(
            "submit_request {other:?} is neither true nor false"
        ))),
    }
}

/// Keycloak's format for claims a client asserts itself: base64 of a JSON object, each claim a
/// string or an array of strings (its enforcers push the request's `http.uri` this way).
pub(crate) const ASSERTED_CLAIMS_FORMAT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// The most claims one request asserts.
const MAX_ASSERTED_CLAIMS: usize = 32;

/// The claims a client asserts (Keycloak's `claim_token` of [`ASSERTED_CLAIMS_FORMAT`]), in the
/// realm mode; each claim must have one value, as a party's claims here do.
pub(crate) fn asserted_claims(
    state: &AppState,
    params: &FormParams,
) -> Result<Option<std::collections::BTreeMap<String, String>>, ApiError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let (Some(token), Some(ASSERTED_CLAIMS_FORMAT), true) = (
        params.get("claim_token"),
        params.get("claim_token_format"),
        state.keycloak_paths,
    ) else {
        return Ok(None);
    };
    let bad = |why: &str| ApiError::invalid_request(format!("the claim token {why}"));
    let trimmed = token.trim_end_matches('=');
    let json = URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD.decode(token))
        .map_err(|_| bad("is not base64"))?;
    let object: serde_json::Map<String, Value> =
        serde_json::from_slice(&json).map_err(|_| bad("is not a JSON object"))?;
    if object.len() > MAX_ASSERTED_CLAIMS {
        return Err(bad(&format!("has more than {MAX_ASSERTED_CLAIMS} claims")));
    }
    let mut claims = std::collections::BTreeMap::new();
    for (name, value) in object {
        let value = match value {
            Value::String(one) => one,
            Value::Array(mut values) if values.len() == 1 => match values.remove(0) {
                Value::String(one) => one,
                _ => return Err(bad(&format!("claim {name:?} is not a string"))),
            },
            _ => {
                return Err(bad(&format!(
                    "claim {name:?} has not exactly one string value"
                )));
            }
        };
        claims.insert(name, value);
    }
    Ok(Some(claims))
}

fn invalid_resource(description: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        ErrorCode::Other("invalid_resource".to_owned()),
        description,
    )
}

/// How a permission names its resource (Keycloak's `permission_resource_format`).
#[derive(Debug, Clone, Copy)]
enum Naming {
    /// By id, else by unique name.
    IdOrName,
    /// By one of the resource's `uris`; with `permission_resource_matching_uri=true`, by a path
    /// one of them matches as a pattern.
    Uri { matching: bool },
}

impl Naming {
    fn of(params: &FormParams) -> Result<Self, ApiError> {
        match params.get("permission_resource_format") {
            None | Some("id") => Ok(Self::IdOrName),
            Some("uri") => Ok(Self::Uri {
                matching: params.get("permission_resource_matching_uri") == Some("true"),
            }),
            Some(other) => Err(ApiError::invalid_request(format!(
                "permission_resource_format {other:?} is not supported: id or uri"
            ))),
        }
    }
}

/// The most resources one permission by URI stands for (a request, at most as many in all).
const MAX_AT_URI: usize = crate::request::MAX_PERMISSIONS;

/// The resources of `audience` a permission names.
async fn named(
    state: &AppState,
    audience: &str,
    name: &str,
    naming: Naming,
) -> Result<Vec<Resource>, ApiError> {
    let Naming::Uri { matching } = naming else {
        return Ok(vec![find(state, audience, name).await?]);
    };
    let at_uri = |r: &Resource| {
        r.description
            .uris
            .iter()
            .any(|uri| uri == name || (matching && crate::keycloak::uri_matches(uri, name)))
    };
    let found =
        crate::resource::scan(&*state.store, audience, None, (0, MAX_AT_URI), at_uri).await?;
    if found.is_empty() {
        return Err(invalid_resource(format!(
            "Resource with uri [{name}] does not exist."
        )));
    }
    Ok(found)
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
    if !state.registry.clients.contains_key(audience) {
        return Err(ApiError::invalid_request(format!(
            "audience {audience:?} is not a client of this server"
        )));
    }
    if params.permissions().is_empty() {
        return Err(ApiError::invalid_request(
            "without a ticket, name what is asked: permission=RESOURCE#SCOPE",
        ));
    }
    let naming = Naming::of(params)?;
    let mut permissions = Vec::with_capacity(params.permissions().len());
    let mut owner: Option<String> = None;
    for asked in params.permissions() {
        let (name, scopes) = asked.split_once('#').unwrap_or((asked.as_str(), ""));
        if name.is_empty() {
            return Err(ApiError::invalid_request(
                "a permission names its resource: scope-only permissions are not supported",
            ));
        }
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
        for resource in named(state, audience, name, naming).await? {
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
            if permissions.len() == crate::request::MAX_PERMISSIONS {
                return Err(ApiError::invalid_request(format!(
                    "a request stands for at most {} resources",
                    crate::request::MAX_PERMISSIONS
                )));
            }
            permissions.push(PermissionRequest::new(resource.id, scopes.clone()));
        }
    }
    Ok(Ticket {
        permissions,
        owner: owner.unwrap_or_default(),
        resource_server: audience.to_owned(),
        expires_at: now().saturating_add(state.issuance.lifetimes.ticket.as_secs()),
        gathered: None,
    })
}
