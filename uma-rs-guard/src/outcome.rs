//! What the guard decided, for handlers and for custom rejection responses.

use http::header::{ALLOW, WARNING, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use uma_types::UmaChallenge;
use uma_types::challenge::AS_UNREACHABLE_WARNING;

use crate::permissions::GrantedPermissions;

/// How the guard acts on its decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Requests that are not granted are answered by the guard (the default).
    #[default]
    Enforcing,
    /// Every request reaches the service; refusals are only logged. For rolling the guard out.
    Permissive,
    /// No checks, no calls to the authorization server.
    Disabled,
    /// Every request reaches the service with a [`GuardOutcome`] in its extensions; the handler
    /// decides what to answer.
    PassThrough,
}

/// Why the guard refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The request had no RPT; a ticket was obtained (`401` + challenge).
    NoToken,
    /// The RPT was malformed, foreign, expired or revoked; a ticket was obtained.
    InvalidToken,
    /// The RPT is valid but lacks a permission this request needs; a ticket was obtained.
    InsufficientPermissions,
    /// No ticket could be had from the authorization server (`403` + Warning, Grant §3.2.2).
    AuthorizationServerUnreachable,
    /// No route matches the request, and unmatched requests are denied (`403`).
    Unmatched,
    /// A protected route matches, but names no resource (`404`).
    NotFound,
    /// A protected route matches, but does not take this method (`405` with `Allow`).
    MethodNotAllowed,
    /// The resource could not be looked up (`403` with `Warning: 199`, as when the authorization
    /// server is unreachable): the guard cannot judge, so it refuses.
    LookupFailed,
}

/// A refusal: its reason and, when one was obtained, the UMA challenge to send.
///
/// Attached to the extensions of every rejection response, the default ones and custom ones
/// alike, so that outer layers can log or count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    kind: RejectionKind,
    challenge: Option<UmaChallenge>,
    allow: Option<HeaderValue>,
}

impl Rejection {
    pub(crate) fn challenge_for(kind: RejectionKind, challenge: UmaChallenge) -> Self {
        Self {
            kind,
            challenge: Some(challenge),
            allow: None,
        }
    }

    pub(crate) fn without_challenge(kind: RejectionKind) -> Self {
        Self {
            kind,
            challenge: None,
            allow: None,
        }
    }

    pub(crate) fn method_not_allowed(allow: HeaderValue) -> Self {
        Self {
            kind: RejectionKind::MethodNotAllowed,
            challenge: None,
            allow: Some(allow),
        }
    }

    /// Why the request was refused.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The challenge (with its ticket) when one was obtained.
    pub fn challenge(&self) -> Option<&UmaChallenge> {
        self.challenge.as_ref()
    }

    /// The methods the route takes, for a [`RejectionKind::MethodNotAllowed`].
    pub fn allow(&self) -> Option<&HeaderValue> {
        self.allow.as_ref()
    }

    /// The spec's answer: `401` with `WWW-Authenticate: UMA …` when there is a challenge, `403`
    /// with `Warning: 199 - "UMA Authorization Server Unreachable"` when the authorization server
    /// could not give a ticket or the resource could not be looked up, a bare `403` for an
    /// unmatched request, `404` for a route that names no resource, `405` with `Allow` for a
    /// method the route does not take. The body is empty.
    pub fn default_response<B: Default>(&self) -> Response<B> {
        let mut response = Response::new(B::default());
        match (&self.challenge, self.kind) {
            (Some(challenge), _) => match HeaderValue::try_from(challenge.to_string()) {
                Ok(value) => {
                    *response.status_mut() = StatusCode::UNAUTHORIZED;
                    response.headers_mut().insert(WWW_AUTHENTICATE, value);
                }
                // A ticket or realm a header cannot carry is no usable challenge: fail closed.
                Err(_) => unreachable_response(&mut response),
            },
            (None, RejectionKind::Unmatched) => *response.status_mut() = StatusCode::FORBIDDEN,
            (None, RejectionKind::NotFound) => *response.status_mut() = StatusCode::NOT_FOUND,
            (None, RejectionKind::MethodNotAllowed) => {
                *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                if let Some(allow) = &self.allow {
                    response.headers_mut().insert(ALLOW, allow.clone());
                }
            }
            (None, _) => unreachable_response(&mut response),
        }
        response
    }
}

fn unreachable_response<B>(response: &mut Response<B>) {
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
        .headers_mut()
        .insert(WARNING, HeaderValue::from_static(AS_UNREACHABLE_WARNING));
}

/// The decision, handed to the handler in [`Mode::PassThrough`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum GuardOutcome {
    /// The request needs no permission.
    Unprotected,
    /// The RPT grants what the request needs.
    Granted(GrantedPermissions),
    /// The guard would have refused the request; the handler may answer
    /// [`Rejection::default_response`] or anything else.
    Refused(Rejection),
}
