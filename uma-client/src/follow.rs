//! Following a resource server's UMA challenge: the one flow behind [`UmaClient::execute`] and
//! `UmaMiddleware`, and the rules that keep a resource server from harvesting RPTs through it.
//!
//! **The relay risk.** An UMA challenge names a ticket and an authorization server, nothing
//! else: any server the client talks to can relay another resource server's challenge. A client
//! that answered every challenge with its requesting party's credentials would hand the RPT it
//! gets — good at the other resource server — to whoever relayed the challenge. So a challenge is
//! answered only when it comes from the origin the request was sent to (not from where a redirect
//! led), and that origin is a resource server the application allowed for the authorization
//! server named ([`UmaClientBuilder::resource_server`](crate::UmaClientBuilder::resource_server)),
//! or the application vouched for it on this request
//! ([`UmaRequestBuilder::allow_uma_challenge`](crate::UmaRequestBuilder::allow_uma_challenge)).
//! The RPT is kept for that origin and sent only there.

use http::StatusCode;
use http::header::{AUTHORIZATION, WARNING};

use crate::challenge::AS_UNREACHABLE_WARNING;
use crate::client::bearer;
use crate::error::Kind;
use crate::{ErrorCode, Result, UmaChallenge, UmaClient};

/// The origin (scheme, host, port) of a URL, as RPTs are kept by.
pub(crate) fn origin(url: &url::Url) -> String {
    url.origin().ascii_serialization()
}

/// What to do after a response of the resource server.
pub(crate) enum Step {
    /// Hand this response to the caller.
    Done(reqwest::Response),
    /// Send this request to the resource server, and show the flow its response.
    Send(reqwest::Request),
}

/// One request through the UMA grant: the origin's RPT first; on a challenge that may be
/// answered, the ticket redeemed and the request sent again with the new RPT; if the ticket
/// expired on the way (`invalid_grant`), once more from the start for a fresh one.
pub(crate) struct Flow<'a> {
    client: &'a UmaClient,
    origin: String,
    vouched: bool,
    retry: Option<reqwest::Request>,
    restarted: bool,
    answered: bool,
}

impl<'a> Flow<'a> {
    /// Starts the flow; returns the request to send first. `vouched`: the application allowed
    /// this request's origin to challenge for any trusted authorization server.
    pub(crate) fn start(
        client: &'a UmaClient,
        mut request: reqwest::Request,
        vouched: bool,
    ) -> Result<(Self, reqwest::Request)> {
        let origin = origin(request.url());
        if let Some(cached) = client.cached_rpt(&origin) {
            if !request.headers().contains_key(AUTHORIZATION) {
                request
                    .headers_mut()
                    .insert(AUTHORIZATION, bearer(cached.rpt.as_str())?);
            }
        }
        let flow = Self {
            client,
            origin,
            vouched,
            // A body that cannot be replayed (a stream) is not retried: its 401 comes back.
            retry: request.try_clone(),
            restarted: false,
            answered: false,
        };
        Ok((flow, request))
    }

    /// What to do with the resource server's `response`.
    pub(crate) async fn next(&mut self, response: reqwest::Response) -> Result<Step> {
        if response.status() == StatusCode::FORBIDDEN && is_as_unreachable(&response) {
            return Err(Kind::AuthorizationServerUnreachable.into());
        }
        if self.answered || response.status() != StatusCode::UNAUTHORIZED {
            return Ok(Step::Done(response));
        }
        let Some(challenge) = self.answerable(&response)? else {
            return Ok(Step::Done(response));
        };
        let Some(mut request) = self.retry.take() else {
            return Ok(Step::Done(response));
        };
        match self.client.authorize(&self.origin, &challenge).await {
            Ok(token) => {
                self.answered = true;
                request
                    .headers_mut()
                    .insert(AUTHORIZATION, bearer(token.access_token.as_str())?);
                Ok(Step::Send(request))
            }
            // The ticket expired or was spent between the challenge and the redemption: start
            // once more from the resource, for a fresh one.
            Err(error)
                if !self.restarted
                    && error.is_oauth()
                    && error
                        .oauth_error()
                        .is_some_and(|body| body.error == ErrorCode::InvalidGrant) =>
            {
                self.restarted = true;
                self.retry = request.try_clone();
                Ok(Step::Send(request))
            }
            Err(error) => Err(error),
        }
    }

    /// The challenge of a `401`, if it is one this client may answer.
    fn answerable(&self, response: &reqwest::Response) -> Result<Option<UmaChallenge>> {
        let Some(challenge) = UmaChallenge::from_headers(response.headers()) else {
            return Ok(None);
        };
        let answered_by = origin(response.url());
        if answered_by != self.origin {
            return Err(Kind::ChallengeFromAnotherOrigin {
                sent_to: self.origin.clone(),
                answered_by,
            }
            .into());
        }
        if !self.client.trusts(&challenge.as_uri) {
            return Err(Kind::UntrustedAuthorizationServer {
                as_uri: challenge.as_uri,
            }
            .into());
        }
        if !(self.vouched
            || self
                .client
                .allows_resource_server(&self.origin, &challenge.as_uri))
        {
            return Err(Kind::ResourceServerNotAllowed {
                origin: self.origin.clone(),
                as_uri: challenge.as_uri,
            }
            .into());
        }
        Ok(Some(challenge))
    }
}

fn is_as_unreachable(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all(WARNING)
        .iter()
        .any(|v| v.as_bytes() == AS_UNREACHABLE_WARNING.as_bytes())
}
