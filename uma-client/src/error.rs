//! The one error type of this crate.

use http::StatusCode;

use crate::ErrorResponse;

/// Everything that can go wrong talking to a resource server or an authorization server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The connection failed or timed out. The URL is stripped, since it can carry a ticket.
    #[error("HTTP request to {endpoint} failed: {source}")]
    Transport {
        /// Which endpoint was being called.
        endpoint: &'static str,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The authorization server answered with an OAuth or UMA error body (`invalid_grant`,
    /// `request_denied`, `need_info`, …).
    #[error("{endpoint} answered {status}: {body}")]
    Oauth {
        /// Which endpoint answered.
        endpoint: &'static str,
        /// The HTTP status.
        status: StatusCode,
        /// The error body.
        body: Box<ErrorResponse>,
    },
    /// A response that is not what the spec says the endpoint answers: wrong status, a body that
    /// does not parse, or one larger than the limit.
    #[error("unexpected response from {endpoint} ({status}): {detail}")]
    UnexpectedResponse {
        /// Which endpoint answered.
        endpoint: &'static str,
        /// The HTTP status.
        status: StatusCode,
        /// What was wrong with it.
        detail: String,
    },
    /// The discovery document could not be used: its `issuer` differs from the one asked for
    /// (RFC 8414 §3.3), or it lacks an endpoint this call needs.
    #[error("discovery document of {issuer} is unusable: {detail}")]
    Discovery {
        /// The issuer whose document was fetched.
        issuer: String,
        /// What was wrong with it.
        detail: String,
    },
    /// A resource server named an authorization server this client was not configured to trust;
    /// no credential was sent to it.
    #[error("resource server named an untrusted authorization server: {as_uri}")]
    UntrustedAuthorizationServer {
        /// The `as_uri` of the challenge.
        as_uri: String,
    },
    /// The resource server could not obtain a ticket from its authorization server
    /// (`403` with `Warning: 199 - "UMA Authorization Server Unreachable"`, Grant §3.2.2).
    #[error("resource server reports its UMA authorization server unreachable")]
    AuthorizationServerUnreachable,
    /// The client was built with an unusable configuration.
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// The OAuth or UMA error body, when the authorization server sent one.
    pub fn oauth_error(&self) -> Option<&ErrorResponse> {
        match self {
            Self::Oauth { body, .. } => Some(body.as_ref()),
            _ => None,
        }
    }

    /// The HTTP status of the response that caused the error, if there was one.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Oauth { status, .. } | Self::UnexpectedResponse { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
