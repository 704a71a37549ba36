//! axum extractors for what the guard hands to handlers.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::outcome::GuardOutcome;
use crate::permissions::GrantedPermissions;

/// The permissions the guard granted this request.
///
/// As `Permissions`, a handler behind the guard always gets them (a route the guard does not
/// protect answers `500`, since that is a wiring mistake); as `Option<Permissions>`, it gets them
/// when there are any.
///
/// ```
/// use uma_rs_guard::Permissions;
///
/// async fn album(Permissions(granted): Permissions) -> String {
///     format!("hello {}", granted.subject().unwrap_or_default())
/// }
///
/// async fn maybe(permissions: Option<Permissions>) -> &'static str {
///     if permissions.is_some() { "with an RPT" } else { "anonymous" }
/// }
/// # let _: axum::Router = axum::Router::new()
/// #     .route("/a", axum::routing::get(album))
/// #     .route("/b", axum::routing::get(maybe));
/// ```
#[derive(Debug, Clone)]
pub struct Permissions(pub GrantedPermissions);

/// The rejection of [`Permissions`] and [`GuardOutcome`] on a route the guard is not in front of.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct NotGuarded;

impl IntoResponse for NotGuarded {
    fn into_response(self) -> Response {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "this route is not behind the UMA guard",
        )
            .into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Permissions {
    type Rejection = NotGuarded;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, NotGuarded> {
        parts
            .extensions
            .get::<GrantedPermissions>()
            .cloned()
            .map(Permissions)
            .ok_or(NotGuarded)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Permissions {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Infallible> {
        Ok(parts
            .extensions
            .get::<GrantedPermissions>()
            .cloned()
            .map(Permissions))
    }
}

/// In [`Mode::PassThrough`](crate::Mode::PassThrough), the decision, for the handler to act on.
impl<S: Send + Sync> FromRequestParts<S> for GuardOutcome {
    type Rejection = NotGuarded;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, NotGuarded> {
        parts
            .extensions
            .get::<GuardOutcome>()
            .cloned()
            .ok_or(NotGuarded)
    }
}
