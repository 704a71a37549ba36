//! Error responses in the spec's shapes: RFC 6749 §5.2 at the token endpoint, RFC 6750 §3 for bad
//! bearer tokens, FedAuthz §6 on the protection API.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uma_types::{ErrorCode, ErrorResponse};

use crate::store::StoreError;

/// An error answer of any endpoint. Boxed: it travels in every handler's `Result`, which should
/// stay small on the success path.
#[derive(Debug)]
pub(crate) struct ApiError(Box<Parts>);

#[derive(Debug)]
struct Parts {
    status: StatusCode,
    body: ErrorResponse,
    www_authenticate: Option<String>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: ErrorCode, description: impl Into<String>) -> Self {
        Self(Box::new(Parts {
            status,
            body: ErrorResponse::new(code).with_description(description),
            www_authenticate: None,
            retry_after: None,
        }))
    }

    /// `400 invalid_request`: malformed, missing or repeated parameters.
    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest,
            description,
        )
    }

    /// `400 invalid_grant`: an unknown, expired or spent ticket.
    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidGrant,
            description,
        )
    }

    /// `400 invalid_scope`.
    pub(crate) fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidScope,
            description,
        )
    }

    /// The status it answers with.
    pub(crate) fn status(&self) -> StatusCode {
        self.0.status
    }

    /// What went wrong, in words.
    pub(crate) fn description(&self) -> &str {
        self.0
            .body
            .error_description
            .as_deref()
            .unwrap_or_else(|| self.0.body.error.as_str())
    }

    /// `404 not_found`.
    pub(crate) fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, description)
    }

    /// `405 unsupported_method_type`; axum's method routing adds the `Allow` header.
    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::UnsupportedMethodType,
            "this endpoint does not take this method; the Allow header lists those it takes",
        )
    }

    /// `401` for a missing or bad bearer token (RFC 6750 §3): with no token at all the challenge
    /// carries no error code; with a bad one, `invalid_token`.
    pub(crate) fn bearer_unauthorized(realm: &str, token_present: bool) -> Self {
        let (challenge, description) = if token_present {
            (
                format!(
                    "Bearer realm=\"{realm}\", error=\"invalid_token\", \
                     error_description=\"The access token is invalid or expired\""
                ),
                "the access token is invalid or expired",
            )
        } else {
            (
                format!("Bearer realm=\"{realm}\""),
                "a bearer access token is required",
            )
        };
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidToken,
            description,
        );
        error.0.www_authenticate = Some(challenge);
        error
    }

    /// `403 insufficient_scope` for a token without the scope an endpoint needs (RFC 6750 §3.1).
    pub(crate) fn insufficient_scope(realm: &str, scope: &str) -> Self {
        let mut error = Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::InsufficientScope,
            format!("the access token lacks scope {scope}"),
        );
        error.0.www_authenticate = Some(format!(
            "Bearer realm=\"{realm}\", error=\"insufficient_scope\", scope=\"{scope}\""
        ));
        error
    }

    /// `429` with `Retry-After` for a locked account or client: `invalid_grant`, since that is what
    /// a wrong password earns, and the status says to wait.
    pub(crate) fn too_many_attempts(wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs().max(1);
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::InvalidGrant,
            format!("too many failed sign-ins: retry after {seconds} seconds"),
        );
        error.0.retry_after = Some(seconds);
        error
    }

    /// `401 invalid_client`; `challenge` is the scheme the client tried (RFC 6749 §5.2).
    pub(crate) fn invalid_client(realm: &str, challenge: Option<&str>) -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::InvalidClient,
            "client authentication failed",
        );
        error.0.www_authenticate = challenge.map(|scheme| match scheme {
            "Bearer" => format!("Bearer realm=\"{realm}\", error=\"invalid_token\""),
            other => format!("{other} realm=\"{realm}\""),
        });
        error
    }

    /// Sets the UMA members of the body (`ticket`, `required_claims`, …).
    pub(crate) fn with_uma(mut self, edit: impl FnOnce(&mut ErrorResponse)) -> Self {
        edit(&mut self.0.body);
        self
    }

    pub(crate) fn code(&self) -> &ErrorCode {
        &self.0.body.error
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "storage failure");
        if error.is_unavailable() {
            let mut error = Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::TemporarilyUnavailable,
                "the server cannot reach its storage: retry shortly",
            );
            error.0.retry_after = Some(1);
            return error;
        }
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::ServerError,
            "the server's storage failed",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let Parts {
            status,
            body,
            www_authenticate,
            retry_after,
        } = *self.0;
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        // Error bodies can carry tickets; never let a cache keep them (Grant §3.3.6 examples).
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if let Some(challenge) = www_authenticate {
            if let Ok(value) = HeaderValue::try_from(challenge) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// What can go wrong setting up or driving an [`AuthorizationServer`](crate::AuthorizationServer)
/// from code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unusable; the message names the offending setting.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The listener could not be bound or served.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No user or client with this name is configured.
    #[error("unknown user or client: {0}")]
    UnknownParty(String),
    /// No resource with this id is registered.
    #[error("unknown resource: {0}")]
    UnknownResource(String),
}
