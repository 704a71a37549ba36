//! The resource owner's console at `{issuer}/console`: her resources and who may do what with
//! them, sharing and revoking, the requests put to her, the decisions made about her resources,
//! and what others share with her.
//!
//! Server-rendered pages (askama templates, which escape by default, TM-23), a stylesheet served
//! here, no JavaScript. The owner signs in through the server's own sign-in page (its throttle,
//! attempt limit and CSRF token, TM-20/21); the console then keeps a session of its own in the
//! store, under the hash of a random id in an `HttpOnly`, `SameSite=Strict` cookie, for
//! an hour from sign-in. Every form carries the session's CSRF token, compared in constant
//! time before anything changes; every change is checked against the signed-in owner, so a form
//! naming another owner's share or request changes nothing. Pages admit only this server's
//! stylesheet and form targets, and https images (resource icons), and cannot be framed.
//!
//! Sign in at `{issuer}/console` with any browser:
//!
//! ```
//! use uma_as_core::{AuthorizationServer, UserConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), uma_as_core::Error> {
//! let server = AuthorizationServer::builder()
//!     .user(UserConfig::new("alice").password("alice-password"))
//!     .spawn()
//!     .await?;
//! let console = format!("{}/console", server.issuer());
//! # Ok(()) }
//! ```

mod actions;
mod pages;
mod resources;
mod session;
mod words;

use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::server::{AppState, paths};
use crate::store::StoreError;
use session::Owner;

pub(crate) use session::signed_in_as;

/// How long a console session lasts from sign-in.
pub(crate) const LIFETIME: Duration = Duration::from_secs(3600);

/// Resources on a page of My resources, and lines on other pages.
const RESOURCES_PER_PAGE: usize = 20;
const LINES_PER_PAGE: usize = 50;
/// Pending requests shown at once (the oldest first).
const REQUESTS_SHOWN: usize = 100;

/// The console's stylesheet: small, and the only thing its pages load besides icons.
const STYLE: &str = include_str!("../../templates/console/style.css");

/// Where the console's sign-in form posts.
pub(crate) fn sign_in_url(state: &AppState) -> String {
    format!("{}/sign-in", state.issuer.endpoint(paths::CONSOLE))
}

pub(crate) fn routes() -> Router<AppState> {
    let at = |path: &str| format!("{}{path}", paths::CONSOLE);
    Router::new()
        .route(paths::CONSOLE, get(resources::resources))
        .route(
            &at("/sign-in"),
            get(session::start).post(crate::login::sign_in),
        )
        .route(&at("/sign-out"), post(session::sign_out))
        .route(&at("/style.css"), get(style))
        .route(&at("/resources/{id}"), get(resources::resource))
        .route(&at("/resources/{id}/share"), post(actions::share))
        .route(&at("/shares/{id}/revoke"), post(actions::revoke))
        .route(&at("/requests"), get(pages::requests))
        .route(&at("/requests/{id}/approve"), post(actions::approve))
        .route(&at("/requests/{id}/deny"), post(actions::deny))
        .route(&at("/activity"), get(pages::activity))
        .route(&at("/shared"), get(pages::shared))
}

async fn style() -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// What every page shows around its content: who is signed in, the sections, sign-out.
#[derive(Debug)]
struct Frame {
    /// The console's URL, which every link starts with.
    base: String,
    user: String,
    csrf: String,
    /// The section shown: `resources`, `requests`, `activity` or `shared`.
    section: &'static str,
}

/// A page with no session or that cannot go on: a message and a way back.
#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
    back: &'a str,
}

/// A page with the console's headers: no caching, no framing, nothing loaded but this server's
/// stylesheet and https icons, forms posted only here.
fn html(status: StatusCode, page: &impl Template) -> Response {
    let mut response = match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a console page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page failed to render",
            )
                .into_response()
        }
    };
    protect(response.headers_mut());
    response
}

fn protect(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src https:; form-action 'self'; \
             base-uri 'none'; frame-ancestors 'none'",
        ),
    );
}

/// A message page with a link back into the console.
fn message(state: &AppState, status: StatusCode, title: &str, message: &str) -> Response {
    let back = state.issuer.endpoint(paths::CONSOLE);
    html(
        status,
        &MessagePage {
            title,
            message,
            back: &back,
        },
    )
}

/// `303 See Other` to a console URL: the answer to every form that changed something, so that
/// reloading the page after it does not post again.
fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::try_from(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    protect(response.headers_mut());
    response
}

/// A path segment or query value, percent-encoded.
fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl Frame {
    fn new(state: &AppState, owner: &Owner, section: &'static str) -> Self {
        Self {
            base: state.issuer.endpoint(paths::CONSOLE),
            user: owner.user.clone(),
            csrf: owner.csrf.clone(),
            section,
        }
    }
}

/// `400` for a query the page does not read.
fn bad_query(state: &AppState, rejection: &QueryRejection) -> Response {
    message(
        state,
        StatusCode::BAD_REQUEST,
        "Not found",
        &format!("This address is not one of the console's: {rejection}"),
    )
}

/// `503` while the store cannot be reached.
fn unavailable(state: &AppState, error: &StoreError) -> Response {
    tracing::error!(%error, "the console could not reach the store");
    message(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available",
        "The server cannot reach its storage. Please try again in a minute.",
    )
}

/// `404` for what is not the owner's (or is nobody's: the two look the same).
fn no_such(state: &AppState, what: &str) -> Response {
    message(
        state,
        StatusCode::NOT_FOUND,
        "Not found",
        &format!("You have no such {what}."),
    )
}
