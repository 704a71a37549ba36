//! The one error type of this crate.

use http::StatusCode;

use crate::ErrorResponse;

/// Everything that can go wrong talking to a resource server or an authorization server.
///
/// ```no_run
/// use uma_client::Error;
///
/// # async fn run(uma: uma_client::UmaClient) {
/// match uma.get("https://photoz.example.com/albums/1").send().await {
///     Ok(response) => println!("{}", response.status()),
///     Err(Error::RequestDenied { .. }) => println!("the owner does not share it"),
///     Err(Error::NeedInfo(needed)) => println!("claims needed: {:?}", needed.required_claims),
///     Err(Error::RequestSubmitted(_)) => println!("the owner has been asked"),
///     Err(Error::AuthorizationServerUnreachable) => println!("try again later"),
///     Err(other) => println!("failed: {other}"),
/// }
/// # }
/// ```
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
    /// `need_info` (Grant §3.3.6): push claims with the new ticket, or send the requesting party
    /// to gather them ([`NeedInfo::claims_interaction`](crate::NeedInfo::claims_interaction)).
    #[error(
        "the authorization server needs more information about the requesting party (need_info)"
    )]
    NeedInfo(Box<crate::NeedInfo>),
    /// `request_submitted` (Grant §3.3.6): the resource owner must decide; poll with
    /// [`UmaClient::poll`](crate::UmaClient::poll).
    #[error("the request awaits the resource owner's decision (request_submitted)")]
    RequestSubmitted(Box<crate::RequestSubmitted>),
    /// `request_denied` (Grant §3.3.6), or a peer's equivalent: the client may not have these
    /// permissions. There is no ticket to continue with.
    #[error("the authorization server denied the request: {body}")]
    RequestDenied {
        /// The HTTP status.
        status: StatusCode,
        /// The error body.
        body: Box<ErrorResponse>,
    },
    /// The authorization server returned the very ticket it was sent, which it must never do
    /// (Grant §5.5, a sign of session fixation); the process stops.
    #[error("the authorization server returned the ticket it was sent")]
    TicketNotRotated,
    /// The redirect back from claims gathering carries another `state` than the one sent
    /// (Grant §5.1): it is not the answer to this client's request.
    #[error("the claims redirect carries an unknown state")]
    StateMismatch,
    /// The authorization server answered with another OAuth error body (`invalid_grant`,
    /// `invalid_scope`, `invalid_client`, …).
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
    /// A resource server challenged for an authorization server it was not allowed to send this
    /// client to ([`resource_server`](crate::UmaClientBuilder::resource_server)): nothing was
    /// sent to the authorization server, since the RPT would go to this origin.
    #[error("{origin} may not send this client to {as_uri} for an RPT")]
    ResourceServerNotAllowed {
        /// The origin that challenged.
        origin: String,
        /// The `as_uri` of the challenge.
        as_uri: String,
    },
    /// The challenge came from another origin than the request was sent to (after a
    /// redirect): not answered, so that no RPT is got for, or sent to, another origin.
    #[error("the request to {sent_to} was challenged by {answered_by}")]
    ChallengeFromAnotherOrigin {
        /// The origin the request was sent to.
        sent_to: String,
        /// The origin that answered.
        answered_by: String,
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
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) {
    /// if let Err(error) = uma.get("https://photoz.example.com/albums/1").send().await {
    ///     if let Some(body) = error.oauth_error() {
    ///         println!("the AS said {} ({:?})", body.error, body.error_description);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn oauth_error(&self) -> Option<&ErrorResponse> {
        match self {
            Self::Oauth { body, .. } | Self::RequestDenied { body, .. } => Some(body.as_ref()),
            _ => None,
        }
    }

    /// The HTTP status of the response that caused the error, if there was one.
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) {
    /// if let Err(error) = uma.get("https://photoz.example.com/albums/1").send().await {
    ///     println!("{:?}", error.status());
    /// }
    /// # }
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Oauth { status, .. }
            | Self::RequestDenied { status, .. }
            | Self::UnexpectedResponse { status, .. } => Some(*status),
            Self::NeedInfo(_) | Self::RequestSubmitted(_) => Some(StatusCode::FORBIDDEN),
            _ => None,
        }
    }
}

/// The result type of this crate.
///
/// ```
/// fn parse(header: &str) -> uma_client::Result<uma_client::UmaChallenge> {
///     uma_client::UmaChallenge::parse(header)
///         .ok_or_else(|| uma_client::Error::Config("not an UMA challenge".into()))
/// }
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
