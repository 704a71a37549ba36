//! The two pages where a person signs in: the claims interaction endpoint (Grant §3.3.2–§3.3.3),
//! where a requesting party identifies themselves during the UMA grant, and the authorization
//! endpoint (RFC 6749 §4.1 with PKCE, RFC 7636), where an owner lets a client (such as a
//! resource server wanting a PAT) act for them.
//!
//! Both validate the client and its redirect URI before anything else and never redirect to a
//! URI that is not registered for that use (Grant CI-5). The page's session lives in the store,
//! under the hash of a random id kept in an `HttpOnly`, `SameSite=Strict` cookie; the form carries
//! a CSRF token that must match the session's (Grant §5.1).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::collections::HashMap;
use subtle::ConstantTimeEq;

use crate::request::FormParams;
use crate::secret::{self, TokenHash};
use crate::server::{AppState, RegisteredClient};
use crate::store::{Gathered, LoginPurpose, LoginSession, TokenKind};
use crate::time::now;

/// How long a sign-in page stays usable, and how long an authorization code.
const LOGIN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(600);
const CODE_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);
const COOKIE: &str = "uma_login";

/// An error shown to the person, never redirected (Grant CI-5).
fn error_page(status: StatusCode, message: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><title>Cannot continue</title><h1>Cannot continue</h1><p>{}</p>",
            escape(message)
        )),
    )
        .into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

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

/// The sign-in form, with a fresh session cookie.
async fn login_form(
    state: &AppState,
    client_id: &str,
    action: &str,
    session: LoginSession,
    message: Option<&str>,
) -> Response {
    let id = secret::new_token();
    let csrf = session.csrf.clone();
    let prompt = prompt(client_id, &session.purpose);
    let stored = state.issue_login(&id, client_id, session).await;
    if stored.is_err() {
        return error_page(StatusCode::SERVICE_UNAVAILABLE, "please try again later");
    }
    render_form(action, &prompt, &csrf, message, Some(&id))
}

/// What the page tells the person the client asks for: they consent to exactly that.
fn prompt(client_id: &str, purpose: &LoginPurpose) -> String {
    match purpose {
        LoginPurpose::Authorize { scopes, .. }
            if scopes.iter().any(|s| s == uma_client::UMA_PROTECTION_SCOPE) =>
        {
            format!("{client_id} asks to manage sharing of your resources.")
        }
        LoginPurpose::Authorize { .. } => format!("{client_id} asks to sign you in."),
        LoginPurpose::Claims { .. } => format!("{client_id} asks who you are."),
    }
}

fn render_form(
    action: &str,
    prompt: &str,
    csrf: &str,
    message: Option<&str>,
    cookie: Option<&str>,
) -> Response {
    let message = message
        .map(|m| format!("<p role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    let page = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>Sign in</title>\
         <h1>Sign in</h1><p>{}</p>{message}\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>Username <input name=\"username\" autocomplete=\"username\"></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
         <button>Sign in</button></form>",
        escape(prompt),
        escape(csrf),
    );
    let mut response = Html(page).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The page must not be framed (clickjacking) nor send the session elsewhere.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; form-action 'self'; frame-ancestors 'none'"),
    );
    if let Some(id) = cookie {
        let cookie = format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/");
        if let Ok(value) = HeaderValue::try_from(cookie) {
            headers.insert(header::SET_COOKIE, value);
        }
    }
    response
}

impl AppState {
    async fn issue_login(
        &self,
        id: &str,
        client_id: &str,
        session: LoginSession,
    ) -> Result<(), crate::store::StoreError> {
        let record = crate::store::TokenRecord {
            kind: TokenKind::Login(session),
            client_id: client_id.to_owned(),
            subject: String::new(),
            issued_at: now(),
            expires_at: now() + LOGIN_LIFETIME.as_secs(),
        };
        self.store.put_token(TokenHash::of(id), record).await
    }
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
    let Some((client_id, client)) = query
        .get("client_id")
        .and_then(|id| state.clients.get_key_value(id.as_str()))
    else {
        return error_page(StatusCode::BAD_REQUEST, "unknown or missing client_id");
    };
    let redirect = match redirect_uri(
        &client.claims_redirect_uris,
        query.get("claims_redirect_uri").map(String::as_str),
    ) {
        Ok(uri) => uri.to_owned(),
        Err(problem) => return error_page(StatusCode::BAD_REQUEST, problem),
    };
    let state_param = query.get("state").cloned();
    // From here the redirect URI is verified: errors go back to the client (CI-6).
    let Some(ticket) = query.get("ticket") else {
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
    };
    login_form(
        &state,
        client_id,
        &state.endpoint(crate::server::paths::CLAIMS),
        session,
        None,
    )
    .await
}

#[derive(Debug, Deserialize)]
pub(crate) struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
}

/// `GET {issuer}/authorize` (RFC 6749 §4.1.1, RFC 7636): checks the client and redirect URI,
/// requires an S256 PKCE challenge, and shows the sign-in form.
pub(crate) async fn authorize(
    State(state): State<AppState>,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    let Some((client_id, client)) = query
        .client_id
        .as_deref()
        .and_then(|id| state.clients.get_key_value(id))
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
    let scopes: Vec<String> = query
        .scope
        .as_deref()
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(_unknown) = scopes
        .iter()
        .find(|s| !crate::token::USER_SCOPES.contains(&s.as_str()))
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
        },
    };
    login_form(
        &state,
        client_id,
        &state.endpoint(crate::server::paths::AUTHORIZE),
        session,
        None,
    )
    .await
}

fn allows(client: &RegisteredClient, grant: &str) -> bool {
    client.grant_types.iter().any(|g| g == grant)
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
}

/// `POST` of the sign-in form (either page): checks the session and its CSRF token, then the
/// password, then finishes what the session was for.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: FormParams,
) -> Response {
    let Some(id) = session_cookie(&headers) else {
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
    let TokenKind::Login(session) = record.kind else {
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
    let client_id = record.client_id;
    let prompt = prompt(&client_id, &session.purpose);
    let action = match session.purpose {
        LoginPurpose::Claims { .. } => crate::server::paths::CLAIMS,
        LoginPurpose::Authorize { .. } => crate::server::paths::AUTHORIZE,
    };
    let (Some(username), Some(password)) = (params.get("username"), params.get("password")) else {
        return render_form(
            &state.endpoint(action),
            &prompt,
            &session.csrf,
            Some("Enter your username and password."),
            None,
        );
    };
    let hash_of = state
        .users
        .get(username)
        .and_then(|u| u.password_hash.as_deref());
    let valid = match hash_of {
        Some(hash) => crate::password::verify(password, hash),
        None => {
            crate::password::verify(password, crate::password::DUMMY_HASH);
            false
        }
    };
    if !valid {
        return render_form(
            &state.endpoint(action),
            &prompt,
            &session.csrf,
            Some("Wrong username or password."),
            None,
        );
    }
    // The session is single-use: of two submissions, one finishes it.
    match state.store.delete_token(&hash).await {
        Ok(true) => {}
        Ok(false) => return error_page(StatusCode::FORBIDDEN, "this sign-in was already used"),
        Err(_) => return error_page(StatusCode::SERVICE_UNAVAILABLE, "please try again later"),
    }
    let state_param = session.state.as_deref();
    let finished = match session.purpose {
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
                &state,
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
        } => {
            let code = secret::new_token();
            let record = crate::store::TokenRecord {
                kind: TokenKind::AuthorizationCode {
                    redirect_uri: session.redirect_uri.clone(),
                    scopes,
                    code_challenge,
                },
                client_id: client_id.clone(),
                subject: username.to_owned(),
                issued_at: now(),
                expires_at: now() + CODE_LIFETIME.as_secs(),
            };
            state
                .store
                .put_token(TokenHash::of(&code), record)
                .await
                .ok()
                .map(|()| ("code", code))
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
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("uma_login=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    response
}
