//! Reading request bodies and credentials strictly: bounded size, the right content type, no
//! repeated parameters. Every failure is an [`ApiError`] in the spec's shape, never a panic.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use uma_types::ErrorCode;

use crate::error::ApiError;
use crate::server::{AppState, REALM};

/// Reads a body of at most `max_body_bytes` within the body timeout (TM-30): a client that sends
/// too much gets `413`, one that sends too slowly `408`.
async fn read_body(body: Body, state: &AppState) -> Result<Bytes, ApiError> {
    let limit = state.limits.max_body_bytes;
    match tokio::time::timeout(
        state.limits.connections.body_timeout,
        axum::body::to_bytes(body, limit),
    )
    .await
    {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidRequest,
            format!("the request body is larger than {limit} bytes or could not be read"),
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::InvalidRequest,
            "the request body came too slowly",
        )),
    }
}

fn require_content_type(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let matches = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected));
    if matches {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::InvalidRequest,
            format!("the request body must be {expected}"),
        ))
    }
}

/// An `application/x-www-form-urlencoded` body (RFC 6749 §3.2): empty parameters count as absent,
/// a repeated parameter is `invalid_request` — but for Keycloak's `permission`, which its
/// ticketless UMA grant repeats, one per resource (at most [`MAX_PERMISSIONS`]).
#[derive(Debug)]
pub(crate) struct FormParams {
    params: HashMap<String, String>,
    permissions: Vec<String>,
}

/// The most `permission` parameters one request may carry.
pub(crate) const MAX_PERMISSIONS: usize = 64;

/// How many items a page of a list answers for Keycloak's `max`: 100 when it is not given (as
/// Keycloak), never more than 1,000 whatever it asks.
pub(crate) fn page_size(max: Option<usize>) -> usize {
    max.unwrap_or(100).min(1000)
}

impl FormParams {
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let mut params = HashMap::new();
        let mut permissions = Vec::new();
        for (name, value) in form_urlencoded::parse(body) {
            if value.is_empty() {
                continue;
            }
            if name == "permission" {
                if permissions.len() == MAX_PERMISSIONS {
                    return Err(ApiError::invalid_request(format!(
                        "at most {MAX_PERMISSIONS} permission parameters"
                    )));
                }
                permissions.push(value.into_owned());
                continue;
            }
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(ApiError::invalid_request(format!(
                    "parameter {name} is repeated"
                )));
            }
        }
        Ok(Self {
            params,
            permissions,
        })
    }

    /// Every `permission` parameter, in order.
    pub(crate) fn permissions(&self) -> &[String] {
        &self.permissions
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    pub(crate) fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::invalid_request(format!("parameter {name} is required")))
    }
}

impl FromRequest<AppState> for FormParams {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        require_content_type(request.headers(), "application/x-www-form-urlencoded")?;
        let body = read_body(request.into_body(), state).await?;
        Self::parse(&body)
    }
}

/// An `application/json` body of type `T`; anything that does not parse is `invalid_request`.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        require_content_type(request.headers(), "application/json")?;
        let body = read_body(request.into_body(), state).await?;
        serde_json::from_slice(&body)
            .map(JsonBody)
            .map_err(|e| ApiError::invalid_request(format!("malformed JSON body: {e}")))
    }
}

/// An optional `application/json` body: an empty body is `None`; anything else is read like
/// [`JsonBody`], within the same size limit.
#[derive(Debug)]
pub(crate) struct OptionalJsonBody<T>(pub(crate) Option<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let body = read_body(body, state).await?;
        if body.is_empty() {
            return Ok(Self(None));
        }
        require_content_type(&parts.headers, "application/json")?;
        serde_json::from_slice(&body)
            .map(|value| Self(Some(value)))
            .map_err(|e| ApiError::invalid_request(format!("malformed JSON body: {e}")))
    }
}

/// What the `Authorization` header holds.
#[derive(Debug)]
pub(crate) enum Authorization {
    None,
    Bearer(String),
    Basic { id: String, secret: String },
    Malformed,
}

impl Authorization {
    /// Reads the one `Authorization` header; several are malformed (RFC 6750 §3.1).
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return if headers.contains_key(header::AUTHORIZATION) {
                Self::Malformed
            } else {
                Self::None
            };
        };
        let Ok(value) = value.to_str() else {
            return Self::Malformed;
        };
        let (scheme, credentials) = value.split_once(' ').unwrap_or((value, ""));
        let credentials = credentials.trim();
        if credentials.is_empty() {
            return Self::Malformed;
        }
        if scheme.eq_ignore_ascii_case("Bearer") {
            Self::Bearer(credentials.to_owned())
        } else if scheme.eq_ignore_ascii_case("Basic") {
            decode_basic(credentials).unwrap_or(Self::Malformed)
        } else {
            Self::Malformed
        }
    }
}

/// The live token of the request's `Authorization: Bearer` header, or the RFC 6750 §3 answer:
/// `401` with a bare challenge when there is no token, with `invalid_token` when it is bad.
pub(crate) async fn live_bearer_token(
    headers: &HeaderMap,
    store: &dyn crate::store::Store,
) -> Result<crate::store::TokenRecord, ApiError> {
    let token = match Authorization::from_headers(headers) {
        Authorization::Bearer(token) => token,
        Authorization::None => return Err(ApiError::bearer_unauthorized(REALM, false)),
        _ => return Err(ApiError::bearer_unauthorized(REALM, true)),
    };
    store
        .token(&crate::secret::TokenHash::of(&token))
        .await?
        .filter(|record| record.expires_at > crate::time::now())
        .ok_or_else(|| ApiError::bearer_unauthorized(REALM, true))
}

/// RFC 6749 §2.3.1: both halves are form-urlencoded before base64.
fn decode_basic(credentials: &str) -> Option<Authorization> {
    use base64::Engine as _;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> Option<String> {
        let joined = format!("x={s}");
        form_urlencoded::parse(joined.as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some(Authorization::Basic {
        id: unescape(id)?,
        secret: unescape(secret).unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_rejected_and_empty_ones_ignored() {
        assert!(FormParams::parse(b"a=1&a=2").is_err());
        let params = FormParams::parse(b"a=1&b=&c=%2F").unwrap();
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("b"), None);
        assert_eq!(params.get("c"), Some("/"));
    }

    #[test]
    fn g05_rpt_decodes_in_both_forms() {
        for body in [
            &b"rpt=sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv"[..],
            b"rpt=sbjsbhs%28%2FSSJHBSUSSJHVhjsgvhsgvshgsv",
        ] {
            let params = FormParams::parse(body).unwrap();
            assert_eq!(
                params.get("rpt"),
                Some("sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv")
            );
        }
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        // "my+app:s3cr3t%3Ax"
        headers.insert(
            header::AUTHORIZATION,
            "Basic bXkrYXBwOnMzY3IzdCUzQXg=".parse().unwrap(),
        );
        match Authorization::from_headers(&headers) {
            Authorization::Basic { id, secret } => {
                assert_eq!(id, "my app");
                assert_eq!(secret, "s3cr3t:x");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn odd_authorization_headers_are_malformed() {
        for value in ["Bearer", "Basic !!!", "Digest abc", "Basic Zm9v"] {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, value.parse().unwrap());
            assert!(
                matches!(
                    Authorization::from_headers(&headers),
                    Authorization::Malformed
                ),
                "{value}"
            );
        }
    }
}
