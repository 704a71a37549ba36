//! The token endpoint (RFC 6749 §3.2): `client_credentials` for PATs, `password` and
//! `refresh_token` for users' access tokens, and the UMA grant for RPTs (Grant §3.3).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uma_client::token::ID_TOKEN_FORMAT;
use uma_client::{
    AccessToken, ClaimToken, ErrorCode, Permission, TokenResponse, UMA_PROTECTION_SCOPE,
    UMA_TICKET_GRANT_TYPE,
};

use crate::assessment::{Party, grant, requested_scopes};
use crate::error::ApiError;
use crate::request::{Authorization, FormParams};
use crate::secret::{self, TokenHash};
use crate::server::{AppState, RegisteredClient, is_pat};
use crate::store::{Policy, Resource, StoreError, TokenKind, TokenRecord};
use crate::time::now;

const EMPTY_CLAIMS: &std::collections::BTreeMap<String, String> =
    &std::collections::BTreeMap::new();

/// Who is calling the token endpoint.
#[derive(Debug)]
struct Caller {
    /// The client making the request.
    client_id: String,
    /// The user whose access token the client presented (Keycloak's dialect), if it did.
    bearer_subject: Option<String>,
}

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
    if !supported.contains(&grant_type) || (grant_type == "password" && !state.password_grant) {
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
        let record = state
            .store
            .token(&TokenHash::of(&token))
            .await?
            .filter(|r| r.expires_at > now())
            .filter(|r| matches!(r.kind, TokenKind::Access { .. }) && !is_pat(r))
            .ok_or_else(|| ApiError::invalid_client(state.realm(), Some("Bearer")))?;
        return Ok(Caller {
            client_id: record.client_id,
            bearer_subject: Some(record.subject),
        });
    }
    Ok(Caller {
        client_id: authenticate_client(state, headers, params)?,
        bearer_subject: None,
    })
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
                .ok_or_else(|| ApiError::invalid_client(state.realm(), Some("Basic")))
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

fn verify_client(state: &AppState, id: &str, secret: &str) -> Option<String> {
    let presented = TokenHash::of(secret);
    // Hash and compare even for an unknown client id, so that timing does not tell which ids exist.
    let unknown = TokenHash::of("");
    let expected = state.clients.get(id).map_or(&unknown, |c| &c.secret_hash);
    (presented.ct_eq(expected) && state.clients.contains_key(id)).then(|| id.to_owned())
}

/// A successful token response with the headers RFC 6749 §5.1 requires.
fn token_response(body: TokenResponse) -> Response {
    let mut response = (StatusCode::OK, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn bearer_response(token: String, lifetime: u64) -> TokenResponse {
    TokenResponse {
        access_token: AccessToken::new(token),
        token_type: "Bearer".to_owned(),
        expires_in: Some(lifetime),
        refresh_token: None,
        scope: None,
        id_token: None,
        pct: None,
        upgraded: None,
    }
}

fn scopes_of(params: &FormParams) -> Vec<String> {
    params
        .get("scope")
        .map(|s| {
            s.split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn caller_is_client(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    match caller.bearer_subject {
        None => Ok(()),
        Some(_) => Err(ApiError::invalid_client(state.realm(), None)),
    }
}

/// `client_credentials` (RFC 6749 §4.4): a PAT when `uma_protection` is asked for, or by default.
async fn client_credentials(
    state: &AppState,
    caller: &Caller,
    params: &FormParams,
) -> Result<Response, ApiError> {
    caller_is_client(state, caller)?;
    let mut scopes = scopes_of(params);
    if scopes.is_empty() {
        scopes.push(UMA_PROTECTION_SCOPE.to_owned());
    }
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
        scope: Some(scope),
        ..bearer_response(token, lifetime.as_secs())
    }))
}

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
    caller_is_client(state, caller)?;
    let username = params.require("username")?;
    let password = params.require("password")?;
    let user = state.users.get(username);
    let hash = user.and_then(|u| u.password_hash.as_deref());
    // Verify against a hash even for an unknown user, so that timing does not tell who exists.
    let valid = match hash {
        Some(hash) => crate::password::verify(password, hash),
        None => {
            crate::password::verify(password, crate::password::DUMMY_HASH);
            false
        }
    };
    if !valid {
        return Err(ApiError::invalid_grant("the username or password is wrong"));
    }
    let scopes = scopes_of(params);
    if let Some(unknown) = scopes.iter().find(|s| !USER_SCOPES.contains(&s.as_str())) {
        return Err(ApiError::invalid_scope(format!(
            "scope {unknown:?} is not available"
        )));
    }
    issue_user_tokens(state, &caller.client_id, username, scopes).await
}

async fn issue_user_tokens(
    state: &AppState,
    client_id: &str,
    username: &str,
    scopes: Vec<String>,
) -> Result<Response, ApiError> {
    let lifetime = state.lifetimes.access_token;
    let id_token = if scopes.iter().any(|s| s == "openid") {
        Some(ClaimToken::new(id_token(state, username, client_id)?))
    } else {
        None
    };
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
    let (refresh, _) = state
        .issue_token(
            TokenKind::Refresh { scopes },
            client_id,
            username,
            state.lifetimes.refresh_token,
        )
        .await?;
    Ok(token_response(TokenResponse {
        refresh_token: Some(AccessToken::new(refresh)),
        scope: (!scope.is_empty()).then_some(scope),
        id_token,
        ..bearer_response(access, lifetime.as_secs())
    }))
}

/// `refresh_token` (RFC 6749 §6): a new access token and a new refresh token; the presented one
/// is spent, so a stolen copy stops working once the client uses its own.
async fn refresh(
    state: &AppState,
    caller: &Caller,
    params: &FormParams,
) -> Result<Response, ApiError> {
    caller_is_client(state, caller)?;
    let presented = TokenHash::of(params.require("refresh_token")?);
    let refreshable = |kind: &TokenKind| {
        matches!(
            kind,
            TokenKind::Refresh { .. } | TokenKind::RptRefresh { .. }
        )
    };
    let Some(TokenRecord { kind, subject, .. }) =
        take_own_token(state, &presented, &caller.client_id, refreshable).await?
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
            };
            return refresh_rpt(state, caller, &subject, &requested, rpt).await;
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
    issue_user_tokens(state, &caller.client_id, &subject, scopes).await
}

/// Refreshes an RPT (Grant §3.6): the same permissions, with no new assessment (the MUST NOT of
/// §3.6); a `scope` narrows them to those scopes. The policies they rely on still revoke it.
async fn refresh_rpt(
    state: &AppState,
    caller: &Caller,
    party: &str,
    requested: &[String],
    mut granted: Granted,
) -> Result<Response, ApiError> {
    if !requested.is_empty() {
        for permission in &mut granted.permissions {
            permission
                .resource_scopes
                .retain(|s| requested.iter().any(|r| r == s.as_str()));
        }
        granted
            .permissions
            .retain(|p| !p.resource_scopes.is_empty());
        if granted.permissions.is_empty() {
            return Err(ApiError::invalid_scope(
                "none of the scopes asked for is in the RPT",
            ));
        }
    }
    let (rpt, refresh) = issue_rpt(state, &caller.client_id, party, granted).await?;
    Ok(token_response(TokenResponse {
        refresh_token: Some(AccessToken::new(refresh)),
        ..bearer_response(rpt, state.lifetimes.rpt.as_secs())
    }))
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
    caller_is_client(state, caller)?;
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
    issue_user_tokens(state, &caller.client_id, &record.subject, scopes).await
}

/// The claims of the ID tokens this server issues and accepts back as claim tokens.
#[derive(Debug, Serialize, Deserialize)]
struct IdTokenClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    #[serde(flatten)]
    extra: serde_json::Map<String, Value>,
}

/// An ID token for `username`, audience `client_id`, with the user's configured claims.
pub(crate) fn id_token(
    state: &AppState,
    username: &str,
    client_id: &str,
) -> Result<String, ApiError> {
    let user = state
        .users
        .get(username)
        .ok_or_else(|| ApiError::invalid_grant("unknown user"))?;
    let iat = now();
    let mut extra = serde_json::Map::new();
    extra.insert("preferred_username".to_owned(), Value::from(username));
    for (name, value) in &user.claims {
        extra.insert(name.clone(), Value::from(value.as_str()));
    }
    let claims = IdTokenClaims {
        iss: state.issuer.clone(),
        sub: username.to_owned(),
        aud: client_id.to_owned(),
        exp: iat + state.lifetimes.access_token.as_secs(),
        iat,
        extra,
    };
    Ok(state.keys.sign(&claims)?)
}

/// Checks a pushed ID token (Grant §3.3.1, §5.7): our signature by a published key with the
/// algorithm pinned to EdDSA, our `iss`, `aud` = the presenting client, not expired.
/// Returns the user it names.
async fn verify_id_token(
    state: &AppState,
    token: &str,
    client_id: &str,
) -> Result<String, ApiError> {
    let invalid =
        |why: &str| ApiError::invalid_grant(format!("the claim token is not usable: {why}"));
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
    if header.alg != Algorithm::EdDSA {
        return Err(invalid("unexpected algorithm"));
    }
    let kid = header.kid.ok_or_else(|| invalid("no kid"))?;
    let keys = state.store.signing_keys().await?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| invalid("unknown signing key"))?;
    let decoding = DecodingKey::from_ed_der(&key.public);
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[&state.issuer]);
    validation.set_audience(&[client_id]);
    validation.leeway = 5;
    let claims = jsonwebtoken::decode::<IdTokenClaims>(token, &decoding, &validation)
        .map_err(|e| invalid(&e.to_string()))?
        .claims;
    if !state.is_user(&claims.sub) {
        return Err(invalid("unknown subject"));
    }
    Ok(claims.sub)
}

/// The claims of a JWT RPT: RFC 9068-like registered claims plus Keycloak's
/// `authorization.permissions`, which enforcers written for Keycloak read.
#[derive(Debug, Serialize)]
struct RptClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    azp: &'a str,
    exp: u64,
    iat: u64,
    jti: String,
    authorization: RptAuthorization<'a>,
}

#[derive(Debug, Serialize)]
struct RptAuthorization<'a> {
    permissions: &'a [Permission],
}

/// The UMA grant (Grant §3.3.1–§3.3.6).
async fn uma_grant(
    state: &AppState,
    caller: &Caller,
    client: &RegisteredClient,
    params: &FormParams,
) -> Result<Response, ApiError> {
    let ticket = params.require("ticket")?;
    let pushed = match (params.get("claim_token"), params.get("claim_token_format")) {
        (Some(_), None) | (None, Some(_)) => {
            return Err(ApiError::invalid_request(
                "claim_token and claim_token_format must be sent together",
            ));
        }
        (Some(token), Some(ID_TOKEN_FORMAT)) => {
            Some(verify_id_token(state, token, &caller.client_id).await?)
        }
        (Some(_), Some(format)) => {
            return Err(ApiError::invalid_request(format!(
                "claim token format {format:?} is not supported"
            )));
        }
        (None, None) => None,
    };
    if let (Some(pushed), Some(bearer)) = (&pushed, &caller.bearer_subject) {
        if pushed != bearer {
            return Err(ApiError::invalid_request(
                "the claim token and the bearer token name different users",
            ));
        }
    }
    // A PCT stands for the claims gathered earlier; only the client it was issued to may use it
    // (Grant §5.2), and one of another client's is not honoured.
    let persisted = match params.get("pct") {
        Some(pct) => state
            .store
            .token(&TokenHash::of(pct))
            .await?
            .filter(|r| matches!(r.kind, TokenKind::Pct) && r.expires_at > now())
            .filter(|r| r.client_id == caller.client_id)
            .map(|r| r.subject),
        None => None,
    };
    // The requesting party: the user of a pushed ID token, else of the bearer token, else of the
    // PCT, else the client itself.
    let pushed_claims = pushed.is_some();
    let party_id = pushed
        .or_else(|| caller.bearer_subject.clone())
        .or(persisted)
        .unwrap_or_else(|| caller.client_id.clone());
    let requested = scopes_of(params);

    // Presenting a ticket spends it, whatever the outcome (Grant §5.5): take it out of the store
    // in one atomic step before anything else can fail.
    let ticket = state
        .store
        .take_ticket(&TokenHash::of(ticket))
        .await?
        .filter(|t| t.expires_at > now())
        .ok_or_else(|| ApiError::invalid_grant("the ticket is unknown, expired or already used"))?;

    // A person who signed in at the claims interaction endpoint for this client is the party
    // (unless the client pushed or presented someone else), and their claims are persisted.
    let (party_id, pushed_claims) = match &ticket.gathered {
        Some(gathered)
            if gathered.client_id == caller.client_id
                && !pushed_claims
                && caller
                    .bearer_subject
                    .as_ref()
                    .is_none_or(|b| *b == gathered.party) =>
        {
            (gathered.party.clone(), true)
        }
        _ => (party_id, pushed_claims),
    };
    // Every decision on a ticket is recorded for the owner to read (explainable decisions).
    let mut explanation = Explanation::default();
    let (owner, asked) = (ticket.owner.clone(), ticket.permissions.clone());
    let assessment = Assessment {
        caller,
        client,
        params,
        party_id: &party_id,
        pushed_claims,
        requested,
    };
    let result = assess(state, assessment, ticket, &mut explanation).await;
    let outcome = match &result {
        Ok(_) => "granted",
        Err(error) => error.code().as_str(),
    };
    // Recorded before answering, so that the owner reads every decision a client has seen.
    crate::decisions::record(
        state.clone(),
        owner,
        asked,
        party_id.clone(),
        caller.client_id.clone(),
        outcome.to_owned(),
        explanation,
    )
    .await;
    result
}

/// What a grant request asks, once the ticket is taken.
struct Assessment<'a> {
    caller: &'a Caller,
    client: &'a RegisteredClient,
    params: &'a FormParams,
    party_id: &'a str,
    pushed_claims: bool,
    requested: Vec<String>,
}

/// Why a decision went as it did, for the owner's record.
#[derive(Debug, Default)]
pub(crate) struct Explanation {
    pub(crate) granted: Vec<Permission>,
    pub(crate) policies: Vec<String>,
    pub(crate) reason: Option<String>,
}

/// The assessment of Grant §3.3.4 for a taken ticket, and its answer.
async fn assess(
    state: &AppState,
    assessment: Assessment<'_>,
    ticket: crate::store::Ticket,
    explanation: &mut Explanation,
) -> Result<Response, ApiError> {
    let Assessment {
        caller,
        client,
        params,
        party_id,
        pushed_claims,
        requested,
    } = assessment;
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

    let user = state.users.get(party_id);
    let party = Party {
        id: party_id,
        client_id: &caller.client_id,
        groups: user.map_or(&[], |u| u.groups.as_slice()),
        claims: user.map_or(EMPTY_CLAIMS, |u| &u.claims),
    };
    let now = now();
    let mut permissions = Vec::with_capacity(resources.len());
    let mut wants_a_user = false;
    // Claims that would let a policy grant what is asked, and that the party lacks.
    let mut missing_claims: BTreeSet<String> = BTreeSet::new();
    let mut ungranted: Vec<(&Resource, &BTreeSet<String>)> = Vec::new();
    // The policies the RPT relies on: changing or deleting one revokes it.
    let mut relied_on: Vec<String> = Vec::new();
    for ((resource, _), requested) in resources.iter().zip(&per_resource) {
        let policies = state.store.policies_for(&resource.id).await?;
        match grant(resource, requested, &policies, &party, now) {
            Some(granted) if granted.scopes == *requested => {
                relied_on.extend(granted.policies.iter().map(|p| p.id.clone()));
                let mut permission = Permission::new(resource.id.clone(), granted.scopes);
                permission.resource_name = resource.description.name.clone();
                permissions.push(permission);
            }
            _ => {
                wants_a_user |= policies.iter().any(Policy::names_users);
                for policy in policies.iter().filter(|p| p.holds_but_claims(&party, now)) {
                    missing_claims
                        .extend(policy.missing_claims(&party).into_iter().map(str::to_owned));
                }
                ungranted.push((resource, requested));
            }
        }
    }
    if !ungranted.is_empty() {
        // A party the server cannot tell from its client, before a policy that names people:
        // ask who it is (Grant §3.3.6 need_info), with a new ticket for the same permissions.
        if wants_a_user && user.is_none() {
            explanation.reason = Some(format!(
                "a policy names people, and {party_id} is not identified as one"
            ));
            let ticket = crate::permission::issue_ticket(
                state,
                ticket.permissions,
                ticket.owner,
                ticket.resource_server,
            )
            .await?;
            return Err(need_info(state, ticket, &["sub".to_owned()]));
        }
        // A known party lacking claims a policy asks for, who has not just pushed some: ask for
        // them. (After a push that still lacks them, the answer is a denial, not a loop.)
        if !missing_claims.is_empty() && !pushed_claims {
            let names: Vec<String> = missing_claims.into_iter().collect();
            explanation.reason = Some(format!("{party_id} lacks the claims {names:?}"));
            let ticket = crate::permission::issue_ticket(
                state,
                ticket.permissions,
                ticket.owner,
                ticket.resource_server,
            )
            .await?;
            return Err(need_info(state, ticket, &names));
        }
        // Resources whose owner asked to be asked: put the request to them.
        if ungranted
            .iter()
            .all(|(r, _)| r.description.owner_managed_access == Some(true))
            && crate::owner::submit(state, &ungranted, party_id, &caller.client_id).await?
        {
            explanation.reason = Some("the owner has been asked".to_owned());
            let ticket = crate::permission::issue_ticket(
                state,
                ticket.permissions,
                ticket.owner,
                ticket.resource_server,
            )
            .await?;
            let interval = state.approval_poll_interval.as_secs();
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::RequestSubmitted,
                "the resource owner has been asked",
            )
            .with_uma(|body| {
                body.ticket = Some(ticket);
                body.interval = Some(interval);
            }));
        }
        let missing: Vec<&str> = ungranted.iter().map(|(r, _)| r.id.as_str()).collect();
        explanation.reason = Some(format!(
            "no policy grants {party_id} all the scopes asked of {missing:?}"
        ));
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::RequestDenied,
            "the resource owner's policies do not grant these permissions",
        ));
    }

    let upgraded = match params.get("rpt") {
        Some(old) => {
            let carried = (&mut permissions, &mut relied_on);
            upgrade(state, old, caller, party_id, &ticket, carried).await?
        }
        None => false,
    };
    explanation.granted = permissions.clone();
    explanation.policies = relied_on.clone();
    explanation.reason = Some(if party_id == ticket.owner {
        "the owner's own resource".to_owned()
    } else {
        format!("granted by the policies {relied_on:?}")
    });
    let granted = Granted {
        permissions,
        policies: relied_on,
        resource_server: ticket.resource_server,
        owner: ticket.owner,
    };
    let (rpt, refresh) = issue_rpt(state, &caller.client_id, party_id, granted).await?;
    // Claims pushed in this request are persisted for the next grants of this client and party.
    let pct = if pushed_claims {
        let (pct, _) = state
            .issue_token(
                TokenKind::Pct,
                &caller.client_id,
                party_id,
                state.lifetimes.pct,
            )
            .await?;
        Some(uma_client::Pct::new(pct))
    } else {
        None
    };
    tracing::info!(client = %caller.client_id, party = %party_id, upgraded, "RPT issued");
    // No `scope` member: an RPT's scopes belong to resources, which the client does not see
    // (Grant §3.3.5).
    Ok(token_response(TokenResponse {
        pct,
        upgraded: upgraded.then_some(true),
        refresh_token: Some(AccessToken::new(refresh)),
        ..bearer_response(rpt, state.lifetimes.rpt.as_secs())
    }))
}

/// `403 need_info` asking for these claims in an ID token of this server, or gathered at its
/// claims interaction endpoint (Grant §3.3.6).
fn need_info(state: &AppState, ticket: uma_client::PermissionTicket, names: &[String]) -> ApiError {
    let claims = names
        .iter()
        .map(|name| uma_client::RequiredClaim {
            claim_token_format: vec![ID_TOKEN_FORMAT.to_owned()],
            claim_type: None,
            friendly_name: Some(if name == "sub" {
                "the requesting party's identity".to_owned()
            } else {
                name.clone()
            }),
            issuer: vec![state.issuer.clone()],
            name: Some(name.clone()),
        })
        .collect();
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::NeedInfo,
        "more claims about the requesting party are needed: push an ID token of this server",
    )
    .with_uma(|body| {
        body.ticket = Some(ticket);
        body.required_claims = Some(claims);
        body.redirect_user = Some(state.endpoint(crate::server::paths::CLAIMS));
    })
}

/// RPT upgrade (Grant §3.3.5.1): the permissions of `old` that are still valid join the new
/// ones, and `old` is revoked. Only a live RPT of this client, party, resource server and owner
/// is upgraded; any other `rpt` is ignored.
async fn upgrade(
    state: &AppState,
    old: &str,
    caller: &Caller,
    party: &str,
    ticket: &crate::store::Ticket,
    (permissions, relied_on): (&mut Vec<Permission>, &mut Vec<String>),
) -> Result<bool, ApiError> {
    let hash = TokenHash::of(old);
    let Some(record) = state.store.token(&hash).await? else {
        return Ok(false);
    };
    let TokenKind::Rpt {
        permissions: previous,
        resource_server,
        owner,
        policies,
    } = record.kind
    else {
        return Ok(false);
    };
    let ours = record.client_id == caller.client_id
        && record.subject == party
        && resource_server == ticket.resource_server
        && owner == ticket.owner
        && record.expires_at > now();
    if !ours {
        return Ok(false);
    }
    for mut kept in previous {
        match permissions
            .iter_mut()
            .find(|p| p.resource_id == kept.resource_id)
        {
            Some(existing) => {
                for scope in kept.resource_scopes {
                    if !existing.resource_scopes.contains(&scope) {
                        existing.resource_scopes.push(scope);
                    }
                }
            }
            None => {
                // A carried-over permission keeps the expiry of the RPT it came from.
                kept.exp = Some(
                    kept.exp
                        .map_or(record.expires_at, |e| e.min(record.expires_at)),
                );
                permissions.push(kept);
            }
        }
    }
    relied_on.extend(policies);
    // The client must discard the old RPT; revoking it makes sure (Grant §3.3.5.1).
    state.store.delete_token(&hash).await?;
    Ok(true)
}

/// What an RPT grants, and on what.
struct Granted {
    permissions: Vec<Permission>,
    policies: Vec<String>,
    resource_server: String,
    owner: String,
}

/// Mints an RPT (a JWT or a handle, as configured) and records it for introspection and
/// revocation.
/// Returns the RPT and its refresh token.
async fn issue_rpt(
    state: &AppState,
    client_id: &str,
    party: &str,
    granted: Granted,
) -> Result<(String, String), StoreError> {
    let issued_at = now();
    let expires_at = issued_at + state.lifetimes.rpt.as_secs();
    let token = match state.rpt_format {
        crate::server::RptFormat::Opaque => secret::new_token(),
        crate::server::RptFormat::Jwt => state.keys.sign(&RptClaims {
            iss: &state.issuer,
            sub: party,
            aud: &granted.resource_server,
            azp: client_id,
            exp: expires_at,
            iat: issued_at,
            jti: secret::new_id(),
            authorization: RptAuthorization {
                permissions: &granted.permissions,
            },
        })?,
    };
    // A refresh token for the same permissions (Grant §3.6), relying on the same policies.
    let (refresh, _) = state
        .issue_token(
            TokenKind::RptRefresh {
                permissions: granted.permissions.clone(),
                resource_server: granted.resource_server.clone(),
                owner: granted.owner.clone(),
                policies: granted.policies.clone(),
            },
            client_id,
            party,
            state.lifetimes.refresh_token,
        )
        .await?;
    let record = TokenRecord {
        kind: TokenKind::Rpt {
            permissions: granted.permissions,
            resource_server: granted.resource_server,
            owner: granted.owner,
            policies: granted.policies,
        },
        client_id: client_id.to_owned(),
        subject: party.to_owned(),
        issued_at,
        expires_at,
    };
    state.store.put_token(TokenHash::of(&token), record).await?;
    Ok((token, refresh))
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
