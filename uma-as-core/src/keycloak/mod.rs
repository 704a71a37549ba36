//! Keycloak's realm mode: the paths Keycloak serves under `{base}/realms/{realm}` (the issuer in
//! this mode), beside the spec's own, each answered by the same handler as its spec path, and
//! discovery naming Keycloak's, so that clients and adapters written for Keycloak find their
//! way unchanged.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use uma_types::ErrorCode;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::error::ApiError;
use crate::keys::JwtType;
use crate::request::FormParams;
use crate::server::AppState;
use crate::store::{Store, StoreError, TokenRecord};
use crate::{discovery, introspection, login, permission, resource, userinfo};

/// Keycloak's paths, relative to the realm's issuer.
pub(crate) mod paths {
    pub(crate) const TOKEN: &str = "/protocol/openid-connect/token";
    pub(crate) const INTROSPECTION: &str = "/protocol/openid-connect/token/introspect";
    pub(crate) const JWKS: &str = "/protocol/openid-connect/certs";
    pub(crate) const AUTHORIZE: &str = "/protocol/openid-connect/auth";
    pub(crate) const USERINFO: &str = "/protocol/openid-connect/userinfo";
    pub(crate) const REVOCATION: &str = "/protocol/openid-connect/revoke";
    pub(crate) const RESOURCE_REGISTRATION: &str = "/authz/protection/resource_set";
    pub(crate) const PERMISSION: &str = "/authz/protection/permission";
    pub(crate) const UMA_POLICY: &str = "/authz/protection/uma-policy";
    pub(crate) const TICKET: &str = "/authz/protection/permission/ticket";
    pub(crate) const LOGOUT: &str = "/protocol/openid-connect/logout";
}

mod import;
mod policy;
mod ticket;

pub(crate) use import::RealmImport;

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(paths::TOKEN, post(token))
        .route(paths::INTROSPECTION, post(introspection::introspect))
        .route(paths::JWKS, get(discovery::jwks))
        .route(paths::AUTHORIZE, get(login::authorize).post(login::sign_in))
        .route(
            paths::USERINFO,
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(paths::REVOCATION, post(crate::token::revoke))
        .merge(crate::resource_registration(
            paths::RESOURCE_REGISTRATION,
            get(resource::read)
                .put(update_resource)
                .delete(resource::delete),
        ))
        .route(paths::PERMISSION, post(permission::request))
        .route(paths::UMA_POLICY, get(policy::find))
        .route(
            &format!("{}/{{id}}", paths::UMA_POLICY),
            get(policy::read)
                .post(policy::create)
                .put(policy::update)
                .delete(policy::delete),
        )
        .route(
            paths::TICKET,
            get(ticket::find).post(ticket::create).put(ticket::update),
        )
        .route(&format!("{}/count", paths::TICKET), get(ticket::count))
        .route(
            &format!("{}/{{id}}", paths::TICKET),
            axum::routing::delete(ticket::delete),
        )
        .route(paths::LOGOUT, get(logout_page).post(logout))
}

/// `GET logout`, as adapters send a browser there (RP-initiated logout): there is no sign-in
/// session here to end (each sign-in page stands alone), so this sends the browser on to
/// `post_logout_redirect_uri` when it is one of the client's registered redirect URIs (the
/// client named by `client_id` or by a valid `id_token_hint`), with its `state`; anything else
/// is refused rather than followed. Without a redirect, a plain page says so.
async fn logout_page(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    let Some(target) = query.get("post_logout_redirect_uri") else {
        return Ok((
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            )],
            "You are signed out.",
        )
            .into_response());
    };
    let client = match (query.get("client_id"), query.get("id_token_hint")) {
        (Some(client), _) => client.clone(),
        (None, Some(hint)) => hinted_client(&state, hint).await?,
        (None, None) => {
            return Err(ApiError::invalid_request(
                "post_logout_redirect_uri needs client_id or id_token_hint",
            ));
        }
    };
    let registered = state
        .registry
        .clients
        .get(&client)
        .is_some_and(|c| c.redirect_uris.iter().any(|uri| uri == target));
    if !registered {
        return Err(ApiError::invalid_request(
            "post_logout_redirect_uri is not a registered redirect URI of the client",
        ));
    }
    let mut location = url::Url::parse(target)
        .map_err(|_| ApiError::invalid_request("post_logout_redirect_uri is not a URL"))?;
    if let Some(value) = query.get("state") {
        location.query_pairs_mut().append_pair("state", value);
    }
    Ok(axum::response::Redirect::to(location.as_str()).into_response())
}

/// The client an ID token this server issued names as its audience, if it checks out.
async fn hinted_client(state: &AppState, hint: &str) -> Result<String, ApiError> {
    let invalid =
        || ApiError::invalid_request("id_token_hint is not a valid ID token of this server");
    let audience = jsonwebtoken::dangerous::insecure_decode::<serde_json::Value>(hint)
        .ok()
        .and_then(|t| t.claims["aud"].as_str().map(str::to_owned))
        .ok_or_else(invalid)?;
    // Decoded unchecked only to learn whom to check it for; checked in full next.
    match crate::id_token::verify_id_token(state, hint, &audience).await? {
        Ok(_) => Ok(audience),
        Err(_) => Err(invalid()),
    }
}

/// Keycloak's logout as its clients call it from the back channel (python-keycloak's
/// `logout`, adapters): the client authenticates and names its refresh token, which ends here
/// (so no new access token comes of it); `204`, as Keycloak answers. A refresh token of another
/// client is left alone, and the answer is the same, so that nobody learns of tokens not theirs.
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: FormParams,
) -> Result<StatusCode, ApiError> {
    let client_id = crate::token::authenticate_client(&state, &headers, &params)?;
    let refresh = params.require("refresh_token")?;
    let hash = crate::secret::TokenHash::of(refresh);
    if let Some(record) = state.store.token(&hash).await? {
        let a_refresh_token = matches!(
            record.kind,
            crate::store::TokenKind::Refresh { .. } | crate::store::TokenKind::RptRefresh { .. }
        );
        if a_refresh_token && record.client_id == client_id {
            state.store.delete_token(&hash).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Anything outside the issuer's path: a JSON 404 like every other, and for Keycloak's admin
/// REST API (`{base}/admin/realms/…`), which adapters and test set-ups sometimes call, one that
/// says what the realm mode serves instead.
pub(crate) async fn outside_the_issuer(uri: axum::http::Uri) -> ApiError {
    if uri.path().contains("/admin/realms/") || uri.path().ends_with("/admin") {
        ApiError::not_found(
            "Keycloak's admin REST API is not served: the realm mode serves the realm's OpenID \
             Connect and UMA endpoints (protocol/openid-connect/…, authz/protection/…); \
             clients, users and policies come from the configuration",
        )
    } else {
        ApiError::not_found("no such endpoint")
    }
}

/// The token endpoint at Keycloak's path: the same grants, with the UMA grant's refusals in
/// Keycloak's words, which its clients read (`403 access_denied` described `not_authorized` or
/// `request_submitted`, with no ticket: Keycloak's clients ask again with the same request).
async fn token(
    state: State<AppState>,
    headers: HeaderMap,
    params: FormParams,
) -> Result<Response, ApiError> {
    crate::token::token(state, headers, params)
        .await
        .map_err(in_keycloaks_words)
}

fn in_keycloaks_words(error: ApiError) -> ApiError {
    let description = match error.code() {
        ErrorCode::RequestDenied => "not_authorized",
        ErrorCode::RequestSubmitted => "request_submitted",
        _ => return error,
    };
    ApiError::new(StatusCode::FORBIDDEN, ErrorCode::AccessDenied, description)
}

/// A resource update at Keycloak's path: the same update, answered `204 No Content` as Keycloak
/// answers it (its clients expect exactly that), where the spec's path answers `200` with the id.
async fn update_resource(
    store: State<Arc<dyn Store>>,
    auth: crate::protection::ProtectionAuth,
    id: axum::extract::Path<String>,
    description: crate::request::JsonBody<uma_types::ResourceDescription>,
) -> Result<StatusCode, ApiError> {
    let _registered = resource::update(store, auth, id, description).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The claims of an access token in realm mode, as Keycloak writes them, so that its adapters
/// accept it offline: `typ: Bearer`, `azp`, `preferred_username`, `scope`, and the user's roles
/// where configured (`realm_access`, `resource_access`). Typed `at+jwt` in the
/// header and carrying no permissions, it is neither an ID token nor an RPT to any verifier here.
#[derive(Serialize)]
struct AccessTokenClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    azp: &'a str,
    client_id: &'a str,
    typ: &'static str,
    exp: u64,
    iat: u64,
    jti: String,
    scope: String,
    preferred_username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    realm_access: Option<RoleList<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    resource_access: BTreeMap<&'a str, RoleList<'a>>,
}

#[derive(Serialize)]
struct RoleList<'a> {
    roles: &'a [String],
}

/// An access token (or PAT) for `record` as a signed JWT.
pub(crate) fn access_token(
    state: &AppState,
    record: &TokenRecord,
    scopes: &[String],
) -> Result<String, StoreError> {
    // A client's own token names its service account, as Keycloak's does.
    let preferred_username = if record.subject == record.client_id {
        format!("service-account-{}", record.client_id)
    } else {
        record.subject.clone()
    };
    let roles = state
        .registry
        .users
        .get(&record.subject)
        .map(|user| &user.roles);
    let realm_access = roles
        .filter(|r| !r.realm.is_empty())
        .map(|r| RoleList { roles: &r.realm });
    let resource_access = roles
        .into_iter()
        .flat_map(|r| r.clients.iter())
        .filter(|(_, roles)| !roles.is_empty())
        .map(|(client, roles)| (client.as_str(), RoleList { roles }))
        .collect();
    state.issuance.keys.sign(
        JwtType::AccessToken,
        &AccessTokenClaims {
            iss: state.issuer.as_str(),
            sub: &record.subject,
            aud: &record.client_id,
            azp: &record.client_id,
            client_id: &record.client_id,
            typ: "Bearer",
            exp: record.expires_at,
            iat: record.issued_at,
            jti: crate::secret::new_token(),
            scope: scopes.join(" "),
            preferred_username,
            realm_access,
            resource_access,
        },
    )
}

/// Whether `path` is one `pattern` of a resource's `uris` stands for, as Keycloak's enforcers
/// match them: a `{…}` segment stands for any one segment, a final `/*` for any rest.
pub(crate) fn uri_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    let (fixed, open_ended) = match pattern.split_last() {
        Some((&"*", rest)) => (rest, true),
        _ => (&pattern[..], false),
    };
    let lengths_fit = if open_ended {
        path.len() >= fixed.len()
    } else {
        path.len() == fixed.len()
    };
    lengths_fit
        && fixed.iter().zip(&path).all(|(wanted, segment)| {
            wanted == segment
                || (wanted.starts_with('{') && wanted.ends_with('}') && !segment.is_empty())
        })
}

#[cfg(test)]
mod tests {
    use super::uri_matches;

    #[test]
    fn uri_patterns_match_as_keycloaks_enforcers_match_them() {
        for (pattern, path, matches) in [
            ("/albums/holiday", "/albums/holiday", true),
            ("/albums/holiday", "/albums/holiday/1", false),
            ("/albums/{id}", "/albums/holiday", true),
            ("/albums/{id}", "/albums/", false),
            ("/albums/{id}", "/albums/a/b", false),
            ("/albums/{id}/photos", "/albums/a/photos", true),
            ("/albums/*", "/albums", true),
            ("/albums/*", "/albums/a/b/c", true),
            ("/albums/*", "/albumsx", false),
            ("/*", "/anything/at/all", true),
            ("/albums/*", "/other/albums", false),
        ] {
            assert_eq!(uri_matches(pattern, path), matches, "{pattern} ~ {path}");
        }
    }
}
