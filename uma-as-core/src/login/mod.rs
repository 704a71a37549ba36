//! The two pages where a person signs in: the claims interaction endpoint (Grant §3.3.2–§3.3.3),
//! where a requesting party identifies themselves during the UMA grant, and the authorization
//! endpoint (RFC 6749 §4.1 with PKCE, RFC 7636), where an owner lets a client (such as a
//! resource server wanting a PAT) act for them.
//!
//! Both validate the client and its redirect URI before anything else and never redirect to a
//! URI that is not registered for that use (Grant CI-5). Every value the server keeps for a page
//! is bounded, and so is the number of pages in progress (TM-15). The page's session lives in the
//! store, under the hash of a random id kept in an `HttpOnly`, `SameSite=Strict` cookie; the form
//! carries a CSRF token that must match the session's (Grant §5.1). A session takes a few wrong
//! passwords, then ends; failures are also counted per account and per network peer, which are
//! locked for longer and longer (TM-20).

mod page;
mod sessions;

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::peer::Peer;
use crate::request::FormParams;
use crate::secret::{self, TokenHash};
use crate::server::{AppState, RegisteredClient};
use crate::store::{Gathered, LoginPurpose, LoginSession, TokenKind, TokenRecord};
use crate::throttle::Key;
use crate::time::now;

pub(crate) use page::SessionCookie;
pub(crate) use sessions::SignInSessions;

use page::{Form, error_page, sign_in_page};

/// How long a sign-in page stays usable, and how long an authorization code.
const LOGIN_LIFETIME: Duration = Duration::from_secs(600);
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// Wrong passwords one sign-in session takes before it ends.
const ATTEMPTS: u32 = 5;

/// The longest `state` and `nonce` kept for a client (TM-15).
const MAX_STATE: usize = 512;
/// The longest client id, ticket or redirect URI read.
const MAX_PARAMETER: usize = 2048;
/// The longest `scope`.
const MAX_SCOPE: usize = 1024;
/// The longest username and password checked: a longer password would only cost argon2 time.
const MAX_USERNAME: usize = 256;
const MAX_PASSWORD: usize = 1024;

/// `uri` with these parameters added to its query (keeping the query it has).
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
    }
    Some(url.to_string())
}

/// A redirect back to a verified URI with an RFC 6749 §4.1.2.1 error.
fn error_redirect(uri: &str, error: &str, state: Option<&str>) -> Response {
    let mut pairs = vec![("error", error)];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    match with_query(uri, &pairs) {
        Some(location) => Redirect::to(&location).into_response(),
        None => error_page(StatusCode::BAD_REQUEST, "the redirect URI is not usable"),
    }
}

/// `400` for a value longer than the server keeps: shown, never redirected (the value would
/// travel back in the redirect).
fn too_long(name: &str) -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        &format!("the parameter {name} is too long"),
    )
}

/// Checks the bounds of every value a sign-in page keeps; the name of the first one over.
fn over_bounds<'a>(values: &[(&'a str, Option<&str>, usize)]) -> Option<&'a str> {
    values
        .iter()
        .find(|(_, value, max)| value.is_some_and(|v| v.len() > *max))
        .map(|(name, _, _)| *name)
}

/// What the page tells the person the client asks for: they consent to exactly that.
fn prompt(client_id: &str, purpose: &LoginPurpose) -> String {
    match purpose {
        LoginPurpose::Authorize { scopes, .. }
            if scopes.iter().any(|s| s == uma_types::UMA_PROTECTION_SCOPE) =>
        {
            format!("{client_id} asks to manage sharing of your resources.")
        }
        LoginPurpose::Authorize { .. } => format!("{client_id} asks to sign you in."),
        LoginPurpose::Claims { .. } => format!("{client_id} asks who you are."),
        LoginPurpose::Console => "Sign in to see and manage what you share.".to_owned(),
    }
}

fn action(state: &AppState, purpose: &LoginPurpose) -> String {
    match purpose {
        LoginPurpose::Claims { .. } => state.issuer.endpoint(crate::server::paths::CLAIMS),
        LoginPurpose::Authorize { .. } => state.issuer.endpoint(crate::server::paths::AUTHORIZE),
        LoginPurpose::Console => crate::console::sign_in_url(state),
    }
}

/// The sign-in form, with a fresh session.
pub(crate) async fn login_form(
    state: &AppState,
    client_id: &str,
    session: LoginSession,
) -> Response {
    let id = secret::new_token();
    let (csrf, redirect_uri) = (session.csrf.clone(), session.redirect_uri.clone());
    let (prompt, action) = (
        prompt(client_id, &session.purpose),
        action(state, &session.purpose),
    );
    match sessions::start(state, &id, client_id, session).await {
        Ok(()) => {}
        Err(sessions::NotStarted::Full) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many sign-ins are in progress: please try again in a few minutes",
            );
        }
        Err(sessions::NotStarted::Store(error)) => {
            tracing::error!(%error, "a sign-in session could not be stored");
            return error_page(StatusCode::SERVICE_UNAVAILABLE, "please try again later");
        }
    }
    let form = Form {
        action: &action,
        prompt: &prompt,
        csrf: &csrf,
        message: None,
        redirect_uri: &redirect_uri,
    };
    sign_in_page(state, &form, Some(&id))
}

/// The redirect URI to use: the one given if it exactly matches a registered one (RFC 3986
/// §6.2.1 simple string comparison), or the only one registered when none is given.
fn redirect_uri<'a>(
    registered: &'a [String],
    given: Option<&'a str>,
) -> Result<&'a str, &'static str> {
    match (given, registered) {
        (Some(uri), registered) if registered.iter().any(|r| r == uri) => Ok(uri),
        (Some(_), _) => Err("the redirect URI is not registered for this client"),
        (None, [only]) => Ok(only),
        (None, []) => Err("this client has registered no redirect URI for this"),
        (None, _) => Err("the client must say which of its redirect URIs to use"),
    }
}

/// `GET {issuer}/claims` (Grant §3.3.2): checks the client and its claims redirect URI, spends
/// the ticket, and shows the sign-in form.
pub(crate) async fn claims(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let get = |name: &str| query.get(name).map(String::as_str);
    if let Some(name) = over_bounds(&[
        ("client_id", get("client_id"), MAX_PARAMETER),
        (
            "claims_redirect_uri",
            get("claims_redirect_uri"),
            MAX_PARAMETER,
        ),
        ("ticket", get("ticket"), MAX_PARAMETER),
        ("state", get("state"), MAX_STATE),
    ]) {
        return too_long(name);
    }
    let Some((client_id, client)) =
        get("client_id").and_then(|id| state.registry.clients.get_key_value(id))
    else {
        return error_page(StatusCode::BAD_REQUEST, "unknown or missing client_id");
    };
    let redirect = match redirect_uri(&client.claims_redirect_uris, get("claims_redirect_uri")) {
        Ok(uri) => uri.to_owned(),
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, problem),
    };
    let state_param = get("state").map(str::to_owned);
    // From here the redirect URI is verified: errors go back to the client (CI-6).
    let Some(ticket) = get("ticket") else {
        return error_redirect(&redirect, "invalid_request", state_param.as_deref());
    };
    // Presenting the ticket here spends it (Grant §5.5, TK-3).
    let ticket = match state.store.take_ticket(&TokenHash::of(ticket)).await {
        Ok(Some(ticket)) if ticket.expires_at > now() => ticket,
        Ok(_) => return error_redirect(&redirect, "invalid_request", state_param.as_deref()),
        Err(_) => {
            return error_redirect(&redirect, "temporarily_unavailable", state_param.as_deref());
        }
    };
    let session = LoginSession {
        csrf: secret::new_id(),
        redirect_uri: redirect,
        state: state_param,
        purpose: LoginPurpose::Claims {
            permissions: ticket.permissions,
            owner: ticket.owner,
            resource_server: ticket.resource_server,
        },
        failures: 0,
    };
    login_form(&state, client_id, session).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// An S256 PKCE challenge: 43 to 128 characters of RFC 7636 §4.2's alphabet.
fn is_code_challenge(challenge: &str) -> bool {
    (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `GET {issuer}/authorize` (RFC 6749 §4.1.1, RFC 7636): checks the client and redirect URI,
/// requires an S256 PKCE challenge, and shows the sign-in form.
pub(crate) async fn authorize(
    State(state): State<AppState>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    if let Some(name) = over_bounds(&[
        ("client_id", query.client_id.as_deref(), MAX_PARAMETER),
        ("redirect_uri", query.redirect_uri.as_deref(), MAX_PARAMETER),
        ("scope", query.scope.as_deref(), MAX_SCOPE),
        ("state", query.state.as_deref(), MAX_STATE),
        ("nonce", query.nonce.as_deref(), MAX_STATE),
        ("code_challenge", query.code_challenge.as_deref(), 128),
    ]) {
        return too_long(name);
    }
    let Some((client_id, client)) = query
        .client_id
        .as_deref()
        .and_then(|id| state.registry.clients.get_key_value(id))
    else {
        return error_page(StatusCode::BAD_REQUEST, "unknown or missing client_id");
    };
    let redirect = match redirect_uri(&client.redirect_uris, query.redirect_uri.as_deref()) {
        Ok(uri) => uri.to_owned(),
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, problem),
    };
    let back = |error: &str| error_redirect(&redirect, error, query.state.as_deref());
    if query.response_type.as_deref() != Some("code") {
        return back("unsupported_response_type");
    }
    if !allows(client, "authorization_code") {
        return back("unauthorized_client");
    }
    let (Some(challenge), Some("S256")) = (
        &query.code_challenge,
        query.code_challenge_method.as_deref(),
    ) else {
        // PKCE is required, and only S256: `plain` would send the verifier itself.
        return back("invalid_request");
    };
    if !is_code_challenge(challenge) {
        return back("invalid_request");
    }
    let scopes: Vec<String> = query
        .scope
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if scopes
        .iter()
        .any(|s| !crate::token::USER_SCOPES.contains(&s.as_str()))
    {
        return back("invalid_scope");
    }
    let session = LoginSession {
        csrf: secret::new_id(),
        redirect_uri: redirect.clone(),
        state: query.state.clone(),
        purpose: LoginPurpose::Authorize {
            scopes,
            code_challenge: challenge.clone(),
            nonce: query.nonce.clone(),
        },
        failures: 0,
    };
    login_form(&state, client_id, session).await
}

fn allows(client: &RegisteredClient, grant: &str) -> bool {
    client.grant_types.iter().any(|g| g == grant)
}

/// `429` with `Retry-After` while a key is locked.
fn locked_page(wait: Duration) -> Response {
    let seconds = wait.as_secs().max(1);
    let mut response = error_page(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("too many failed sign-ins: please wait {seconds} seconds and try again"),
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// `POST` of the sign-in form (either page): checks the session and its CSRF token, then the
/// password, then finishes what the session was for.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    params: FormParams,
) -> Response {
    let Some(id) = state.sign_in.cookie.read(&headers) else {
        return error_page(
            StatusCode::FORBIDDEN,
            "no sign-in session: start again from the application",
        );
    };
    let hash = TokenHash::of(&id);
    let record = match state.store.token(&hash).await {
        Ok(Some(record)) if record.expires_at > now() => record,
        Ok(_) => return error_page(StatusCode::FORBIDDEN, "the sign-in session has expired"),
        Err(_) => return error_page(StatusCode::SERVICE_UNAVAILABLE, "please try again later"),
    };
    let TokenKind::Login(session) = &record.kind else {
        return error_page(StatusCode::FORBIDDEN, "no sign-in session");
    };
    let csrf_ok = params
        .get("csrf")
        .is_some_and(|csrf| bool::from(csrf.as_bytes().ct_eq(session.csrf.as_bytes())));
    if !csrf_ok {
        return error_page(
            StatusCode::FORBIDDEN,
            "the form did not come from this page",
        );
    }
    let (prompt, action) = (
        prompt(&record.client_id, &session.purpose),
        action(&state, &session.purpose),
    );
    let again = |message: &str| {
        let form = Form {
            action: &action,
            prompt: &prompt,
            csrf: &session.csrf,
            message: Some(message),
            redirect_uri: &session.redirect_uri,
        };
        sign_in_page(&state, &form, None)
    };
    let (Some(username), Some(password)) = (params.get("username"), params.get("password")) else {
        return again("Enter your username and password.");
    };
    if username.len() > MAX_USERNAME || password.len() > MAX_PASSWORD {
        return again("Wrong username or password.");
    }
    let mut keys = vec![Key::Account(username.to_owned())];
    keys.extend(peer.map(|ip| Key::Client(format!("peer {ip}"))));
    if let Some(wait) = state.sign_in.throttle.locked(&keys) {
        return locked_page(wait);
    }
    let hash_of = state
        .registry
        .users
        .get(username)
        .and_then(|u| u.password_hash.as_deref());
    if !crate::password::verify_off_runtime(&state.sign_in.password_checks, password, hash_of).await
    {
        state.sign_in.throttle.failed(&keys);
        return wrong_password(&state, &hash, &record, again).await;
    }
    state.sign_in.throttle.succeeded(username);
    let TokenKind::Login(session) = record.kind else {
        return error_page(StatusCode::FORBIDDEN, "no sign-in session");
    };
    finish(&state, &hash, record.client_id, session, username).await
}

/// Counts a wrong password against the session: the form again, or after the last attempt the
/// end of the session.
async fn wrong_password(
    state: &AppState,
    hash: &TokenHash,
    record: &TokenRecord,
    again: impl FnOnce(&str) -> Response,
) -> Response {
    let TokenKind::Login(session) = &record.kind else {
        return error_page(StatusCode::FORBIDDEN, "no sign-in session");
    };
    let failures = session.failures.saturating_add(1);
    if failures >= ATTEMPTS {
        let _ = state.store.delete_token(hash).await;
        let mut response = error_page(
            StatusCode::FORBIDDEN,
            "too many wrong passwords: start again from the application",
        );
        if let Ok(value) = HeaderValue::try_from(state.sign_in.cookie.clear()) {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
        return response;
    }
    let counted = TokenRecord {
        kind: TokenKind::Login(LoginSession {
            failures,
            ..session.clone()
        }),
        ..record.clone()
    };
    if state.store.put_token(*hash, counted).await.is_err() {
        return error_page(StatusCode::SERVICE_UNAVAILABLE, "please try again later");
    }
    again("Wrong username or password.")
}

/// Ends the session (single-use: of two submissions, one finishes it) and sends the browser back
/// to the client with what the session was for: a new ticket, or an authorization code.
async fn finish(
    state: &AppState,
    hash: &TokenHash,
    client_id: String,
    session: LoginSession,
    username: &str,
) -> Response {
    match state.store.delete_token(hash).await {
        Ok(true) => {}
        Ok(false) => return error_page(StatusCode::FORBIDDEN, "this sign-in was already used"),
        Err(_) => return error_page(StatusCode::SERVICE_UNAVAILABLE, "please try again later"),
    }
    let state_param = session.state.as_deref();
    let finished = match session.purpose {
        LoginPurpose::Console => {
            let mut response = crate::console::signed_in_as(state, username).await;
            // The sign-in session is over; drop its cookie.
            if let Ok(value) = HeaderValue::try_from(state.sign_in.cookie.clear()) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            return response;
        }
        LoginPurpose::Claims {
            permissions,
            owner,
            resource_server,
        } => {
            let gathered = Gathered {
                party: username.to_owned(),
                client_id: client_id.clone(),
            };
            crate::permission::issue_ticket_with(
                &*state.store,
                state.issuance.lifetimes.ticket,
                permissions,
                owner,
                resource_server,
                Some(gathered),
            )
            .await
            .ok()
            .map(|ticket| ("ticket", ticket.into_string()))
        }
        LoginPurpose::Authorize {
            scopes,
            code_challenge,
            nonce,
        } => {
            let code = TokenKind::AuthorizationCode {
                redirect_uri: session.redirect_uri.clone(),
                scopes,
                code_challenge,
                nonce,
            };
            state
                .issue_token(code, &client_id, username, CODE_LIFETIME)
                .await
                .ok()
                .map(|(code, _)| ("code", code))
        }
    };
    let Some((name, value)) = finished else {
        return error_redirect(
            &session.redirect_uri,
            "temporarily_unavailable",
            state_param,
        );
    };
    // Only the new ticket (or code) and the state: nothing else goes back (Grant §3.3.3).
    let mut pairs = vec![(name, value.as_str())];
    if let Some(state) = state_param {
        pairs.push(("state", state));
    }
    let mut response = match with_query(&session.redirect_uri, &pairs) {
        Some(location) => Redirect::to(&location).into_response(),
        None => return error_page(StatusCode::BAD_REQUEST, "the redirect URI is not usable"),
    };
    // The session is over; drop its cookie.
    if let Ok(value) = HeaderValue::try_from(state.sign_in.cookie.clear()) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}
