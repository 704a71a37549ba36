//! The requesting party's side of the UMA grant (Grant §3): follow a resource server's challenge
//! to an RPT and retry with it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{AUTHORIZATION, WARNING};
use http::{HeaderName, HeaderValue, Method, StatusCode};

use crate::challenge::AS_UNREACHABLE_WARNING;
use crate::transport::{self, ClientCredentials};
use crate::{
    AccessToken, DiscoveryDocument, Error, Result, TokenResponse, UmaChallenge, UmaGrantRequest,
};

/// How the client authenticates its UMA grant requests, which also tells the authorization server
/// who the requesting party is.
#[derive(Debug, Clone)]
pub enum GrantAuth {
    /// The client authenticates with its own credentials and acts as the requesting party.
    Client(ClientCredentials),
    /// The requesting party's own access token from the authorization server, sent as
    /// `Authorization: Bearer` (the dialect Keycloak introduced and most clients speak).
    Bearer(AccessToken),
}

/// An HTTP client that reaches UMA-protected resources.
///
/// A request answered `401` with a `WWW-Authenticate: UMA` challenge is followed transparently: the
/// ticket is redeemed at the authorization server the challenge names (only if it is trusted), and
/// the request is sent once more with the RPT.
///
/// ```no_run
/// use uma_client::{GrantAuth, UmaClient};
///
/// # async fn run(token: uma_client::AccessToken) -> uma_client::Result<()> {
/// let uma = UmaClient::builder()
///     .trust("https://as.example.com")
///     .auth(GrantAuth::Bearer(token))
///     .build()?;
/// let album = uma.get("https://photoz.example.com/albums/1").send().await?;
/// assert!(album.status().is_success());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct UmaClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    as_http: reqwest::Client,
    trusted: Vec<String>,
    auth: GrantAuth,
    // Bounded by `trusted`: a document is only fetched for a trusted issuer.
    discovery: Mutex<HashMap<String, Arc<DiscoveryDocument>>>,
}

/// Builds an [`UmaClient`].
#[derive(Debug, Default)]
#[must_use]
pub struct UmaClientBuilder {
    http: Option<reqwest::Client>,
    trusted: Vec<String>,
    auth: Option<GrantAuth>,
    timeout: Option<Duration>,
}

impl UmaClient {
    /// Starts building a client.
    pub fn builder() -> UmaClientBuilder {
        UmaClientBuilder::default()
    }

    /// Starts a `GET` request.
    pub fn get(&self, url: impl reqwest::IntoUrl) -> UmaRequestBuilder {
        self.request(Method::GET, url)
    }

    /// Starts a request with any method.
    pub fn request(&self, method: Method, url: impl reqwest::IntoUrl) -> UmaRequestBuilder {
        UmaRequestBuilder {
            client: self.clone(),
            inner: self.inner.http.request(method, url),
        }
    }

    /// Sends a request, following an UMA challenge once.
    ///
    /// A request whose body cannot be replayed (a stream) is not retried: its `401` comes back as
    /// it is. A `403` carrying `Warning: 199 - "UMA Authorization Server Unreachable"` is
    /// [`Error::AuthorizationServerUnreachable`].
    pub async fn execute(&self, request: reqwest::Request) -> Result<reqwest::Response> {
        let retry = request.try_clone();
        let response = self.send_resource(request).await?;
        match response.status() {
            StatusCode::UNAUTHORIZED => {
                let (Some(challenge), Some(mut retry)) =
                    (UmaChallenge::from_headers(response.headers()), retry)
                else {
                    return Ok(response);
                };
                let token = self.obtain_rpt(&challenge).await?;
                retry
                    .headers_mut()
                    .insert(AUTHORIZATION, bearer(token.access_token.as_str())?);
                self.send_resource(retry).await
            }
            StatusCode::FORBIDDEN if is_as_unreachable(&response) => {
                Err(Error::AuthorizationServerUnreachable)
            }
            _ => Ok(response),
        }
    }

    async fn send_resource(&self, request: reqwest::Request) -> Result<reqwest::Response> {
        self.inner
            .http
            .execute(request)
            .await
            .map_err(|source| Error::Transport {
                endpoint: "resource server",
                source: source.without_url(),
            })
    }

    /// Redeems the ticket of a challenge at its authorization server for an RPT (Grant §3.3.1).
    ///
    /// The challenge's `as_uri` must be one of the trusted issuers, exactly; otherwise nothing is
    /// sent. An error answer of the authorization server (`request_denied`, `need_info`,
    /// `invalid_grant`, …) is [`Error::Oauth`] with the body.
    pub async fn obtain_rpt(&self, challenge: &UmaChallenge) -> Result<TokenResponse> {
        self.redeem(
            &challenge.as_uri,
            &UmaGrantRequest::new(challenge.ticket.clone()),
        )
        .await
    }

    /// Sends an UMA grant request to the token endpoint of the trusted authorization server
    /// `issuer`.
    pub async fn redeem(&self, issuer: &str, grant: &UmaGrantRequest) -> Result<TokenResponse> {
        const ENDPOINT: &str = "token endpoint";
        let discovery = self.discovery(issuer).await?;
        let mut form: Vec<(&'static str, String)> = grant
            .to_form()
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect();
        let request = self.inner.as_http.post(&discovery.token_endpoint);
        let request = match &self.inner.auth {
            GrantAuth::Client(credentials) => credentials.apply(request, &mut form),
            GrantAuth::Bearer(token) => request.header(AUTHORIZATION, bearer(token.as_str())?),
        };
        let response = transport::send(request.form(&form), ENDPOINT).await?;
        transport::expect_json(response, StatusCode::OK, ENDPOINT).await
    }

    /// The discovery document of a trusted issuer, fetched once.
    pub async fn discovery(&self, issuer: &str) -> Result<Arc<DiscoveryDocument>> {
        if !self.inner.trusted.iter().any(|t| t == issuer) {
            return Err(Error::UntrustedAuthorizationServer {
                as_uri: issuer.to_owned(),
            });
        }
        if let Some(document) = self.cached_discovery(issuer) {
            return Ok(document);
        }
        let document = Arc::new(crate::discovery::fetch(&self.inner.as_http, issuer).await?);
        self.lock_discovery()
            .insert(issuer.to_owned(), Arc::clone(&document));
        Ok(document)
    }

    fn cached_discovery(&self, issuer: &str) -> Option<Arc<DiscoveryDocument>> {
        self.lock_discovery().get(issuer).cloned()
    }

    fn lock_discovery(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<DiscoveryDocument>>> {
        // Poisoning cannot leave the map half-written (insert is one call); keep using it.
        self.inner
            .discovery
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }
}

fn is_as_unreachable(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get_all(WARNING)
        .iter()
        .any(|v| v.as_bytes() == AS_UNREACHABLE_WARNING.as_bytes())
}

fn bearer(token: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::try_from(format!("Bearer {token}"))
        .map_err(|_| Error::Config("token has characters not allowed in a header".to_owned()))?;
    value.set_sensitive(true);
    Ok(value)
}

impl UmaClientBuilder {
    /// Trusts the authorization server with this issuer: challenges naming it are followed. Only
    /// exact matches count; call once per trusted server.
    pub fn trust(mut self, issuer: impl Into<String>) -> Self {
        self.trusted.push(issuer.into());
        self
    }

    /// How to authenticate at the token endpoint. Required.
    pub fn auth(mut self, auth: GrantAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The client used for requests to resource servers (default: reqwest's defaults). Calls to
    /// authorization servers always use a client of this crate's that follows no redirects.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The timeout of each call to an authorization server (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Builds the client; fails without [`auth`](Self::auth) or a trusted issuer.
    pub fn build(self) -> Result<UmaClient> {
        let auth = self
            .auth
            .ok_or_else(|| Error::Config("grant authentication is required".to_owned()))?;
        if self.trusted.is_empty() {
            return Err(Error::Config(
                "trust at least one authorization server".to_owned(),
            ));
        }
        let as_http = crate::default_http_client(self.timeout.unwrap_or(Duration::from_secs(10)))?;
        Ok(UmaClient {
            inner: Arc::new(Inner {
                http: self.http.unwrap_or_default(),
                as_http,
                trusted: self.trusted,
                auth,
                discovery: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// A request being built on an [`UmaClient`], like `reqwest::RequestBuilder`.
#[derive(Debug)]
#[must_use]
pub struct UmaRequestBuilder {
    client: UmaClient,
    inner: reqwest::RequestBuilder,
}

impl UmaRequestBuilder {
    /// Adds a header.
    pub fn header(self, name: HeaderName, value: HeaderValue) -> Self {
        Self {
            inner: self.inner.header(name, value),
            ..self
        }
    }

    /// Sets a JSON body.
    pub fn json<T: serde::Serialize + ?Sized>(self, body: &T) -> Self {
        Self {
            inner: self.inner.json(body),
            ..self
        }
    }

    /// Sets a body.
    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        Self {
            inner: self.inner.body(body),
            ..self
        }
    }

    /// Sends the request, following an UMA challenge once (see [`UmaClient::execute`]).
    pub async fn send(self) -> Result<reqwest::Response> {
        let request = self.inner.build().map_err(|source| Error::Transport {
            endpoint: "resource server",
            source: source.without_url(),
        })?;
        self.client.execute(request).await
    }
}
