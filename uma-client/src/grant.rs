//! What the UMA grant can answer besides an RPT (Grant §3.3.6), typed so that a caller can act:
//! push claims or send the requesting party to gather them on `need_info`, poll on
//! `request_submitted`, give up on `request_denied`.

use std::future::Future;
use std::pin::Pin;

use url::Url;

use crate::error::Kind;
use crate::{ClaimToken, Error, ErrorCode, ErrorResponse, PermissionTicket, RequiredClaim, Result};

/// `need_info`: the authorization server needs claims about the requesting party.
///
/// ```no_run
/// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
/// let answer = uma.get("https://photoz.example.com/albums/1").send().await;
/// if let Some(needed) = answer.as_ref().err().and_then(|e| e.need_info()) {
///     for claim in &needed.required_claims {
///         println!("needs {:?} in one of {:?}", claim.name, claim.claim_token_format);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct NeedInfo {
    /// The authorization server that asked.
    pub issuer: String,
    /// The new ticket to continue with (it differs from the one sent; this is checked).
    pub ticket: PermissionTicket,
    /// The claims it needs, if it said.
    pub required_claims: Vec<RequiredClaim>,
    /// Where to send an end-user requesting party to give them interactively.
    pub redirect_user: Option<String>,
}

/// `request_submitted`: the resource owner must decide. Poll with
/// [`UmaClient::poll`](crate::UmaClient::poll), or start again from the resource later.
///
/// ```no_run
/// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
/// let answer = uma.get("https://photoz.example.com/albums/1").send().await;
/// if let Some(pending) = answer.as_ref().err().and_then(|e| e.request_submitted()) {
///     println!("poll every {:?} s", pending.interval);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct RequestSubmitted {
    /// The authorization server that answered.
    pub issuer: String,
    /// The new ticket to poll with; `None` from servers that send none (Keycloak), which leaves
    /// only starting again from the resource.
    pub ticket: Option<PermissionTicket>,
    /// The least number of seconds to wait between polls.
    pub interval: Option<u64>,
}

/// Claims pushed with an UMA grant request (Grant §3.3.1): a claim token and its format.
///
/// ```
/// let claims = uma_client::PushedClaims::id_token("eyJ…");
/// assert_eq!(claims.format, uma_client::token::ID_TOKEN_FORMAT);
/// ```
#[derive(Debug, Clone)]
pub struct PushedClaims {
    /// The claim token.
    pub token: ClaimToken,
    /// Its format, such as [`ID_TOKEN_FORMAT`](crate::token::ID_TOKEN_FORMAT).
    pub format: String,
}

impl PushedClaims {
    /// An OpenID Connect ID token.
    ///
    /// ```
    /// let claims = uma_client::PushedClaims::id_token("eyJ…");
    /// assert_eq!(claims.token.as_str(), "eyJ…");
    /// ```
    pub fn id_token(token: impl Into<ClaimToken>) -> Self {
        Self {
            token: token.into(),
            format: crate::token::ID_TOKEN_FORMAT.to_owned(),
        }
    }
}

/// The future a [`ClaimTokenSource`] returns.
///
/// ```
/// use uma_client::{ClaimTokenFuture, ClaimTokenSource, NeedInfo, PushedClaims};
///
/// struct FromSession(String);
///
/// impl ClaimTokenSource for FromSession {
///     fn claim_token<'a>(&'a self, _needed: &'a NeedInfo) -> ClaimTokenFuture<'a> {
///         Box::pin(async move { Some(PushedClaims::id_token(self.0.as_str())) })
///     }
/// }
/// ```
pub type ClaimTokenFuture<'a> = Pin<Box<dyn Future<Output = Option<PushedClaims>> + Send + 'a>>;

/// Supplies claims when an authorization server answers `need_info`: given what it needs,
/// return a claim token (such as the requesting party's ID token), or `None` to give up.
///
/// Implemented for closures returning a future:
///
/// ```
/// use uma_client::{NeedInfo, PushedClaims};
///
/// let source = |_needed: &NeedInfo| {
///     let id_token = "eyJ…".to_owned(); // from the requesting party's sign-in
///     async move { Some(PushedClaims::id_token(id_token)) }
/// };
/// # fn takes(_: impl uma_client::ClaimTokenSource) {}
/// # takes(source);
/// ```
pub trait ClaimTokenSource: Send + Sync + 'static {
    /// Claims for `needed`, or `None`.
    fn claim_token<'a>(&'a self, needed: &'a NeedInfo) -> ClaimTokenFuture<'a>;
}

impl<F, Fut> ClaimTokenSource for F
where
    F: Fn(&NeedInfo) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<PushedClaims>> + Send + 'static,
{
    fn claim_token<'a>(&'a self, needed: &'a NeedInfo) -> ClaimTokenFuture<'a> {
        Box::pin(self(needed))
    }
}

/// A redirect of the requesting party to the claims interaction endpoint (Grant §3.3.2), and
/// what is needed to check the redirect back (Grant §3.3.3).
///
/// ```
/// use uma_client::{NeedInfo, PermissionTicket};
///
/// let needed = NeedInfo {
///     issuer: "https://as.example.com".into(),
///     ticket: PermissionTicket::new("t2"),
///     required_claims: vec![],
///     redirect_user: None,
/// };
/// let interaction = needed
///     .claims_interaction(Some("https://as.example.com/claims"), "app", "https://app.example/cb")
///     .unwrap();
/// assert!(interaction.url.as_str().contains("ticket=t2"));
/// ```
#[derive(Debug, Clone)]
pub struct ClaimsInteraction {
    /// Where to send the requesting party's browser.
    pub url: Url,
    /// The unguessable `state` sent; the redirect back must carry exactly it.
    pub state: String,
    /// The authorization server.
    pub issuer: String,
    /// The ticket sent; the one coming back must differ.
    pub ticket: PermissionTicket,
}

impl NeedInfo {
    /// The URL to send the requesting party to: `redirect_user` if the server gave one, else
    /// `claims_interaction_endpoint` (from discovery), with `client_id`, `ticket`,
    /// `claims_redirect_uri` and a fresh 128-bit `state` appended to any query it has.
    ///
    /// ```
    /// use uma_client::{NeedInfo, PermissionTicket};
    ///
    /// let needed = NeedInfo {
    ///     issuer: "https://as.example.com".into(),
    ///     ticket: PermissionTicket::new("t2"),
    ///     required_claims: vec![],
    ///     redirect_user: Some("https://as.example.com/rqp_claims?id=7".into()),
    /// };
    /// let interaction = needed.claims_interaction(None, "app", "https://app.example/cb").unwrap();
    /// assert!(interaction.url.as_str().starts_with("https://as.example.com/rqp_claims?id=7&client_id=app&"));
    /// ```
    pub fn claims_interaction(
        &self,
        claims_interaction_endpoint: Option<&str>,
        client_id: &str,
        claims_redirect_uri: &str,
    ) -> Result<ClaimsInteraction> {
        let base = self
            .redirect_user
            .as_deref()
            .or(claims_interaction_endpoint)
            .ok_or_else(|| {
                Error::from(Kind::Discovery {
                    issuer: self.issuer.clone(),
                    detail: "no redirect_user and no claims_interaction_endpoint".to_owned(),
                })
            })?;
        let mut url = Url::parse(base).map_err(|e| {
            Error::from(Kind::UnexpectedResponse {
                endpoint: "token endpoint",
                // The need_info answer's status is not kept with it.
                status: None,
                detail: format!("redirect_user is not a URL: {e}"),
            })
        })?;
        let state = random_state()?;
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("ticket", self.ticket.as_str())
            .append_pair("claims_redirect_uri", claims_redirect_uri)
            .append_pair("state", &state);
        Ok(ClaimsInteraction {
            url,
            state,
            issuer: self.issuer.clone(),
            ticket: self.ticket.clone(),
        })
    }
}

impl ClaimsInteraction {
    /// Checks the redirect back to the client (Grant §3.3.3, §5.1): `state` must be exactly the
    /// one sent, an `error` ends the process, and the new `ticket` must differ from the one sent.
    /// Returns the ticket to continue with.
    ///
    /// ```
    /// # use uma_client::{NeedInfo, PermissionTicket};
    /// # let needed = NeedInfo { issuer: "https://as".into(), ticket: PermissionTicket::new("t2"),
    /// #     required_claims: vec![], redirect_user: Some("https://as/claims".into()) };
    /// let interaction = needed.claims_interaction(None, "app", "https://app.example/cb").unwrap();
    /// let back = format!("https://app.example/cb?ticket=t3&state={}", interaction.state);
    /// assert_eq!(interaction.ticket_from_redirect(&back).unwrap().as_str(), "t3");
    /// assert!(interaction.ticket_from_redirect("https://app.example/cb?ticket=t3&state=forged").is_err());
    /// ```
    pub fn ticket_from_redirect(&self, redirect: &str) -> Result<PermissionTicket> {
        let url = Url::parse(redirect)
            .map_err(|e| Error::from(Kind::InvalidInput(format!("bad redirect: {e}"))))?;
        let mut state = None;
        let mut ticket = None;
        let mut error = None;
        for (name, value) in url.query_pairs() {
            match name.as_ref() {
                "state" => state = Some(value.into_owned()),
                "ticket" => ticket = Some(value.into_owned()),
                "error" => error = Some(value.into_owned()),
                // Unknown parameters (such as UMA 1's authorization_state) are ignored (CI-4).
                _ => {}
            }
        }
        if state.as_deref() != Some(self.state.as_str()) {
            return Err(Kind::StateMismatch.into());
        }
        if let Some(error) = error {
            return Err(Kind::Oauth {
                endpoint: "claims interaction endpoint",
                status: None,
                body: Box::new(ErrorResponse::new(ErrorCode::from(error))),
            }
            .into());
        }
        let ticket = PermissionTicket::new(ticket.ok_or_else(|| {
            Error::from(Kind::UnexpectedResponse {
                endpoint: "claims interaction endpoint",
                status: None,
                detail: "the redirect back has no ticket".to_owned(),
            })
        })?);
        if ticket == self.ticket {
            return Err(Kind::TicketNotRotated.into());
        }
        Ok(ticket)
    }
}

/// 128 random bits, base64url: an unguessable `state` (Grant §5.1).
fn random_state() -> Result<String> {
    use base64::Engine as _;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::from(Kind::NoRandomness(e.to_string())))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Turns an error answer of the token endpoint to an UMA grant into the error a caller acts on,
/// reading the peers' dialects too: Keycloak's `access_denied` with `error_description`
/// `request_submitted` or `not_authorized`, Janssen's `forbidden_by_policy`.
pub(crate) fn classify(error: Error, issuer: &str, sent: &PermissionTicket) -> Error {
    let Kind::Oauth { status, body, .. } = error.kind() else {
        return error;
    };
    let status = *status;
    let rotated = |ticket: &Option<PermissionTicket>| match ticket {
        Some(ticket) if ticket == sent => Err(Kind::TicketNotRotated),
        _ => Ok(()),
    };
    let description = body.error_description.as_deref();
    let kind = match (&body.error, description) {
        (ErrorCode::NeedInfo, _) => match (rotated(&body.ticket), &body.ticket) {
            (Err(e), _) => e,
            (Ok(()), Some(ticket)) => Kind::NeedInfo {
                status,
                needed: Box::new(NeedInfo {
                    issuer: issuer.to_owned(),
                    ticket: ticket.clone(),
                    required_claims: body.required_claims.clone().unwrap_or_default(),
                    redirect_user: body.redirect_user.clone(),
                }),
            },
            (Ok(()), None) => Kind::UnexpectedResponse {
                endpoint: "token endpoint",
                status,
                detail: "need_info without a ticket".to_owned(),
            },
        },
        (ErrorCode::RequestSubmitted, _) | (ErrorCode::AccessDenied, Some("request_submitted")) => {
            match rotated(&body.ticket) {
                Err(e) => e,
                Ok(()) => Kind::RequestSubmitted {
                    status,
                    pending: Box::new(RequestSubmitted {
                        issuer: issuer.to_owned(),
                        ticket: body.ticket.clone(),
                        interval: body.interval,
                    }),
                },
            }
        }
        (ErrorCode::RequestDenied | ErrorCode::AccessDenied, _) => Kind::RequestDenied {
            status,
            body: body.clone(),
        },
        (ErrorCode::Other(code), _) if code == "forbidden_by_policy" => Kind::RequestDenied {
            status,
            body: body.clone(),
        },
        _ => return error,
    };
    kind.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    fn oauth(body: serde_json::Value) -> Error {
        Kind::Oauth {
            endpoint: "token endpoint",
            status: Some(StatusCode::FORBIDDEN),
            body: Box::new(serde_json::from_value(body).unwrap()),
        }
        .into()
    }

    #[test]
    fn dialects_map_to_the_same_outcomes() {
        let sent = PermissionTicket::new("t1");
        let classify = |body| classify(oauth(body), "https://as", &sent);
        assert!(classify(serde_json::json!({"error": "request_denied"})).is_request_denied());
        assert!(
            classify(
                serde_json::json!({"error": "access_denied", "error_description": "not_authorized"})
            )
            .is_request_denied()
        );
        assert!(classify(serde_json::json!({"error": "forbidden_by_policy"})).is_request_denied());
        let error = classify(
            serde_json::json!({"error": "access_denied", "error_description": "request_submitted"}),
        );
        assert!(error.is_request_submitted(), "{error:?}");
        assert!(error.ticket().is_none());
        assert_eq!(error.status(), Some(StatusCode::FORBIDDEN));
        let error = classify(
            serde_json::json!({"error": "request_submitted", "ticket": "t2", "interval": 5}),
        );
        assert_eq!(error.ticket().map(PermissionTicket::as_str), Some("t2"));
        assert_eq!(error.interval(), Some(std::time::Duration::from_secs(5)));
        let error = classify(
            serde_json::json!({"error": "need_info", "ticket": "t2", "redirect_user": "https://as/claims"}),
        );
        assert!(error.is_need_info(), "{error:?}");
        assert_eq!(error.redirect_user(), Some("https://as/claims"));
        assert_eq!(error.ticket().map(PermissionTicket::as_str), Some("t2"));
        assert!(classify(serde_json::json!({"error": "invalid_grant"})).is_oauth());
    }

    #[test]
    fn a_ticket_that_did_not_change_is_refused() {
        let sent = PermissionTicket::new("t1");
        for body in [
            serde_json::json!({"error": "need_info", "ticket": "t1", "redirect_user": "https://as/c"}),
            serde_json::json!({"error": "request_submitted", "ticket": "t1"}),
        ] {
            assert!(classify(oauth(body), "https://as", &sent).is_ticket_not_rotated());
        }
        assert!(
            classify(
                oauth(serde_json::json!({"error": "need_info"})),
                "https://as",
                &sent
            )
            .is_unexpected_response()
        );
    }

    #[test]
    fn claims_interaction_url_keeps_the_query_and_the_redirect_back_is_checked() {
        let needed = NeedInfo {
            issuer: "https://as.example.com".into(),
            ticket: PermissionTicket::new("ZXJyb3JfZGV0YWlscw=="),
            required_claims: vec![],
            redirect_user: Some("https://as.example.com/rqp_claims?id=2346576421".into()),
        };
        let interaction = needed
            .claims_interaction(
                None,
                "some_client_id",
                "https://client.example.com/redirect_claims",
            )
            .unwrap();
        let url = interaction.url.as_str();
        assert!(url.starts_with("https://as.example.com/rqp_claims?id=2346576421&client_id=some_client_id&ticket=ZXJyb3JfZGV0YWlscw%3D%3D&claims_redirect_uri=https%3A%2F%2Fclient.example.com%2Fredirect_claims&state="), "{url}");
        assert_eq!(interaction.state.len(), 22);

        let back = |query: &str| format!("https://client.example.com/redirect_claims?{query}");
        let state = &interaction.state;
        let ticket = interaction
            .ticket_from_redirect(&back(&format!(
                "ticket=cHJpdmFjeQ&state={state}&authorization_state=claims_submitted"
            )))
            .unwrap();
        assert_eq!(ticket.as_str(), "cHJpdmFjeQ");
        assert!(
            interaction
                .ticket_from_redirect(&back("ticket=cHJpdmFjeQ&state=abc"))
                .is_err_and(|e| e.is_state_mismatch())
        );
        assert!(
            interaction
                .ticket_from_redirect(&back("ticket=cHJpdmFjeQ"))
                .is_err_and(|e| e.is_state_mismatch())
        );
        assert!(
            interaction
                .ticket_from_redirect(&back(&format!(
                    "ticket=ZXJyb3JfZGV0YWlscw%3D%3D&state={state}"
                )))
                .is_err_and(|e| e.is_ticket_not_rotated())
        );
        let refused = interaction
            .ticket_from_redirect(&back(&format!("error=access_denied&state={state}")))
            .unwrap_err();
        assert_eq!(
            refused.oauth_error().map(|body| &body.error),
            Some(&ErrorCode::AccessDenied)
        );
        // The error came in a redirect this client never saw as a response: no status.
        assert_eq!(refused.status(), None);
    }
}
