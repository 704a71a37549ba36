//! Console sessions: begun by a sign-in through the server's own sign-in page, kept in the store
//! (so any replica serves them) under the hash of the id in the console's cookie, each with the
//! CSRF token its forms must send back.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::{LIFETIME, message, see_other, sign_in_url, unavailable};
use crate::error::ApiError;
use crate::request::FormParams;
use crate::secret::{self, TokenHash};
use crate::server::{AppState, paths};
use crate::store::{LoginPurpose, LoginSession, StoreError, TokenKind, TokenRecord};
use crate::time::now;

/// The signed-in owner of a console request. Without a live session, pages send the browser
/// to sign in, and forms change nothing.
#[derive(Debug)]
pub(super) struct Owner {
    pub(super) user: String,
    pub(super) csrf: String,
    hash: TokenHash,
}

impl Owner {
    /// The form, if it carries this session's CSRF token.
    fn check(&self, form: Result<FormParams, ApiError>) -> Result<FormParams, Refused> {
        let form = form.map_err(Refused::Unreadable)?;
        let sent = form.get("csrf").unwrap_or_default();
        if !sent.is_empty() && bool::from(sent.as_bytes().ct_eq(self.csrf.as_bytes())) {
            Ok(form)
        } else {
            Err(Refused::NotFromTheConsole)
        }
    }
}

/// Why a form was not acted on.
#[derive(Debug)]
enum Refused {
    /// The body is not a form the server reads (its size, type or a repeated field).
    Unreadable(ApiError),
    /// The form lacks this session's CSRF token.
    NotFromTheConsole,
}

impl Refused {
    /// The page that says so; nothing was changed.
    fn page(self, state: &AppState) -> Response {
        match self {
            Self::Unreadable(error) => {
                message(state, error.status(), "Not sent", error.description())
            }
            Self::NotFromTheConsole => message(
                state,
                StatusCode::FORBIDDEN,
                "Not changed",
                "This form did not come from your console page, so nothing was changed. \
                 Reload the page and try again.",
            ),
        }
    }
}

async fn session(state: &AppState, headers: &HeaderMap) -> Result<Option<Owner>, StoreError> {
    let Some(id) = state.sign_in.console_cookie.read(headers) else {
        return Ok(None);
    };
    let hash = TokenHash::of(&id);
    Ok(match state.store.token(&hash).await? {
        Some(TokenRecord {
            kind: TokenKind::Console { csrf },
            subject,
            expires_at,
            ..
        }) if expires_at > now() && state.registry.is_user(&subject) => Some(Owner {
            user: subject,
            csrf,
            hash,
        }),
        _ => None,
    })
}

impl FromRequestParts<AppState> for Owner {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match session(state, &parts.headers).await {
            Ok(Some(owner)) => Ok(owner),
            Ok(None) => Err(see_other(&sign_in_url(state))),
            Err(error) => Err(unavailable(state, &error)),
        }
    }
}

/// A form of the signed-in owner's that carries her session's CSRF token: what every console
/// action takes. Without a session the browser is sent to sign in; without the token, or with
/// a body the server does not read, the answer is a page saying nothing was changed.
#[derive(Debug)]
pub(super) struct SignedForm {
    pub(super) owner: Owner,
    pub(super) form: FormParams,
}

impl FromRequest<AppState> for SignedForm {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let owner = Owner::from_request_parts(&mut parts, state).await?;
        let form = FormParams::from_request(Request::from_parts(parts, body), state).await;
        match owner.check(form) {
            Ok(form) => Ok(Self { owner, form }),
            Err(refused) => Err(refused.page(state)),
        }
    }
}

/// `GET {issuer}/console/sign-in`: the server's sign-in form, for the console.
pub(super) async fn start(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Ok(Some(_)) = session(&state, &headers).await {
        return see_other(&state.issuer.endpoint(paths::CONSOLE));
    }
    let session = LoginSession {
        csrf: secret::new_id(),
        redirect_uri: state.issuer.endpoint(paths::CONSOLE),
        state: None,
        purpose: LoginPurpose::Console,
        failures: 0,
    };
    crate::login::login_form(&state, "", session).await
}

/// After a sign-in for the console: a new session, and the console.
pub(crate) async fn signed_in_as(state: &AppState, user: &str) -> Response {
    let session = TokenKind::Console {
        csrf: secret::new_id(),
    };
    let id = match state.issue_token(session, "", user, LIFETIME).await {
        Ok((id, _)) => id,
        Err(error) => return unavailable(state, &error),
    };
    let mut response = see_other(&state.issuer.endpoint(paths::CONSOLE));
    if let Ok(value) = HeaderValue::try_from(state.sign_in.console_cookie.set(&id)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `POST {issuer}/console/sign-out`: ends the session.
pub(super) async fn sign_out(
    State(state): State<AppState>,
    SignedForm { owner, .. }: SignedForm,
) -> Response {
    if let Err(error) = state.store.delete_token(&owner.hash).await {
        return unavailable(&state, &error);
    }
    let mut response = see_other(&sign_in_url(&state));
    if let Ok(value) = HeaderValue::try_from(state.sign_in.console_cookie.clear()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
