//! Token endpoint messages: the UMA grant request (Grant §3.3.1) and the token response
//! (RFC 6749 §5.1, Grant §3.3.5).

use serde::{Deserialize, Serialize};

use crate::{AccessToken, ClaimToken, Pct, PermissionTicket, Rpt};

/// The grant type of the UMA grant (Grant §3.3.1).
///
/// ```
/// assert_eq!(uma_types::UMA_TICKET_GRANT_TYPE, "urn:ietf:params:oauth:grant-type:uma-ticket");
/// ```
pub const UMA_TICKET_GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";

/// The scope of a protection API access token (FedAuthz §1.2).
///
/// ```
/// assert_eq!(uma_types::UMA_PROTECTION_SCOPE, "uma_protection");
/// ```
pub const UMA_PROTECTION_SCOPE: &str = "uma_protection";

/// The claim token format of an OpenID Connect ID token (Grant §3.3.1).
///
/// ```
/// use uma_types::token::ID_TOKEN_FORMAT;
/// assert!(ID_TOKEN_FORMAT.ends_with("#IDToken"));
/// ```
pub const ID_TOKEN_FORMAT: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";

/// The parameters of an UMA grant request (Grant §3.3.1), less `grant_type`, which
/// [`UmaGrantRequest::to_form`] adds.
///
/// ```
/// use uma_types::{PermissionTicket, UmaGrantRequest};
///
/// let mut grant = UmaGrantRequest::new(PermissionTicket::new("016f84e8"));
/// grant.scope = Some("print".into());
/// assert_eq!(grant.to_form()[2], ("scope", "print"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UmaGrantRequest {
    /// The most recent permission ticket of this authorization process.
    pub ticket: PermissionTicket,
    /// Pushed claims; always sent with `claim_token_format`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_token: Option<ClaimToken>,
    /// The format of `claim_token`, such as [`ID_TOKEN_FORMAT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_token_format: Option<String>,
    /// A persisted claims token from an earlier grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct: Option<Pct>,
    /// An RPT to upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpt: Option<Rpt>,
    /// Space-separated scopes the client asks for beyond the ticket's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl UmaGrantRequest {
    /// A request with only the ticket (Grant §3.3.1's first example).
    ///
    /// ```
    /// let grant = uma_types::UmaGrantRequest::new("016f84e8".into());
    /// assert!(grant.rpt.is_none() && grant.pct.is_none());
    /// ```
    pub fn new(ticket: PermissionTicket) -> Self {
        Self {
            ticket,
            claim_token: None,
            claim_token_format: None,
            pct: None,
            rpt: None,
            scope: None,
        }
    }

    /// The `application/x-www-form-urlencoded` pairs, `grant_type` first.
    ///
    /// ```
    /// let grant = uma_types::UmaGrantRequest::new("t1".into());
    /// assert_eq!(
    ///     grant.to_form(),
    ///     [("grant_type", uma_types::UMA_TICKET_GRANT_TYPE), ("ticket", "t1")]
    /// );
    /// ```
    pub fn to_form(&self) -> Vec<(&'static str, &str)> {
        let mut form = vec![
            ("grant_type", UMA_TICKET_GRANT_TYPE),
            ("ticket", self.ticket.as_str()),
        ];
        let optional = [
            (
                "claim_token",
                self.claim_token.as_ref().map(ClaimToken::as_str),
            ),
            ("claim_token_format", self.claim_token_format.as_deref()),
            ("pct", self.pct.as_ref().map(Pct::as_str)),
            ("rpt", self.rpt.as_ref().map(Rpt::as_str)),
            ("scope", self.scope.as_deref()),
        ];
        form.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
        form
    }
}

/// A successful token response (RFC 6749 §5.1), with the UMA members `pct` and `upgraded`.
///
/// ```
/// let token: uma_types::TokenResponse =
///     serde_json::from_str(r#"{"access_token":"sbjsbhs","token_type":"Bearer","upgraded":true}"#).unwrap();
/// assert_eq!(token.upgraded, Some(true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token: a PAT, an RPT, or a user's access token.
    pub access_token: AccessToken,
    /// The token type, `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// A refresh token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<AccessToken>,
    /// Granted scopes; an UMA grant response leaves it out (Grant §3.3.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// An OpenID Connect ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<ClaimToken>,
    /// A persisted claims token (Grant §3.3.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct: Option<Pct>,
    /// `true` when the new RPT carries the permissions of the RPT sent for upgrade (Grant §3.3.5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgraded: Option<bool>,
}

impl TokenResponse {
    /// The access token as an RPT, for a response to the UMA grant.
    ///
    /// ```
    /// let token: uma_types::TokenResponse =
    ///     serde_json::from_str(r#"{"access_token":"abc","token_type":"Bearer"}"#).unwrap();
    /// assert_eq!(token.rpt().as_str(), "abc");
    /// ```
    pub fn rpt(&self) -> Rpt {
        Rpt::new(self.access_token.as_str())
    }
}
