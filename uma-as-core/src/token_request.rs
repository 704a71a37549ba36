//! What every grant at the token endpoint shares, whichever module serves it: who is asking,
//! the `scope` parameter, and the answer with the headers RFC 6749 §5.1 requires. Its own module,
//! so that the token endpoint, the UMA grant and RPT issuance all import it and none another.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uma_types::{AccessToken, TokenResponse};

use crate::request::FormParams;

/// Who is calling the token endpoint.
#[derive(Debug)]
pub(crate) struct Caller {
    /// The client making the request.
    pub(crate) client_id: String,
    /// The user whose access token the client presented (Keycloak's dialect), if it did.
    pub(crate) bearer_subject: Option<String>,
}

/// A successful token response with the headers RFC 6749 §5.1 requires.
pub(crate) fn token_response(body: TokenResponse) -> Response {
    let mut response = (StatusCode::OK, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// A bearer token's answer: `token`, good for `lifetime` seconds; the rest for the caller to add.
pub(crate) fn bearer_response(token: String, lifetime: u64) -> TokenResponse {
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

/// The scopes of the `scope` parameter (RFC 6749 §3.3): space-separated, none if absent.
pub(crate) fn scopes_of(params: &FormParams) -> Vec<String> {
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
