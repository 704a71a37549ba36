//! The token endpoint (RFC 6749 §3.2): `client_credentials` for PATs and the UMA grant for RPTs
//! (Grant §3.3).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uma_client::{
    AccessToken, ErrorCode, Permission, TokenResponse, UMA_PROTECTION_SCOPE, UMA_TICKET_GRANT_TYPE,
};

use crate::assessment::{granted_scopes, requested_scopes};
use crate::error::ApiError;
use crate::request::{Authorization, FormParams};
use crate::secret::TokenHash;
use crate::server::{AppState, RegisteredClient, is_pat};
use crate::store::{Resource, TokenKind};
use crate::time::now;

/// Who is calling the token endpoint.
#[derive(Debug)]
struct Caller {
    /// The client making the request.
    client_id: String,
    /// The requesting party: a user whose access token the client presented, or the client itself.
    party: String,
    /// Whether the client authenticated with its own credentials (not with a user's token).
    authenticated_client: bool,
}

pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: FormParams,
) -> Result<Response, ApiError> {
    let grant_type = params.require("grant_type")?;
    if grant_type != "client_credentials" && grant_type != UMA_TICKET_GRANT_TYPE {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedGrantType,
            format!("grant type {grant_type:?} is not supported"),
        ));
    }
    let caller = authenticate(&state, &headers, &params, grant_type).await?;
    let client = state
        .clients
        .get(&caller.client_id)
        .ok_or_else(|| ApiError::invalid_client(state.realm(), None))?;
    if !client.grant_types.iter().any(|g| g == grant_type) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnauthorizedClient,
            format!("this client may not use the {grant_type} grant"),
        ));
    }
    let response = if grant_type == UMA_TICKET_GRANT_TYPE {
        uma_grant(&state, &caller, client, &params).await
    } else {
        client_credentials(&state, &caller, &params).await
    };
    if let Err(error) = &response {
        tracing::info!(grant_type, client = %caller.client_id, party = %caller.party, error = %error.code(), "token request refused");
    }
    response
}

/// Client authentication (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`, or, for the
/// UMA grant only, a user's access token as `Authorization: Bearer`. One method per request.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &FormParams,
    grant_type: &str,
) -> Result<Caller, ApiError> {
    let authorization = Authorization::from_headers(headers);
    let posted = params.get("client_secret").is_some();
    if posted && !matches!(authorization, Authorization::None) {
        return Err(ApiError::invalid_request(
            "the request uses more than one client authentication method",
        ));
    }
    match authorization {
        Authorization::Basic { id, secret } => {
            if params
                .get("client_id")
                .is_some_and(|posted_id| posted_id != id)
            {
                return Err(ApiError::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            verify_client(state, &id, &secret)
                .ok_or_else(|| ApiError::invalid_client(state.realm(), Some("Basic")))
        }
        Authorization::Bearer(token) if grant_type == UMA_TICKET_GRANT_TYPE => {
            let record = state
                .store
                .token(&TokenHash::of(&token))
                .await?
                .filter(|r| r.expires_at > now())
                .filter(|r| matches!(r.kind, TokenKind::Access { .. }) && !is_pat(r))
                .ok_or_else(|| ApiError::invalid_client(state.realm(), Some("Bearer")))?;
            Ok(Caller {
                client_id: record.client_id,
                party: record.subject,
                authenticated_client: false,
            })
        }
        Authorization::Bearer(_) | Authorization::Malformed => {
            Err(ApiError::invalid_client(state.realm(), Some("Basic")))
        }
        Authorization::None => {
            let (Some(id), Some(secret)) = (params.get("client_id"), params.get("client_secret"))
            else {
                return Err(ApiError::invalid_client(state.realm(), None));
            };
            verify_client(state, id, secret)
                .ok_or_else(|| ApiError::invalid_client(state.realm(), None))
        }
    }
}

fn verify_client(state: &AppState, id: &str, secret: &str) -> Option<Caller> {
    let presented = TokenHash::of(secret);
    // Hash and compare even for an unknown client id, so that timing does not tell which ids exist.
    let unknown = TokenHash::of("");
    let expected = state.clients.get(id).map_or(&unknown, |c| &c.secret_hash);
    (presented.ct_eq(expected) && state.clients.contains_key(id)).then(|| Caller {
        client_id: id.to_owned(),
        party: id.to_owned(),
        authenticated_client: true,
    })
}

/// A successful token response with the headers RFC 6749 §5.1 requires.
fn token_response(body: TokenResponse) -> Response {
    let mut response = (StatusCode::OK, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `client_credentials` (RFC 6749 §4.4): a PAT when `uma_protection` is asked for, or by default.
async fn client_credentials(
    state: &AppState,
    caller: &Caller,
    params: &FormParams,
) -> Result<Response, ApiError> {
    if !caller.authenticated_client {
        return Err(ApiError::invalid_client(state.realm(), None));
    }
    let scopes: Vec<String> = params
        .get("scope")
        .unwrap_or(UMA_PROTECTION_SCOPE)
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(unknown) = scopes.iter().find(|s| *s != UMA_PROTECTION_SCOPE) {
        return Err(ApiError::invalid_scope(format!(
            "scope {unknown:?} is not available to clients"
        )));
    }
    let lifetime = state.lifetimes.access_token;
    let scope = scopes.join(" ");
    let (token, _) = state
        .issue_token(
            TokenKind::Access { scopes },
            &caller.client_id,
            &caller.client_id,
            lifetime,
        )
        .await?;
    Ok(token_response(TokenResponse {
        access_token: AccessToken::new(token),
        token_type: "Bearer".to_owned(),
        expires_in: Some(lifetime.as_secs()),
        refresh_token: None,
        scope: Some(scope),
        id_token: None,
        pct: None,
        upgraded: None,
    }))
}

/// The UMA grant (Grant §3.3.1–§3.3.6).
async fn uma_grant(
    state: &AppState,
    caller: &Caller,
    client: &RegisteredClient,
    params: &FormParams,
) -> Result<Response, ApiError> {
    let ticket = params.require("ticket")?;
    match (params.get("claim_token"), params.get("claim_token_format")) {
        (Some(_), None) | (None, Some(_)) => {
            return Err(ApiError::invalid_request(
                "claim_token and claim_token_format must be sent together",
            ));
        }
        (Some(_), Some(format)) => {
            return Err(ApiError::invalid_request(format!(
                "claim token format {format:?} is not supported"
            )));
        }
        (None, None) => {}
    }
    let requested: Vec<String> = params
        .get("scope")
        .map(|s| {
            s.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();

    // Presenting a ticket spends it, whatever the outcome (Grant §5.5): take it out of the store
    // in one atomic step before anything else can fail.
    let ticket = state
        .store
        .take_ticket(&TokenHash::of(ticket))
        .await?
        .filter(|t| t.expires_at > now())
        .ok_or_else(|| ApiError::invalid_grant("the ticket is unknown, expired or already used"))?;

    let mut resources: Vec<(Resource, BTreeSet<String>)> =
        Vec::with_capacity(ticket.permissions.len());
    for permission in &ticket.permissions {
        let resource = state
            .store
            .resource(&permission.resource_id)
            .await?
            .ok_or_else(|| {
                ApiError::invalid_grant("a resource of the ticket is no longer registered")
            })?;
        let scopes = permission
            .resource_scopes
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        resources.push((resource, scopes));
    }
    let ticket_view: Vec<(&Resource, BTreeSet<String>)> =
        resources.iter().map(|(r, s)| (r, s.clone())).collect();
    let per_resource =
        requested_scopes(&ticket_view, &client.scopes, &requested).map_err(|scope| {
            ApiError::invalid_scope(format!(
                "scope {scope:?} is not available on any resource of the ticket"
            ))
        })?;

    let mut permissions = Vec::with_capacity(resources.len());
    for ((resource, _), requested) in resources.iter().zip(&per_resource) {
        let policies = state.store.policies_for(&resource.id).await?;
        match granted_scopes(resource, requested, &policies, &caller.party) {
            Some(granted) if granted == *requested => {
                let mut permission = Permission::new(resource.id.clone(), granted);
                permission.resource_name = resource.description.name.clone();
                permissions.push(permission);
            }
            _ => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    ErrorCode::RequestDenied,
                    "the resource owner's policies do not grant these permissions",
                ));
            }
        }
    }

    let lifetime = state.lifetimes.rpt;
    let kind = TokenKind::Rpt {
        permissions,
        resource_server: ticket.resource_server,
        owner: ticket.owner,
    };
    let (rpt, _) = state
        .issue_token(kind, &caller.client_id, &caller.party, lifetime)
        .await?;
    tracing::info!(client = %caller.client_id, party = %caller.party, "RPT issued");
    // No `scope` member: an RPT's scopes belong to resources, which the client does not see
    // (Grant §3.3.5).
    Ok(token_response(TokenResponse {
        access_token: AccessToken::new(rpt),
        token_type: "Bearer".to_owned(),
        expires_in: Some(lifetime.as_secs()),
        refresh_token: None,
        scope: None,
        id_token: None,
        pct: None,
        upgraded: None,
    }))
}
