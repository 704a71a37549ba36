//! The requesting party's side of the UMA grant (Grant §3): follow a resource server's challenge
//! to an RPT and retry with it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http::header::AUTHORIZATION;
use http::{HeaderName, HeaderValue, Method, StatusCode};

use crate::error::Kind;
use crate::follow::{Flow, Step, origin};
use crate::grant::{ClaimTokenSource, ClaimsInteraction, RequestSubmitted, classify};
use crate::transport::{self, ClientCredentials};
use crate::{
    AccessToken, DiscoveryDocument, Error, Pct, Result, Rpt, TokenResponse, UmaChallenge,
    UmaGrantRequest,
};

/// The most RPTs kept for reuse, one per resource server origin.
const MAX_CACHED_RPTS: usize = 256;

/// The most redirects the default resource client follows, all within the request's origin.
const MAX_REDIRECTS: usize = 10;

/// How long to wait between polls when the server names no `interval`.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// How the client authenticates its UMA grant requests, which also tells the authorization server
/// who the requesting party is.
///
/// ```
/// use uma_client::{AccessToken, ClientCredentials, GrantAuth};
///
/// // The client is the requesting party:
/// let as_itself = GrantAuth::Client(ClientCredentials::new("batch-job", "secret"));
/// // The client acts for a signed-in user:
/// let for_bob = GrantAuth::Bearer(AccessToken::new("bob's access token from the AS"));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
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
///     .resource_server("https://photoz.example.com", "https://as.example.com")
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

struct Inner {
    http: reqwest::Client,
    as_http: reqwest::Client,
    trusted: Vec<String>,
    // (resource server origin, issuer): the resource servers allowed to send this client to
    // each authorization server.
    resource_servers: HashSet<(String, String)>,
    auth: GrantAuth,
    claim_source: Option<Box<dyn ClaimTokenSource>>,
    // Bounded by `trusted`: a document is only fetched for a trusted issuer.
    discovery: Mutex<HashMap<String, Arc<DiscoveryDocument>>>,
    // The PCT of each authorization server, for this client's one requesting party; bounded by
    // `trusted`.
    pcts: Mutex<HashMap<String, Pct>>,
    // The latest RPT for each resource server origin, sent first on the next request there.
    rpts: Mutex<HashMap<String, CachedRpt>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaClient")
            .field("trusted", &self.trusted)
            .field("resource_servers", &self.resource_servers)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CachedRpt {
    issuer: String,
    pub(crate) rpt: Rpt,
    expires_at: Option<Instant>,
}

impl CachedRpt {
    fn live(&self) -> bool {
        self.expires_at.is_none_or(|at| Instant::now() < at)
    }
}

/// Locks a map whose every update is one call, so that poisoning cannot leave it half-written.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Builds an [`UmaClient`].
///
/// ```
/// let builder: uma_client::UmaClientBuilder = uma_client::UmaClient::builder();
/// ```
#[derive(Default)]
#[must_use]
pub struct UmaClientBuilder {
    http: Option<reqwest::Client>,
    trusted: Vec<String>,
    resource_servers: Vec<(String, String)>,
    auth: Option<GrantAuth>,
    timeout: Option<Duration>,
    claim_source: Option<Box<dyn ClaimTokenSource>>,
}

impl std::fmt::Debug for UmaClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaClientBuilder")
            .field("trusted", &self.trusted)
            .finish_non_exhaustive()
    }
}

impl UmaClient {
    /// Starts building a client.
    ///
    /// ```no_run
    /// use uma_client::{ClientCredentials, GrantAuth, UmaClient};
    ///
    /// let uma = UmaClient::builder()
    ///     .trust("https://as.example.com")
    ///     .auth(GrantAuth::Client(ClientCredentials::new("doctor-app", "secret")))
    ///     .build()?;
    /// # Ok::<(), uma_client::Error>(())
    /// ```
    pub fn builder() -> UmaClientBuilder {
        UmaClientBuilder::default()
    }

    /// Starts a `GET` request.
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let album = uma.get("https://photoz.example.com/albums/1").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn get(&self, url: impl reqwest::IntoUrl) -> UmaRequestBuilder {
        self.request(Method::GET, url)
    }

    /// Starts a request with any method.
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let renamed = uma
    ///     .request(http::Method::PUT, "https://photoz.example.com/albums/1")
    ///     .json(&serde_json::json!({"name": "Holiday"}))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn request(&self, method: Method, url: impl reqwest::IntoUrl) -> UmaRequestBuilder {
        UmaRequestBuilder {
            client: self.clone(),
            inner: self.inner.http.request(method, url),
            vouched: false,
        }
    }

    /// Sends a request, following an UMA challenge.
    ///
    /// The latest RPT for the resource server's origin, if there is a live one, goes with the
    /// request (unless it has an `Authorization` header of its own). A `401` with an UMA
    /// challenge is answered only if it came from the origin the request was sent to, and that
    /// origin is a [`resource_server`](UmaClientBuilder::resource_server) allowed for the
    /// authorization server it names (see the relay risk there); then the ticket is redeemed,
    /// sending the cached RPT for an upgrade and the PCT if there is one; on `need_info`, claims
    /// from the [`ClaimTokenSource`] are pushed once; on `invalid_grant` (a ticket that expired
    /// on the way), the request is made once more for a fresh ticket. The request is then sent
    /// again with the new RPT, which is kept for that origin only.
    ///
    /// A challenge this client may not answer is an error
    /// ([`is_resource_server_not_allowed`](Error::is_resource_server_not_allowed),
    /// [`is_challenge_from_another_origin`](Error::is_challenge_from_another_origin) or
    /// [`is_untrusted_authorization_server`](Error::is_untrusted_authorization_server)); nothing
    /// is sent to the authorization server. A request whose body cannot be replayed (a stream)
    /// is not retried: its `401` comes back as it is. A `403` carrying
    /// `Warning: 199 - "UMA Authorization Server Unreachable"` is an error that
    /// [`is_authorization_server_unreachable`](Error::is_authorization_server_unreachable).
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let request = reqwest::Request::new(
    ///     http::Method::GET,
    ///     "https://photoz.example.com/albums/1".parse().unwrap(),
    /// );
    /// let response = uma.execute(request).await?;
    /// # Ok(()) }
    /// ```
    pub async fn execute(&self, request: reqwest::Request) -> Result<reqwest::Response> {
        self.execute_with(request, false).await
    }

    async fn execute_with(
        &self,
        request: reqwest::Request,
        vouched: bool,
    ) -> Result<reqwest::Response> {
        let (mut flow, mut request) = Flow::start(self, request, vouched)?;
        loop {
            let response = self.send_resource(request).await?;
            match flow.next(response).await? {
                Step::Done(response) => return Ok(response),
                Step::Send(next) => request = next,
            }
        }
    }

    /// Whether `issuer` is one this client was told to trust.
    pub(crate) fn trusts(&self, issuer: &str) -> bool {
        self.inner.trusted.iter().any(|t| t == issuer)
    }

    /// Whether the resource server at `origin` may send this client to `issuer`.
    pub(crate) fn allows_resource_server(&self, origin: &str, issuer: &str) -> bool {
        self.inner
            .resource_servers
            .contains(&(origin.to_owned(), issuer.to_owned()))
    }

    /// Answers a challenge of the resource server at `origin`: redeems its ticket (offering the
    /// origin's cached RPT for an upgrade, pushing claims on `need_info`) and keeps the new RPT
    /// for the origin.
    pub(crate) async fn authorize(
        &self,
        origin: &str,
        challenge: &UmaChallenge,
    ) -> Result<TokenResponse> {
        let mut grant = UmaGrantRequest::new(challenge.ticket.clone());
        grant.rpt = self
            .cached_rpt(origin)
            .filter(|c| c.issuer == challenge.as_uri)
            .map(|c| c.rpt);
        let token = self.redeem_pushing_claims(&challenge.as_uri, grant).await?;
        self.keep_rpt(origin.to_owned(), &challenge.as_uri, &token);
        Ok(token)
    }

    /// Redeems a ticket; on `need_info`, pushes claims from the [`ClaimTokenSource`] with the new
    /// ticket, once.
    async fn redeem_pushing_claims(
        &self,
        issuer: &str,
        grant: UmaGrantRequest,
    ) -> Result<TokenResponse> {
        let error = match self.redeem(issuer, &grant).await {
            Err(error) if error.is_need_info() => error,
            other => return other,
        };
        let (Some(source), Some(needed)) = (&self.inner.claim_source, error.need_info()) else {
            return Err(error);
        };
        let Some(claims) = source.claim_token(needed).await else {
            return Err(error);
        };
        let mut pushed = UmaGrantRequest::new(needed.ticket.clone());
        pushed.claim_token = Some(claims.token);
        pushed.claim_token_format = Some(claims.format);
        pushed.rpt = grant.rpt;
        self.redeem(issuer, &pushed).await
    }

    pub(crate) fn cached_rpt(&self, origin: &str) -> Option<CachedRpt> {
        lock(&self.inner.rpts)
            .get(origin)
            .filter(|c| c.live())
            .cloned()
    }

    /// Keeps the new RPT for its origin. Whether or not it was `upgraded`, the newest RPT is the
    /// one to send: with `upgraded: true` it carries the old one's permissions and the old one
    /// must be discarded (Grant §3.3.5.1); without, keeping the old one is allowed, not required.
    fn keep_rpt(&self, origin: String, issuer: &str, token: &TokenResponse) {
        let mut rpts = lock(&self.inner.rpts);
        if rpts.len() >= MAX_CACHED_RPTS && !rpts.contains_key(&origin) {
            rpts.retain(|_, c| c.live());
            if rpts.len() >= MAX_CACHED_RPTS {
                let soonest = rpts
                    .iter()
                    .min_by_key(|(_, c)| c.expires_at)
                    .map(|(k, _)| k.clone());
                if let Some(key) = soonest {
                    rpts.remove(&key);
                }
            }
        }
        rpts.insert(
            origin,
            CachedRpt {
                issuer: issuer.to_owned(),
                rpt: token.rpt(),
                expires_at: token.expires_in.map(crate::time::after),
            },
        );
    }

    /// Polls after `request_submitted` (Grant §3.3.6): waits the server's `interval` (5 s if it
    /// names none), redeems the latest ticket, and again while the answer is `request_submitted`,
    /// each time with the new ticket, until an RPT, another answer, or `deadline`. At the
    /// deadline the latest pending state comes back as an error that
    /// [`is_request_submitted`](Error::is_request_submitted), to poll again later.
    ///
    /// ```no_run
    /// use std::time::{Duration, Instant};
    ///
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// match uma.get("https://photoz.example.com/albums/1").send().await {
    ///     Err(error) if error.is_request_submitted() => {
    ///         let pending = error.into_request_submitted()?;
    ///         // Wait up to ten minutes for the owner to decide.
    ///         let rpt = uma.poll(pending, Instant::now() + Duration::from_secs(600)).await?;
    ///     }
    ///     other => { other?; }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn poll(
        &self,
        pending: RequestSubmitted,
        deadline: Instant,
    ) -> Result<TokenResponse> {
        let mut pending = pending;
        // The status of the last answer that left the request pending, given back with it;
        // none until this call has asked.
        let mut status = None;
        let still_pending = |status, pending| -> Error {
            Kind::RequestSubmitted {
                status,
                pending: Box::new(pending),
            }
            .into()
        };
        loop {
            let Some(ticket) = pending.ticket.clone() else {
                // Nothing to poll with (Keycloak's dialect): only a new request can continue.
                return Err(still_pending(status, pending));
            };
            let wait = pending
                .interval
                .map_or(DEFAULT_POLL_INTERVAL, crate::time::clamped);
            if Instant::now() + wait > deadline {
                return Err(still_pending(status, pending));
            }
            tokio::time::sleep(wait).await;
            match self
                .redeem(&pending.issuer, &UmaGrantRequest::new(ticket))
                .await
            {
                Err(error) if error.is_request_submitted() => {
                    status = error.status();
                    pending = error.into_request_submitted()?;
                }
                other => return other,
            }
        }
    }

    /// Continues after claims gathering: checks the redirect back (its `state`, its new ticket;
    /// see [`ClaimsInteraction::ticket_from_redirect`]) and redeems the new ticket.
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let answer = uma.get("https://photoz.example.com/albums/1").send().await;
    /// if let Some(needed) = answer.as_ref().err().and_then(|e| e.need_info()) {
    ///     let interaction = needed.claims_interaction(None, "doctor-app", "https://app.example/callback")?;
    ///     // Send the browser to `interaction.url`; keep `interaction` in the user's session. When the
    ///     // browser comes back to the callback:
    ///     let callback = "https://app.example/callback?ticket=…&state=…";
    ///     let token = uma.resume(&interaction, callback).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn resume(
        &self,
        interaction: &ClaimsInteraction,
        redirect: &str,
    ) -> Result<TokenResponse> {
        let ticket = interaction.ticket_from_redirect(redirect)?;
        self.redeem(&interaction.issuer, &UmaGrantRequest::new(ticket))
            .await
    }

    async fn send_resource(&self, request: reqwest::Request) -> Result<reqwest::Response> {
        self.inner.http.execute(request).await.map_err(|source| {
            Error::from(Kind::Transport {
                endpoint: "resource server",
                source: source.without_url(),
            })
        })
    }

    /// Redeems the ticket of a challenge at its authorization server for an RPT (Grant §3.3.1).
    ///
    /// The challenge's `as_uri` must be one of the trusted issuers, exactly; otherwise nothing is
    /// sent. Errors are as for [`redeem`](Self::redeem).
    ///
    /// ```no_run
    /// use uma_client::UmaChallenge;
    ///
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let response = reqwest::get("https://photoz.example.com/albums/1").await.unwrap();
    /// if let Some(challenge) = UmaChallenge::from_headers(response.headers()) {
    ///     let rpt = uma.obtain_rpt(&challenge).await?.rpt();
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn obtain_rpt(&self, challenge: &UmaChallenge) -> Result<TokenResponse> {
        self.redeem(
            &challenge.as_uri,
            &UmaGrantRequest::new(challenge.ticket.clone()),
        )
        .await
    }

    /// Sends an UMA grant request to the token endpoint of the trusted authorization server
    /// `issuer`.
    ///
    /// The PCT this client holds for `issuer` goes with the request unless the request names
    /// one; a PCT in the answer replaces it. An error answer is classified
    /// ([`is_need_info`](Error::is_need_info), [`is_request_submitted`](Error::is_request_submitted),
    /// [`is_request_denied`](Error::is_request_denied), peers' dialects included), and a returned
    /// ticket equal to the one sent is an error that
    /// [`is_ticket_not_rotated`](Error::is_ticket_not_rotated).
    ///
    /// ```no_run
    /// use uma_client::{PermissionTicket, UmaGrantRequest};
    ///
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let mut grant = UmaGrantRequest::new(PermissionTicket::new("ticket-from-the-challenge"));
    /// grant.scope = Some("print".to_owned());
    /// let token = uma.redeem("https://as.example.com", &grant).await?;
    /// # Ok(()) }
    /// ```
    pub async fn redeem(&self, issuer: &str, grant: &UmaGrantRequest) -> Result<TokenResponse> {
        const ENDPOINT: &str = "token endpoint";
        let discovery = self.discovery(issuer).await?;
        let mut grant = grant.clone();
        if grant.pct.is_none() {
            grant.pct = lock(&self.inner.pcts).get(issuer).cloned();
        }
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
        let token: TokenResponse = transport::expect_json(response, StatusCode::OK, ENDPOINT)
            .await
            .map_err(|e| classify(e, issuer, &grant.ticket))?;
        if let Some(pct) = &token.pct {
            lock(&self.inner.pcts).insert(issuer.to_owned(), pct.clone());
        }
        Ok(token)
    }

    /// The discovery document of a trusted issuer, fetched once.
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let document = uma.discovery("https://as.example.com").await?;
    /// println!("token endpoint: {}", document.token_endpoint);
    /// # Ok(()) }
    /// ```
    pub async fn discovery(&self, issuer: &str) -> Result<Arc<DiscoveryDocument>> {
        if !self.trusts(issuer) {
            return Err(Kind::UntrustedAuthorizationServer {
                as_uri: issuer.to_owned(),
            }
            .into());
        }
        if let Some(document) = self.cached_discovery(issuer) {
            return Ok(document);
        }
        let document = Arc::new(crate::discovery::fetch(&self.inner.as_http, issuer).await?);
        lock(&self.inner.discovery).insert(issuer.to_owned(), Arc::clone(&document));
        Ok(document)
    }

    fn cached_discovery(&self, issuer: &str) -> Option<Arc<DiscoveryDocument>> {
        lock(&self.inner.discovery).get(issuer).cloned()
    }
}

pub(crate) fn bearer(token: &str) -> Result<HeaderValue> {
    let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
        Error::from(Kind::InvalidInput(
            "token has characters not allowed in a header".to_owned(),
        ))
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl UmaClientBuilder {
    /// Trusts the authorization server with this issuer: challenges naming it are followed. Only
    /// exact matches count; call once per trusted server.
    ///
    /// ```
    /// let builder = uma_client::UmaClient::builder()
    ///     .trust("https://as.example.com")
    ///     .trust("https://keycloak.example.com/realms/photoz");
    /// ```
    pub fn trust(mut self, issuer: impl Into<String>) -> Self {
        self.trusted.push(issuer.into());
        self
    }

    /// Lets the resource server at `origin` (scheme, host and port, such as
    /// `https://photoz.example.com`) send this client to the authorization server `issuer`,
    /// which is then trusted too. Call once per pair.
    ///
    /// A challenge is answered only from an allowed origin, for the issuer allowed for it: any
    /// server can relay another resource server's challenge, and answering it would hand that
    /// server an RPT good at the other one (the UMA relay risk). To vouch for one request's
    /// origin instead, use [`UmaRequestBuilder::allow_uma_challenge`].
    ///
    /// ```
    /// let builder = uma_client::UmaClient::builder()
    ///     .resource_server("https://photoz.example.com", "https://as.example.com")
    ///     .resource_server("https://printer.example.com", "https://as.example.com");
    /// ```
    pub fn resource_server(mut self, origin: impl Into<String>, issuer: impl Into<String>) -> Self {
        let issuer = issuer.into();
        if !self.trusted.contains(&issuer) {
            self.trusted.push(issuer.clone());
        }
        self.resource_servers.push((origin.into(), issuer));
        self
    }

    /// How to authenticate at the token endpoint. Required.
    ///
    /// ```
    /// use uma_client::{AccessToken, GrantAuth, UmaClient};
    ///
    /// let builder = UmaClient::builder().auth(GrantAuth::Bearer(AccessToken::new("bob's token")));
    /// ```
    pub fn auth(mut self, auth: GrantAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The client used for requests to resource servers. The default follows redirects within
    /// the request's origin only, so that an RPT never travels to another origin (a cross-origin
    /// redirect comes back as it is); a client given here should do the same, or follow none.
    /// Calls to authorization servers always use a client of this crate's that follows no
    /// redirects.
    ///
    /// ```
    /// let http = reqwest::Client::builder().user_agent("doctor-app/1.0").build().unwrap();
    /// let builder = uma_client::UmaClient::builder().http_client(http);
    /// ```
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The timeout of each call to an authorization server (default 10 s).
    ///
    /// ```
    /// let builder = uma_client::UmaClient::builder().timeout(std::time::Duration::from_secs(3));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Where claims come from when an authorization server answers `need_info`.
    ///
    /// ```
    /// use uma_client::{NeedInfo, PushedClaims, UmaClient};
    ///
    /// let id_token = "eyJ…".to_owned();
    /// let builder = UmaClient::builder().claim_token_source(move |_: &NeedInfo| {
    ///     let id_token = id_token.clone();
    ///     async move { Some(PushedClaims::id_token(id_token)) }
    /// });
    /// ```
    pub fn claim_token_source(mut self, source: impl ClaimTokenSource) -> Self {
        self.claim_source = Some(Box::new(source));
        self
    }

    /// Builds the client; fails without [`auth`](Self::auth) or a trusted issuer.
    ///
    /// ```
    /// use uma_client::{ClientCredentials, GrantAuth, UmaClient};
    ///
    /// assert!(UmaClient::builder().build().is_err(), "auth and a trusted issuer are required");
    /// let uma = UmaClient::builder()
    ///     .trust("https://as.example.com")
    ///     .auth(GrantAuth::Client(ClientCredentials::new("app", "secret")))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn build(self) -> Result<UmaClient> {
        let auth = self.auth.ok_or_else(|| {
            Error::from(Kind::Builder("grant authentication is required".to_owned()))
        })?;
        if self.trusted.is_empty() {
            return Err(Kind::Builder("trust at least one authorization server".to_owned()).into());
        }
        let as_http = crate::default_http_client(self.timeout.unwrap_or(Duration::from_secs(10)))?;
        let mut resource_servers = HashSet::new();
        for (given, issuer) in self.resource_servers {
            let url = url::Url::parse(&given).map_err(|e| {
                Kind::Builder(format!(
                    "resource server origin {given:?} is not a URL: {e}"
                ))
            })?;
            resource_servers.insert((origin(&url), issuer));
        }
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .redirect(same_origin_redirects())
                .build()
                .map_err(|e| {
                    Error::from(Kind::Builder(format!("cannot build the HTTP client: {e}")))
                })?,
        };
        Ok(UmaClient {
            inner: Arc::new(Inner {
                http,
                as_http,
                trusted: self.trusted,
                resource_servers,
                auth,
                claim_source: self.claim_source,
                discovery: Mutex::new(HashMap::new()),
                pcts: Mutex::new(HashMap::new()),
                rpts: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// Follows redirects within the first request's origin only.
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(origin);
        if first.as_deref() != Some(origin(attempt.url()).as_str()) {
            attempt.stop()
        } else if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    })
}

/// A request being built on an [`UmaClient`], like `reqwest::RequestBuilder`.
///
/// ```no_run
/// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
/// let builder: uma_client::UmaRequestBuilder = uma.get("https://photoz.example.com/albums/1");
/// let response = builder.send().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct UmaRequestBuilder {
    client: UmaClient,
    inner: reqwest::RequestBuilder,
    vouched: bool,
}

impl UmaRequestBuilder {
    /// Adds a header.
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let response = uma
    ///     .get("https://photoz.example.com/albums/1")
    ///     .header(http::header::ACCEPT, http::HeaderValue::from_static("application/json"))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn header(self, name: HeaderName, value: HeaderValue) -> Self {
        Self {
            inner: self.inner.header(name, value),
            ..self
        }
    }

    /// Sets a JSON body.
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let created = uma
    ///     .request(http::Method::POST, "https://photoz.example.com/albums/1/photos")
    ///     .json(&serde_json::json!({"title": "beach"}))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn json<T: serde::Serialize + ?Sized>(self, body: &T) -> Self {
        Self {
            inner: self.inner.json(body),
            ..self
        }
    }

    /// Sets a body.
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let stored = uma
    ///     .request(http::Method::PUT, "https://photoz.example.com/albums/1/notes")
    ///     .body("a note")
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        Self {
            inner: self.inner.body(body),
            ..self
        }
    }

    /// Answers an UMA challenge from this request's origin for any trusted authorization server,
    /// as if the origin were a [`resource_server`](UmaClientBuilder::resource_server) allowed for
    /// it. Only for a URL the application chose itself: see the relay risk there.
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let response = uma
    ///     .get("https://photoz.example.com/albums/1")
    ///     .allow_uma_challenge()
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn allow_uma_challenge(self) -> Self {
        Self {
            vouched: true,
            ..self
        }
    }

    /// Sends the request, following an UMA challenge once (see [`UmaClient::execute`]).
    ///
    /// ```no_run
    /// # async fn run(uma: uma_client::UmaClient) -> uma_client::Result<()> {
    /// let response = uma.get("https://photoz.example.com/albums/1").send().await?;
    /// assert!(response.status().is_success());
    /// # Ok(()) }
    /// ```
    pub async fn send(self) -> Result<reqwest::Response> {
        let request = self.inner.build().map_err(|source| {
            Error::from(Kind::Transport {
                endpoint: "resource server",
                source: source.without_url(),
            })
        })?;
        self.client.execute_with(request, self.vouched).await
    }
}
