//! The one error type of this crate: opaque, asked with `is_*()` predicates and accessors.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

use crate::{ErrorResponse, NeedInfo, PermissionTicket, RequestSubmitted, RequiredClaim};

/// Everything that can go wrong talking to a resource server or an authorization server.
///
/// Ask it what happened with the `is_*()` predicates, and read the UMA details a caller acts on
/// with the accessors ([`ticket`](Self::ticket), [`required_claims`](Self::required_claims),
/// [`redirect_user`](Self::redirect_user), [`interval`](Self::interval)); take the pending
/// state out with [`into_need_info`](Self::into_need_info) or
/// [`into_request_submitted`](Self::into_request_submitted) to continue the grant.
///
/// ```no_run
/// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
/// use std::time::{Duration, Instant};
///
/// match uma.get("https://photoz.example.com/albums/1").send().await {
///     Ok(response) => println!("{}", response.status()),
///     Err(e) if e.is_request_denied() => println!("the owner does not share it"),
///     Err(e) if e.is_need_info() => println!("claims needed: {:?}", e.required_claims()),
///     Err(e) if e.is_request_submitted() => {
///         // The owner has been asked: wait up to ten minutes for the decision.
///         let pending = e.into_request_submitted().expect("request_submitted");
///         uma.poll(pending, Instant::now() + Duration::from_secs(600)).await?;
///     }
///     Err(e) if e.is_authorization_server_unreachable() => println!("try again later"),
///     Err(other) => println!("failed: {other}"),
/// }
/// # Ok(()) }
/// ```
pub struct Error {
    kind: Box<Kind>,
}

/// What went wrong; private, so that new cases and new details do not break callers.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Kind {
    /// The connection failed or timed out. The URL is stripped, since it can carry a ticket.
    #[error("HTTP request to {endpoint} failed: {source}")]
    Transport {
        endpoint: &'static str,
        #[source]
        source: reqwest::Error,
    },
    /// `need_info` (Grant §3.3.6).
    #[error(
        "the authorization server needs more information about the requesting party (need_info)"
    )]
    NeedInfo {
        status: Option<StatusCode>,
        needed: Box<NeedInfo>,
    },
    /// `request_submitted` (Grant §3.3.6); no status when [`UmaClient::poll`](crate::UmaClient::poll)
    /// gives a pending request back without having asked again.
    #[error("the request awaits the resource owner's decision (request_submitted)")]
    RequestSubmitted {
        status: Option<StatusCode>,
        pending: Box<RequestSubmitted>,
    },
    /// `request_denied` (Grant §3.3.6), or a peer's equivalent.
    #[error("the authorization server denied the request: {body}")]
    RequestDenied {
        status: Option<StatusCode>,
        body: Box<ErrorResponse>,
    },
    /// The authorization server returned the very ticket it was sent (Grant §5.5).
    #[error("the authorization server returned the ticket it was sent")]
    TicketNotRotated,
    /// The redirect back from claims gathering carries another `state` (Grant §5.1).
    #[error("the claims redirect carries an unknown state")]
    StateMismatch,
    /// Another OAuth error body; no status when it came in the redirect back from claims
    /// gathering, which this client never sees as a response.
    #[error("{endpoint} answered {}: {body}", shown(.status))]
    Oauth {
        endpoint: &'static str,
        status: Option<StatusCode>,
        body: Box<ErrorResponse>,
    },
    /// Not what the spec says the endpoint answers.
    #[error("unexpected response from {endpoint} ({}): {detail}", shown(.status))]
    UnexpectedResponse {
        endpoint: &'static str,
        status: Option<StatusCode>,
        detail: String,
    },
    /// The discovery document could not be used.
    #[error("discovery document of {issuer} is unusable: {detail}")]
    Discovery { issuer: String, detail: String },
    /// A resource server named an authorization server this client does not trust.
    #[error("resource server named an untrusted authorization server: {as_uri}")]
    UntrustedAuthorizationServer { as_uri: String },
    /// A resource server may not send this client to that authorization server.
    #[error("{origin} may not send this client to {as_uri} for an RPT")]
    ResourceServerNotAllowed { origin: String, as_uri: String },
    /// The challenge came from another origin than the request was sent to.
    #[error("the request to {sent_to} was challenged by {answered_by}")]
    ChallengeFromAnotherOrigin {
        sent_to: String,
        answered_by: String,
    },
    /// `403` with `Warning: 199 - "UMA Authorization Server Unreachable"` (Grant §3.2.2).
    #[error("resource server reports its UMA authorization server unreachable")]
    AuthorizationServerUnreachable,
    /// A builder was given an unusable configuration.
    #[error("invalid configuration: {0}")]
    Builder(String),
    /// A value handed to a call at run time cannot be used (a malformed redirect URL, a token
    /// that cannot go in a header, an endpoint URL that does not parse).
    #[error("unusable input: {0}")]
    InvalidInput(String),
    /// The operating system's random source failed.
    #[error("the operating system's random source failed: {0}")]
    NoRandomness(String),
}

fn shown(status: &Option<StatusCode>) -> String {
    status.map_or_else(|| "without a response".to_owned(), |s| s.to_string())
}

impl From<Kind> for Error {
    fn from(kind: Kind) -> Self {
        Self {
            kind: Box::new(kind),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("uma_client::Error")
            .field("kind", &self.kind)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&*self.kind)
    }
}

impl Error {
    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The connection to a server failed or timed out.
    pub fn is_transport(&self) -> bool {
        matches!(*self.kind, Kind::Transport { .. })
    }

    /// The call timed out (a transport failure).
    pub fn is_timeout(&self) -> bool {
        matches!(&*self.kind, Kind::Transport { source, .. } if source.is_timeout())
    }

    /// `need_info` (Grant §3.3.6): push claims with the new [`ticket`](Self::ticket), or send the
    /// requesting party to gather them
    /// ([`NeedInfo::claims_interaction`](crate::NeedInfo::claims_interaction)).
    pub fn is_need_info(&self) -> bool {
        matches!(*self.kind, Kind::NeedInfo { .. })
    }

    /// `request_submitted` (Grant §3.3.6): the resource owner must decide; poll with
    /// [`UmaClient::poll`](crate::UmaClient::poll).
    pub fn is_request_submitted(&self) -> bool {
        matches!(*self.kind, Kind::RequestSubmitted { .. })
    }

    /// `request_denied` (Grant §3.3.6), or a peer's equivalent (Keycloak's `access_denied`,
    /// Janssen's `forbidden_by_policy`): there is no ticket to continue with.
    pub fn is_request_denied(&self) -> bool {
        matches!(*self.kind, Kind::RequestDenied { .. })
    }

    /// The authorization server returned the very ticket it was sent, which it must never do
    /// (Grant §5.5, a sign of session fixation); the process stops.
    pub fn is_ticket_not_rotated(&self) -> bool {
        matches!(*self.kind, Kind::TicketNotRotated)
    }

    /// The redirect back from claims gathering carries another `state` than the one sent
    /// (Grant §5.1): it is not the answer to this client's request.
    pub fn is_state_mismatch(&self) -> bool {
        matches!(*self.kind, Kind::StateMismatch)
    }

    /// The authorization server answered with another OAuth error body (`invalid_grant`,
    /// `invalid_scope`, `invalid_client`, …); read it with [`oauth_error`](Self::oauth_error).
    pub fn is_oauth(&self) -> bool {
        matches!(*self.kind, Kind::Oauth { .. })
    }

    /// A response that is not what the spec says the endpoint answers: wrong status, a body that
    /// does not parse, or one larger than the limit.
    pub fn is_unexpected_response(&self) -> bool {
        matches!(*self.kind, Kind::UnexpectedResponse { .. })
    }

    /// The discovery document could not be used: its `issuer` differs from the one asked for
    /// (RFC 8414 §3.3), or it lacks an endpoint this call needs.
    pub fn is_discovery(&self) -> bool {
        matches!(*self.kind, Kind::Discovery { .. })
    }

    /// A resource server named an authorization server this client was not configured to trust;
    /// no credential was sent to it ([`as_uri`](Self::as_uri) names it).
    pub fn is_untrusted_authorization_server(&self) -> bool {
        matches!(*self.kind, Kind::UntrustedAuthorizationServer { .. })
    }

    /// A resource server challenged for an authorization server it was not allowed to send this
    /// client to ([`resource_server`](crate::UmaClientBuilder::resource_server)): nothing was
    /// sent to the authorization server, since the RPT would go to this origin.
    pub fn is_resource_server_not_allowed(&self) -> bool {
        matches!(*self.kind, Kind::ResourceServerNotAllowed { .. })
    }

    /// The challenge came from another origin than the request was sent to (after a redirect):
    /// not answered, so that no RPT is got for, or sent to, another origin.
    pub fn is_challenge_from_another_origin(&self) -> bool {
        matches!(*self.kind, Kind::ChallengeFromAnotherOrigin { .. })
    }

    /// The resource server could not obtain a ticket from its authorization server (`403` with
    /// `Warning: 199 - "UMA Authorization Server Unreachable"`, Grant §3.2.2).
    pub fn is_authorization_server_unreachable(&self) -> bool {
        matches!(*self.kind, Kind::AuthorizationServerUnreachable)
    }

    /// A builder was given an unusable configuration.
    pub fn is_builder(&self) -> bool {
        matches!(*self.kind, Kind::Builder(_))
    }

    /// A value handed to a call cannot be used: a claims redirect that is not a URL, a token
    /// with characters a header may not carry, an endpoint that does not parse.
    pub fn is_invalid_input(&self) -> bool {
        matches!(*self.kind, Kind::InvalidInput(_))
    }

    /// The HTTP status of the response that caused the error, when there was one.
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) {
    /// if let Err(error) = uma.get("https://photoz.example.com/albums/1").send().await {
    ///     println!("{:?}", error.status());
    /// }
    /// # }
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        match &*self.kind {
            Kind::NeedInfo { status, .. }
            | Kind::RequestDenied { status, .. }
            | Kind::RequestSubmitted { status, .. }
            | Kind::Oauth { status, .. }
            | Kind::UnexpectedResponse { status, .. } => *status,
            _ => None,
        }
    }

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
        match &*self.kind {
            Kind::Oauth { body, .. } | Kind::RequestDenied { body, .. } => Some(body.as_ref()),
            _ => None,
        }
    }

    /// Which endpoint was being called, when the error came from one.
    pub fn endpoint(&self) -> Option<&'static str> {
        match &*self.kind {
            Kind::Transport { endpoint, .. }
            | Kind::Oauth { endpoint, .. }
            | Kind::UnexpectedResponse { endpoint, .. } => Some(endpoint),
            _ => None,
        }
    }

    /// The new ticket to continue with: `need_info`'s, or `request_submitted`'s (which servers
    /// such as Keycloak do not send).
    pub fn ticket(&self) -> Option<&PermissionTicket> {
        match &*self.kind {
            Kind::NeedInfo { needed, .. } => Some(&needed.ticket),
            Kind::RequestSubmitted { pending, .. } => pending.ticket.as_ref(),
            _ => None,
        }
    }

    /// The claims a `need_info` answer asks for (empty if it named none).
    pub fn required_claims(&self) -> Option<&[RequiredClaim]> {
        self.need_info().map(|n| n.required_claims.as_slice())
    }

    /// Where a `need_info` answer asks the requesting party to be sent for claims gathering.
    pub fn redirect_user(&self) -> Option<&str> {
        self.need_info().and_then(|n| n.redirect_user.as_deref())
    }

    /// The least time to wait before polling again after `request_submitted`, if the server
    /// named one.
    pub fn interval(&self) -> Option<Duration> {
        self.request_submitted()
            .and_then(|p| p.interval)
            .map(Duration::from_secs)
    }

    /// The `as_uri` a resource server's challenge named, when it was refused.
    pub fn as_uri(&self) -> Option<&str> {
        match &*self.kind {
            Kind::UntrustedAuthorizationServer { as_uri }
            | Kind::ResourceServerNotAllowed { as_uri, .. } => Some(as_uri),
            _ => None,
        }
    }

    /// The whole `need_info` answer.
    pub fn need_info(&self) -> Option<&NeedInfo> {
        match &*self.kind {
            Kind::NeedInfo { needed, .. } => Some(needed),
            _ => None,
        }
    }

    /// The whole `request_submitted` answer.
    pub fn request_submitted(&self) -> Option<&RequestSubmitted> {
        match &*self.kind {
            Kind::RequestSubmitted { pending, .. } => Some(pending),
            _ => None,
        }
    }

    /// The `need_info` answer, to continue the grant with; any other error back unchanged.
    pub fn into_need_info(self) -> Result<NeedInfo, Self> {
        match *self.kind {
            Kind::NeedInfo { needed, .. } => Ok(*needed),
            kind => Err(kind.into()),
        }
    }

    /// The `request_submitted` answer, to poll with; any other error back unchanged.
    pub fn into_request_submitted(self) -> Result<RequestSubmitted, Self> {
        match *self.kind {
            Kind::RequestSubmitted { pending, .. } => Ok(*pending),
            kind => Err(kind.into()),
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_small_and_sendable() {
        fn sendable<T: Send + Sync + 'static>() {}
        sendable::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn statuses_are_only_those_seen() {
        let redirect: Error = Kind::Oauth {
            endpoint: "claims interaction endpoint",
            status: None,
            body: Box::new(ErrorResponse::new(crate::ErrorCode::AccessDenied)),
        }
        .into();
        assert_eq!(redirect.status(), None);
        assert!(redirect.is_oauth());
        assert!(redirect.to_string().contains("without a response"));
        let unreachable: Error = Kind::AuthorizationServerUnreachable.into();
        assert_eq!(unreachable.status(), None);
        assert!(unreachable.is_authorization_server_unreachable());
        assert!(!unreachable.is_need_info());
    }

    #[test]
    fn accessors_read_the_pending_state() {
        let error: Error = Kind::RequestSubmitted {
            status: Some(StatusCode::FORBIDDEN),
            pending: Box::new(RequestSubmitted {
                issuer: "https://as".to_owned(),
                ticket: Some(PermissionTicket::new("t2")),
                interval: Some(5),
            }),
        }
        .into();
        assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
        assert_eq!(error.ticket().map(PermissionTicket::as_str), Some("t2"));
        assert_eq!(error.interval(), Some(Duration::from_secs(5)));
        assert_eq!(error.required_claims(), None);
        let pending = error.into_request_submitted().unwrap();
        assert_eq!(pending.issuer, "https://as");
    }
}
