//! The token endpoint (RFC 6749 §3.2): client authentication, `client_credentials` for PATs,
//! `password`, `authorization_code` and `refresh_token` for users' tokens; the UMA grant itself
//! is in [`crate::uma_grant`]. Also the revocation endpoint (RFC 7009).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uma_types::{
    AccessToken, ClaimToken, ErrorCode, TokenResponse, UMA_PROTECTION_SCOPE, UMA_TICKET_GRANT_TYPE,
};

use crate::error::ApiError;
use crate::id_token::id_token;
use crate::request::{Authorization, FormParams};
use crate::rpt::Granted;
use crate::secret::TokenHash;
use crate::server::{AppState, REALM, is_pat};
use crate::store::{StoreError, TokenKind, TokenRecord};
use crate::throttle::Key;
use crate::time::now;
use crate::token_request::{Caller, bearer_response, scopes_of, token_response};
use crate::uma_grant::uma_grant;

pub(crate) async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: FormParams,
) -> Result<Response, ApiError> {
    let grant_type = params.require("grant_type")?;
    let supported = [
        "authorization_code",
        "client_credentials",
        "password",
        "refresh_token",
        UMA_TICKET_GRANT_TYPE,
    ];
    if !supported.contains(&grant_type)
        || (grant_type == "password" && !state.sign_in.password_grant)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedGrantType,
            format!("grant type {grant_type:?} is not supported"),
        ));
    }
    let caller = authenticate(&state, &headers, &params, grant_type).await?;
    let client = state
        .registry
        .clients
        .get(&caller.client_id)
        .ok_or_else(|| ApiError::invalid_client(REALM, None))?;
    if !client.grant_types.iter().any(|g| g == grant_type) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::UnauthorizedClient,
            format!("this client may not use the {grant_type} grant"),
        ));
    }
    let response = match grant_type {
        UMA_TICKET_GRANT_TYPE => uma_grant(&state, &caller, client, &params).await,
        "password" => password(&state, &caller, &params).await,
        "refresh_token" => refresh(&state, &caller, &params).await,
        "authorization_code" => authorization_code(&state, &caller, &params).await,
        _ => client_credentials(&state, &caller, &params).await,
    };
    if let Err(error) = &response {
        tracing::info!(grant_type, client = %caller.client_id, error = %error.code(), "token request refused");
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
    if let Authorization::Bearer(token) = Authorization::from_headers(headers) {
        if grant_type != UMA_TICKET_GRANT_TYPE || params.get("client_secret").is_some() {
            return Err(ApiError::invalid_request(
                "a bearer token authenticates only the UMA grant, and alone",
            ));
        }
        let record = users_access_token(state, &token)
            .await?
            .ok_or_else(|| ApiError::invalid_client(REALM, Some("Bearer")))?;
        return Ok(Caller {
            client_id: record.client_id,
            bearer_subject: Some(record.subject),
        });
    }
    let client_id = authenticate_client(state, headers, params)?;
    // Keycloak's `subject_token`: a resource server asks for the user whose access token it
    // was handed (keycloak-connect's enforcer does). Only in its realm mode, only for the UMA
    // grant; a token that is not a live user's access token identifies nobody and is refused.
    let bearer_subject = match params.get("subject_token") {
        Some(token) if state.keycloak_paths && grant_type == UMA_TICKET_GRANT_TYPE => {
            let record = users_access_token(state, token).await?.ok_or_else(|| {
                ApiError::invalid_grant("the subject_token is not a valid access token of a user")
            })?;
            Some(record.subject)
        }
        _ => None,
    };
    Ok(Caller {
        client_id,
        bearer_subject,
    })
}

/// The record of `token` if it is an unexpired access token of a user (not a PAT).
async fn users_access_token(
    state: &AppState,
    token: &str,
) -> Result<Option<TokenRecord>, ApiError> {
    Ok(state
        .store
        .token(&TokenHash::of(token))
        .await?
        .filter(|r| r.expires_at > now())
        .filter(|r| matches!(r.kind, TokenKind::Access { .. }) && !is_pat(r)))
}

/// `client_secret_basic` or `client_secret_post`, exactly one of them; returns the client id.
pub(crate) fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    params: &FormParams,
) -> Result<String, ApiError> {
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
                .ok_or_else(|| ApiError::invalid_client(REALM, Some("Basic")))
        }
        Authorization::Bearer(_) | Authorization::Malformed => {
            Err(ApiError::invalid_client(REALM, Some("Basic")))
        }
        Authorization::None => {
            let (Some(id), Some(secret)) = (params.get("client_id"), params.get("client_secret"))
            else {
                return Err(ApiError::invalid_client(REALM, None));
            };
            verify_client(state, id, secret).ok_or_else(|| ApiError::invalid_client(REALM, None))
        }
    }
}

fn verify_client(state: &AppState, id: &str, secret: &str) -> Option<String> {
    let presented = state.registry.secret_key.digest(secret);
    // Compare even for an unknown client id, so that timing does not tell which ids exist.
    let expected = state
        .registry
        .clients
        .get(id)
        .map_or(&state.registry.unknown_client_digest, |c| &c.secret_digest);
    (presented.ct_eq(expected) && state.registry.clients.contains_key(id)).then(|| id.to_owned())
}

fn caller_is_client(caller: &Caller) -> Result<(), ApiError> {
    match caller.bearer_subject {
        None => Ok(()),
        Some(_) => Err(ApiError::invalid_client(REALM, None)),
    }
}

/// `client_credentials` (RFC 6749 §4.4): a PAT when `uma_protection` is asked for, or by default.
async fn client_credentials(
    state: &AppState,
    caller: &Caller,
    params: &FormParams,
) -> Result<Response, ApiError> {
    caller_is_client(caller)?;
    let mut scopes = scopes_of(params);
    // Keycloak's clients ask for `openid` with every token; a client is no person, so in the
    // realm mode those scopes are left out of what is granted (the response's `scope` says so,
    // RFC 6749 §5.1) rather than refused.
    if state.keycloak_paths {
        scopes.retain(|s| !["openid", "profile", "email"].contains(&s.as_str()));
    }
    if scopes.is_empty() {
        scopes.push(UMA_PROTECTION_SCOPE.to_owned());
    }
    if let Some(unknown) = scopes.iter().find(|s| *s != UMA_PROTECTION_SCOPE) {
        return Err(ApiError::invalid_scope(format!(
            "scope {unknown:?} is not available to clients"
        )));
    }
    let lifetime = state.issuance.lifetimes.access_token;
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
        scope: Some(scope),
        ..bearer_response(token, lifetime.as_secs())
    }))
}

/// The longest username and password checked: a longer password would only cost argon2 time.
const MAX_USERNAME: usize = 256;
const MAX_PASSWORD: usize = 1024;

/// The scopes a user's access token may carry.
pub(crate) const USER_SCOPES: [&str; 4] = ["openid", "profile", "email", UMA_PROTECTION_SCOPE];

/// `password` (RFC 6749 §4.3), for configured users, when enabled: an access token, a refresh
/// token, and an ID token when `scope` has `openid`. With `uma_protection` the access token is
/// the user's own PAT.
async fn password(
    state: &AppState,
    caller: &Caller,
    params: &FormParams,
) -> Result<Response, ApiError> {
    caller_is_client(caller)?;
    let username = params.require("username")?;
    let password = params.require("password")?;
    let wrong = || ApiError::invalid_grant("the username or password is wrong");
    if username.len() > MAX_USERNAME || password.len() > MAX_PASSWORD {
        return Err(wrong());
    }
    // Failures are counted per account and per client, and a locked one is refused before any
    // password is checked (TM-20).
    let keys = [
        Key::Account(username.to_owned()),
        Key::Client(caller.client_id.clone()),
    ];
    if let Some(wait) = state.sign_in.throttle.locked(&keys) {
        return Err(ApiError::too_many_attempts(wait));
    }
    // Checked against a hash even for an unknown user, so that timing does not tell who exists.
    let hash = state
        .registry
        .users
        .get(username)
        .and_then(|u| u.password_hash.as_deref());
    if !crate::password::verify_off_runtime(&state.sign_in.password_checks, password, hash).await {
        state.sign_in.throttle.failed(&keys);
        return Err(wrong());
    }
    state.sign_in.throttle.succeeded(username);
    let scopes = scopes_of(params);
    if let Some(unknown) = scopes.iter().find(|s| !USER_SCOPES.contains(&s.as_str())) {
        return Err(ApiError::invalid_scope(format!(
            "scope {unknown:?} is not available"
        )));
    }
    UserTokens::new(&caller.client_id, username, scopes)
        .issue(state)
        .await
}

/// A user's access token, refresh token and (with `openid`) ID token, to issue.
struct UserTokens<'a> {
    client_id: &'a str,
    username: &'a str,
    scopes: Vec<String>,
    /// A rotated refresh token never outlives the one it replaces.
    refresh_ends_by: Option<u64>,
    /// The `nonce` of the authorization request, for the ID token.
    nonce: Option<&'a str>,
}

impl<'a> UserTokens<'a> {
    fn new(client_id: &'a str, username: &'a str, scopes: Vec<String>) -> Self {
        Self {
            client_id,
            username,
            scopes,
            refresh_ends_by: None,
            nonce: None,
        }
    }

    async fn issue(self, state: &AppState) -> Result<Response, ApiError> {
        let Self {
            client_id,
            username,
            scopes,
            refresh_ends_by,
            nonce,
        } = self;
        let lifetime = state.issuance.lifetimes.access_token;
        let scope = scopes.join(" ");
        let (access, _) = state
            .issue_token(
                TokenKind::Access {
                    scopes: scopes.clone(),
                },
                client_id,
                username,
                lifetime,
            )
            .await?;
        let id_token = if scopes.iter().any(|s| s == "openid") {
            Some(ClaimToken::new(id_token(
                state,
                username,
                client_id,
                nonce,
                Some(&access),
            )?))
        } else {
            None
        };
        let refresh_lifetime = match refresh_ends_by {
            Some(end) => state
                .issuance
                .lifetimes
                .refresh_token
                .min(std::time::Duration::from_secs(end.saturating_sub(now()))),
            None => state.issuance.lifetimes.refresh_token,
        };
        let (refresh, _) = state
            .issue_token(
                TokenKind::Refresh { scopes },
                client_id,
                username,
                refresh_lifetime,
            )
            .await?;
        Ok(token_response(TokenResponse {
            refresh_token: Some(AccessToken::new(refresh)),
            scope: (!scope.is_empty()).then_some(scope),
            id_token,
            ..bearer_response(access, lifetime.as_secs())
        }))
    }
}

/// `refresh_token` (RFC 6749 §6): a new access token and a new refresh token; the presented one
/// is spent, so a stolen copy stops working once the client uses its own.
async fn refresh(
    state: &AppState,
    caller: &Caller,
    params: &FormParams,
) -> Result<Response, ApiError> {
    caller_is_client(caller)?;
    let presented = TokenHash::of(params.require("refresh_token")?);
    let refreshable = |kind: &TokenKind| {
        matches!(
            kind,
            TokenKind::Refresh { .. } | TokenKind::RptRefresh { .. }
        )
    };
    let Some(TokenRecord {
        kind,
        subject,
        expires_at,
        ..
    }) = take_own_token(state, &presented, &caller.client_id, refreshable).await?
    else {
        return Err(ApiError::invalid_grant(
            "the refresh token is unknown, expired, used, revoked or another client's",
        ));
    };
    let requested = scopes_of(params);
    let granted = match kind {
        TokenKind::Refresh { scopes } => scopes,
        TokenKind::RptRefresh {
            permissions,
            resource_server,
            owner,
            policies,
        } => {
            let rpt = Granted {
                permissions,
                policies,
                resource_server,
                owner,
                not_after: None,
            };
            return crate::rpt::refresh(state, caller, &subject, &requested, rpt, expires_at).await;
        }
        // `take_own_token` let only the two kinds above through.
        _ => return Err(ApiError::invalid_grant("that is not a refresh token")),
    };
    if let Some(extra) = requested.iter().find(|s| !granted.contains(s)) {
        return Err(ApiError::invalid_scope(format!(
            "scope {extra:?} was not granted originally"
        )));
    }
    let scopes = if requested.is_empty() {
        granted
    } else {
        requested
    };
    let tokens = UserTokens {
        refresh_ends_by: Some(expires_at),
        ..UserTokens::new(&caller.client_id, &subject, scopes)
    };
    tokens.issue(state).await
}

/// A live single-use token (refresh token, authorization code) of this client and of an
/// accepted kind, deleted as it is taken: of two concurrent uses, one gets it.
async fn take_own_token(
    state: &AppState,
    hash: &TokenHash,
    client_id: &str,
    kind_ok: impl Fn(&TokenKind) -> bool,
) -> Result<Option<TokenRecord>, StoreError> {
    let Some(record) = state
        .store
        .token(hash)
        .await?
        .filter(|r| r.expires_at > now() && r.client_id == client_id && kind_ok(&r.kind))
    else {
        return Ok(None);
    };
    Ok(state.store.delete_token(hash).await?.then_some(record))
}

/// `authorization_code` (RFC 6749 §4.1.3) with PKCE (RFC 7636, S256 only): the code is
/// single-use, bound to its client and redirect URI, and only the verifier of its challenge
/// redeems it. With `uma_protection` among the scopes, the access token is the owner's PAT for
/// this client: the PAT of FedAuthz §1.3, unique to owner, resource server and AS.
async fn authorization_code(
    state: &AppState,
    caller: &Caller,
    params: &FormParams,
) -> Result<Response, ApiError> {
    use base64::Engine as _;
    use sha2::{Digest, Sha256};
    caller_is_client(caller)?;
    let code = TokenHash::of(params.require("code")?);
    let redirect_uri = params.require("redirect_uri")?;
    let verifier = params.require("code_verifier")?;
    let invalid =
        || ApiError::invalid_grant("the code is unknown, expired, used, or not for this client");
    let is_code = |kind: &TokenKind| matches!(kind, TokenKind::AuthorizationCode { .. });
    let record = take_own_token(state, &code, &caller.client_id, is_code)
        .await?
        .ok_or_else(invalid)?;
    let TokenKind::AuthorizationCode {
        redirect_uri: expected_uri,
        scopes,
        code_challenge,
        nonce,
    } = record.kind
    else {
        return Err(invalid());
    };
    if expected_uri != redirect_uri {
        return Err(ApiError::invalid_grant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        computed.as_bytes(),
        code_challenge.as_bytes(),
    )) {
        return Err(ApiError::invalid_grant(
            "the code_verifier does not match the code_challenge",
        ));
    }
    let tokens = UserTokens {
        nonce: nonce.as_deref(),
        ..UserTokens::new(&caller.client_id, &record.subject, scopes)
    };
    tokens.issue(state).await
}

/// The revocation endpoint (RFC 7009): the client a token was issued to, or the resource server
/// an RPT is for, may revoke it. An unknown token is not an error (RFC 7009 §2.2).
pub(crate) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: FormParams,
) -> Result<Response, ApiError> {
    let client_id = authenticate_client(&state, &headers, &params)?;
    let hash = TokenHash::of(params.require("token")?);
    if let Some(record) = state.store.token(&hash).await? {
        let may_revoke = record.client_id == client_id
            || matches!(&record.kind, TokenKind::Rpt { resource_server, .. } if *resource_server == client_id);
        if may_revoke {
            state.store.delete_token(&hash).await?;
        }
    }
    let mut response = StatusCode::OK.into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
