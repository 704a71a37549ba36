//! Shared HTTP plumbing: client credentials, bounded response bodies, error mapping.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::Kind;
use crate::{ClientSecret, Error, ErrorResponse, Result};

/// The largest response body read from an authorization server; a larger one is an error.
pub(crate) const MAX_BODY_BYTES: usize = 256 * 1024;

/// How a client proves who it is at the token endpoint (RFC 6749 §2.3.1).
///
/// ```
/// use uma_client::ClientCredentials;
///
/// let basic = ClientCredentials::new("photoz", "secret");
/// let posted = ClientCredentials::new("photoz", "secret").post();
/// assert!(!format!("{posted:?}").contains("secret\""), "the secret is redacted");
/// ```
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    /// The client identifier.
    pub client_id: String,
    /// The client secret.
    pub client_secret: ClientSecret,
    /// Send them in an `Authorization: Basic` header (the default) or in the form body.
    pub method: AuthMethod,
}

/// Where the client credentials go.
///
/// ```
/// use uma_client::{AuthMethod, ClientCredentials};
///
/// assert_eq!(ClientCredentials::new("a", "s").method, AuthMethod::ClientSecretBasic);
/// assert_eq!(ClientCredentials::new("a", "s").post().method, AuthMethod::ClientSecretPost);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthMethod {
    /// `client_secret_basic`: an `Authorization: Basic` header.
    #[default]
    ClientSecretBasic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl ClientCredentials {
    /// Credentials sent with `client_secret_basic`.
    ///
    /// ```
    /// let credentials = uma_client::ClientCredentials::new("photoz", "secret");
    /// assert_eq!(credentials.client_id, "photoz");
    /// ```
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<ClientSecret>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            method: AuthMethod::ClientSecretBasic,
        }
    }

    /// Sends the credentials with `client_secret_post` instead.
    ///
    /// ```
    /// let credentials = uma_client::ClientCredentials::new("photoz", "secret").post();
    /// assert_eq!(credentials.method, uma_client::AuthMethod::ClientSecretPost);
    /// ```
    pub fn post(mut self) -> Self {
        self.method = AuthMethod::ClientSecretPost;
        self
    }

    /// Adds the credentials to a token endpoint request whose form is `form`.
    pub(crate) fn apply(
        &self,
        request: reqwest::RequestBuilder,
        form: &mut Vec<(&'static str, String)>,
    ) -> reqwest::RequestBuilder {
        match self.method {
            AuthMethod::ClientSecretBasic => {
                request.header(http::header::AUTHORIZATION, self.basic_header())
            }
            AuthMethod::ClientSecretPost => {
                form.push(("client_id", self.client_id.clone()));
                form.push(("client_secret", self.client_secret.as_str().to_owned()));
                request
            }
        }
    }

    /// `Basic base64(urlencode(id) ":" urlencode(secret))`: RFC 6749 §2.3.1 form-encodes both
    /// before joining them, which many clients forget.
    fn basic_header(&self) -> String {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!(
            "{}:{}",
            encode(&self.client_id),
            encode(self.client_secret.as_str())
        );
        format!("Basic {}", STANDARD.encode(pair))
    }
}

/// Sends a request, mapping a transport failure to a transport error without its URL.
pub(crate) async fn send(
    request: reqwest::RequestBuilder,
    endpoint: &'static str,
) -> Result<reqwest::Response> {
    request.send().await.map_err(|source| {
        Error::from(Kind::Transport {
            endpoint,
            source: source.without_url(),
        })
    })
}

/// Reads at most [`MAX_BODY_BYTES`] of a response body.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
    endpoint: &'static str,
) -> Result<(StatusCode, Vec<u8>)> {
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|source| {
        Error::from(Kind::Transport {
            endpoint,
            source: source.without_url(),
        })
    })? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Kind::UnexpectedResponse {
                endpoint,
                status: Some(status),
                detail: format!("body larger than {MAX_BODY_BYTES} bytes"),
            }
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// Reads a JSON body when the status is `expected`; maps an OAuth error body to an OAuth error
/// and anything else to an unexpected response.
pub(crate) async fn expect_json<T: DeserializeOwned>(
    response: reqwest::Response,
    expected: StatusCode,
    endpoint: &'static str,
) -> Result<T> {
    let (status, body) = read_body(response, endpoint).await?;
    if status != expected {
        return Err(error_from(status, &body, endpoint));
    }
    serde_json::from_slice(&body).map_err(|e| {
        Error::from(Kind::UnexpectedResponse {
            endpoint,
            status: Some(status),
            detail: format!("malformed JSON body: {e}"),
        })
    })
}

/// Checks the status of a response whose body does not matter.
pub(crate) async fn expect_status(
    response: reqwest::Response,
    expected: &[StatusCode],
    endpoint: &'static str,
) -> Result<()> {
    let (status, body) = read_body(response, endpoint).await?;
    if expected.contains(&status) {
        Ok(())
    } else {
        Err(error_from(status, &body, endpoint))
    }
}

fn error_from(status: StatusCode, body: &[u8], endpoint: &'static str) -> Error {
    let status = Some(status);
    let kind = match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(body) => Kind::Oauth {
            endpoint,
            status,
            body: Box::new(body),
        },
        Err(_) => Kind::UnexpectedResponse {
            endpoint,
            status,
            detail: "no OAuth error body".to_owned(),
        },
    };
    kind.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_form_encodes_before_base64() {
        // RFC 6749 §2.3.1: "s3cr3t:x" must become "s3cr3t%3Ax".
        let header = ClientCredentials::new("my app", "s3cr3t:x").basic_header();
        let decoded = STANDARD
            .decode(header.strip_prefix("Basic ").unwrap())
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "my+app:s3cr3t%3Ax");
    }
}
