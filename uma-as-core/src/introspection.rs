//! The introspection endpoint (RFC 7662, FedAuthz §5): a resource server asks, with its PAT, what
//! an RPT grants. A client may also authenticate as itself (`client_secret_basic` or
//! `client_secret_post`, as RFC 7662 §2.1 allows and Keycloak does), so that generic OAuth
//! resource-server libraries introspect unchanged; it learns what its own PAT would.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use uma_types::{Introspection, Permission};

use crate::error::ApiError;
use crate::protection::ProtectionAuth;
use crate::request::{Authorization, FormParams};
use crate::secret::TokenHash;
use crate::server::AppState;
use crate::store::{TokenKind, TokenRecord};
use crate::time::now;
use crate::token::authenticate_client;

pub(crate) async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: FormParams,
) -> Result<Response, ApiError> {
    // Client credentials when the request carries them; otherwise a PAT, whose absence is
    // answered with the protection API's Bearer challenge.
    let client_credentials = match Authorization::from_headers(&headers) {
        Authorization::Basic { .. } => true,
        Authorization::None => params.get("client_secret").is_some(),
        Authorization::Bearer(_) | Authorization::Malformed => false,
    };
    let auth = if client_credentials {
        ProtectionAuth::client(authenticate_client(&state, &headers, &params)?)
    } else {
        ProtectionAuth::from_pat(&headers, &state).await?
    };
    let token = params.require("token")?;
    let record = state
        .store
        .token(&TokenHash::of(token))
        .await?
        .filter(|r| r.expires_at > now());
    let body = match record {
        Some(record) => describe(&state, &auth, record),
        None => Introspection::inactive(),
    };
    let mut response = if state.keycloak_paths && body.active {
        Json(in_keycloaks_shape(body)).into_response()
    } else {
        Json(body).into_response()
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// An active token's description with the members Keycloak's adds, which its clients read:
/// `typ`, `azp` (the client it was issued to) and `preferred_username` (its user).
fn in_keycloaks_shape(body: Introspection) -> serde_json::Value {
    let azp = body.client_id.clone();
    let user = body.username.clone().or_else(|| body.sub.clone());
    let mut value = serde_json::to_value(body).unwrap_or_default();
    if let Some(members) = value.as_object_mut() {
        members.insert("typ".into(), "Bearer".into());
        if let Some(azp) = azp {
            members.insert("azp".into(), azp.into());
        }
        if let Some(user) = user {
            members.insert("preferred_username".into(), user.into());
        }
    }
    value
}

/// What this PAT may learn of a live token: only about its own business (RFC 7662 §4, TM-11).
/// An RPT is described to the resource server whose resources it covers (for their owner, with
/// an owner's PAT) and to the client it was issued to; an access token to the client it was
/// issued to. Anything else is reported
/// inactive, exactly as an unknown token (RFC 7662 §2.2: "not allowed to introspect this
/// particular token").
fn describe(state: &AppState, auth: &ProtectionAuth, record: TokenRecord) -> Introspection {
    let base = Introspection {
        active: true,
        exp: Some(record.expires_at),
        iat: Some(record.issued_at),
        sub: Some(record.subject.clone()),
        client_id: Some(record.client_id.clone()),
        iss: Some(state.issuer.as_str().to_owned()),
        token_type: Some("Bearer".to_owned()),
        ..Introspection::default()
    };
    match record.kind {
        TokenKind::Rpt {
            permissions,
            resource_server,
            owner,
            ..
        } => {
            let for_its_resource_server = resource_server == auth.resource_server
                && (auth.is_client_pat() || owner == auth.owner);
            let its_own = record.client_id == auth.resource_server && auth.is_client_pat();
            if !(for_its_resource_server || its_own) {
                return Introspection::inactive();
            }
            let permissions: Vec<Permission> = permissions
                .into_iter()
                .map(|p| Permission {
                    // FedAuthz §5.1.1: a permission never outlives its token.
                    exp: Some(
                        p.exp
                            .map_or(record.expires_at, |e| e.min(record.expires_at)),
                    ),
                    ..p
                })
                .collect();
            // No `scope` member for an RPT (FedAuthz §5.1.1).
            Introspection {
                permissions: Some(permissions),
                ..base
            }
        }
        // A refresh token is for its client only; a resource server has no business with it.
        TokenKind::Refresh { .. }
        | TokenKind::RptRefresh { .. }
        | TokenKind::Pct
        | TokenKind::Login(_)
        | TokenKind::Console { .. }
        | TokenKind::AuthorizationCode { .. } => Introspection::inactive(),
        TokenKind::Access { .. }
            if record.client_id != auth.resource_server
                || (!auth.is_client_pat() && record.subject != auth.owner) =>
        {
            Introspection::inactive()
        }
        TokenKind::Access { scopes } => Introspection {
            scope: Some(scopes.join(" ")),
            username: Some(record.subject),
            ..base
        },
    }
}
