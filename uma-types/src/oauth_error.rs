//! The error body shared by the token endpoint (RFC 6749 §5.2, Grant §3.3.6) and the protection
//! API (FedAuthz §6), with the UMA members `ticket`, `required_claims`, `redirect_user`, `interval`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::PermissionTicket;

/// An error code. The spec's codes are variants; anything else is kept as [`ErrorCode::Other`].
///
/// ```
/// use uma_types::ErrorCode;
///
/// assert_eq!(ErrorCode::from("need_info".to_owned()), ErrorCode::NeedInfo);
/// assert_eq!(ErrorCode::from("forbidden_by_policy".to_owned()).as_str(), "forbidden_by_policy");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum ErrorCode {
    /// RFC 6749 §5.2 / RFC 6750 §3.1: malformed request.
    InvalidRequest,
    /// RFC 6749 §5.2: client authentication failed.
    InvalidClient,
    /// RFC 6749 §5.2, Grant §3.3.6: unknown, expired or spent ticket, or another bad grant.
    InvalidGrant,
    /// RFC 6749 §5.2: the client may not use this grant type.
    UnauthorizedClient,
    /// RFC 6749 §5.2: the grant type is not supported.
    UnsupportedGrantType,
    /// Grant §3.3.6, FedAuthz §4.3: a scope matches nothing available.
    InvalidScope,
    /// Grant §3.3.6: more claims are needed; comes with a new ticket.
    NeedInfo,
    /// Grant §3.3.6: the client may not have these permissions.
    RequestDenied,
    /// Grant §3.3.6: the resource owner must decide; comes with a new ticket.
    RequestSubmitted,
    /// FedAuthz §4.3: a resource id in a permission request was not found.
    InvalidResourceId,
    /// FedAuthz §3.2: the referenced resource does not exist.
    NotFound,
    /// FedAuthz §3.2: the HTTP method is not supported.
    UnsupportedMethodType,
    /// RFC 6750 §3.1: the access token is invalid.
    InvalidToken,
    /// RFC 6750 §3.1: the access token lacks a required scope.
    InsufficientScope,
    /// RFC 6749 §4.1.2.1, and Keycloak's denial code.
    AccessDenied,
    /// RFC 6749 §4.1.2.1: the server failed.
    ServerError,
    /// RFC 6749 §4.1.2.1: the server is overloaded or down for maintenance.
    TemporarilyUnavailable,
    /// Any other code, kept verbatim.
    Other(String),
}

impl ErrorCode {
    /// The code as it appears on the wire.
    ///
    /// ```
    /// assert_eq!(uma_types::ErrorCode::RequestDenied.as_str(), "request_denied");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::NeedInfo => "need_info",
            Self::RequestDenied => "request_denied",
            Self::RequestSubmitted => "request_submitted",
            Self::InvalidResourceId => "invalid_resource_id",
            Self::NotFound => "not_found",
            Self::UnsupportedMethodType => "unsupported_method_type",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::AccessDenied => "access_denied",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::Other(code) => code,
        }
    }
}

impl From<String> for ErrorCode {
    fn from(code: String) -> Self {
        match code.as_str() {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            "need_info" => Self::NeedInfo,
            "request_denied" => Self::RequestDenied,
            "request_submitted" => Self::RequestSubmitted,
            "invalid_resource_id" => Self::InvalidResourceId,
            "not_found" => Self::NotFound,
            "unsupported_method_type" => Self::UnsupportedMethodType,
            "invalid_token" => Self::InvalidToken,
            "insufficient_scope" => Self::InsufficientScope,
            "access_denied" => Self::AccessDenied,
            "server_error" => Self::ServerError,
            "temporarily_unavailable" => Self::TemporarilyUnavailable,
            _ => Self::Other(code),
        }
    }
}

impl From<ErrorCode> for String {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::Other(code) => code,
            known => known.as_str().to_owned(),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A claim the authorization server needs, in a `need_info` error (Grant §3.3.6). Every member is
/// optional; `claim_token_format` and `issuer` are arrays.
///
/// ```
/// let claim: uma_types::RequiredClaim = serde_json::from_str(
///     r#"{"name":"email","claim_token_format":["http://openid.net/specs/openid-connect-core-1_0.html#IDToken"]}"#,
/// ).unwrap();
/// assert_eq!(claim.claim_token_format.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RequiredClaim {
    /// Acceptable claim token formats; any one satisfies the server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claim_token_format: Vec<String>,
    /// The expected interpretation of the claim value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_type: Option<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendly_name: Option<String>,
    /// Acceptable issuers; any one satisfies the server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issuer: Vec<String>,
    /// The claim's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// An OAuth error response body, with the UMA members.
///
/// ```
/// use uma_types::{ErrorCode, ErrorResponse};
///
/// let body: ErrorResponse = serde_json::from_str(r#"{"error":"request_denied"}"#).unwrap();
/// assert_eq!(body.error, ErrorCode::RequestDenied);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    /// The error code.
    pub error: ErrorCode,
    /// Human-readable detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// A page about the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
    /// A new ticket, with `need_info` and `request_submitted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<PermissionTicket>,
    /// Claims the server needs, with `need_info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required_claims: Option<Vec<RequiredClaim>>,
    /// Where to send the requesting party to gather claims, with `need_info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_user: Option<String>,
    /// Minimum seconds between polls, with `request_submitted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
}

impl ErrorResponse {
    /// A body with only `error`.
    ///
    /// ```
    /// use uma_types::{ErrorCode, ErrorResponse};
    ///
    /// let body = ErrorResponse::new(ErrorCode::InvalidGrant);
    /// assert_eq!(serde_json::to_value(&body).unwrap(), serde_json::json!({"error": "invalid_grant"}));
    /// ```
    pub fn new(error: ErrorCode) -> Self {
        Self {
            error,
            error_description: None,
            error_uri: None,
            ticket: None,
            required_claims: None,
            redirect_user: None,
            interval: None,
        }
    }

    /// Adds `error_description`.
    ///
    /// ```
    /// use uma_types::{ErrorCode, ErrorResponse};
    ///
    /// let body = ErrorResponse::new(ErrorCode::InvalidScope).with_description("no such scope");
    /// assert_eq!(body.to_string(), "invalid_scope: no such scope");
    /// ```
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.error_description = Some(description.into());
        self
    }
}

impl fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_description {
            Some(description) => write!(f, "{}: {description}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}
