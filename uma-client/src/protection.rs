//! The protection API client (FedAuthz §1.5): what a resource server uses to get a PAT, register
//! resources, request permission tickets and introspect RPTs.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use http::StatusCode;
use http::header::{AUTHORIZATION, LOCATION};
use tokio::sync::{Mutex, OnceCell};

use crate::error::Kind;
use crate::permission::{PermissionRequestBody, TicketResponse};
use crate::transport::{self, ClientCredentials};
use crate::{
    DiscoveryDocument, Error, Introspection, Pat, PermissionRequest, PermissionTicket,
    RegisteredResource, ResourceDescription, ResourceRegistration, Result, Rpt, TokenResponse,
    UMA_PROTECTION_SCOPE,
};

/// A PAT is refreshed this long before it expires, so that a request never carries one that
/// expires in flight.
const PAT_REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// A client of an authorization server's protection API.
///
/// Discovery happens on first use and is retried on the next call if it failed. The PAT comes from
/// the `client_credentials` grant with scope `uma_protection`, is refreshed before it expires, and
/// is fetched anew once if the authorization server answers `401`.
///
/// ```no_run
/// use uma_client::{ClientCredentials, PermissionRequest, ProtectionClient, ResourceDescription};
///
/// # async fn run() -> uma_client::Result<()> {
/// let protection = ProtectionClient::builder("https://as.example.com")
///     .credentials(ClientCredentials::new("photoz", "secret"))
///     .build()?;
/// let id = protection
///     .create_resource(&ResourceDescription::new(["view"]).name("album").owner("alice"))
///     .await?;
/// let ticket = protection
///     .request_permissions(vec![PermissionRequest::new(id, ["view"])])
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ProtectionClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    issuer: String,
    pat_source: PatSource,
    discovery: OnceCell<Arc<DiscoveryDocument>>,
    pat: RwLock<Option<CachedPat>>,
    // Held only while fetching a PAT, so that concurrent callers wait for one fetch rather than
    // each making their own.
    pat_refresh: Mutex<()>,
}

/// Where PATs come from.
#[derive(Debug, Clone)]
enum PatSource {
    /// `client_credentials` with these credentials, as often as needed.
    Credentials(ClientCredentials),
    /// One PAT obtained elsewhere (such as by an owner's interactive authorization), used as is.
    Fixed(Pat),
}

#[derive(Debug, Clone)]
struct CachedPat {
    pat: Pat,
    refresh_at: Option<Instant>,
}

/// Builds a [`ProtectionClient`].
///
/// ```
/// let builder: uma_client::ProtectionClientBuilder =
///     uma_client::ProtectionClient::builder("https://as.example.com");
/// ```
#[derive(Debug)]
#[must_use]
pub struct ProtectionClientBuilder {
    issuer: String,
    pat_source: Option<PatSource>,
    http: Option<reqwest::Client>,
    timeout: Duration,
}

impl ProtectionClient {
    /// Starts building a client for the authorization server whose issuer is `issuer`.
    ///
    /// ```
    /// use uma_client::{ClientCredentials, ProtectionClient};
    ///
    /// let protection = ProtectionClient::builder("https://as.example.com")
    ///     .credentials(ClientCredentials::new("photoz", "secret"))
    ///     .build()?;
    /// # Ok::<(), uma_client::Error>(())
    /// ```
    pub fn builder(issuer: impl Into<String>) -> ProtectionClientBuilder {
        ProtectionClientBuilder {
            issuer: issuer.into(),
            pat_source: None,
            http: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// The issuer this client talks to.
    ///
    /// ```
    /// # let protection = uma_client::ProtectionClient::builder("https://as.example.com")
    /// #     .credentials(uma_client::ClientCredentials::new("photoz", "secret")).build()?;
    /// assert_eq!(protection.issuer(), "https://as.example.com");
    /// # Ok::<(), uma_client::Error>(())
    /// ```
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The client id of the credentials PATs are obtained with; `None` for a PAT given as is.
    ///
    /// ```
    /// # let protection = uma_client::ProtectionClient::builder("https://as.example.com")
    /// #     .credentials(uma_client::ClientCredentials::new("photoz", "secret")).build()?;
    /// assert_eq!(protection.client_id(), Some("photoz"));
    /// # Ok::<(), uma_client::Error>(())
    /// ```
    pub fn client_id(&self) -> Option<&str> {
        match &self.inner.pat_source {
            PatSource::Credentials(credentials) => Some(&credentials.client_id),
            PatSource::Fixed(_) => None,
        }
    }

    /// The discovery document, fetched once.
    ///
    /// ```no_run
    /// # async fn run(protection: uma_client::ProtectionClient) -> uma_client::Result<()> {
    /// let document = protection.discovery().await?;
    /// println!("{:?}", document.permission_endpoint);
    /// # Ok(()) }
    /// ```
    pub async fn discovery(&self) -> Result<Arc<DiscoveryDocument>> {
        self.inner
            .discovery
            .get_or_try_init(|| async {
                crate::discovery::fetch(&self.inner.http, &self.inner.issuer)
                    .await
                    .map(Arc::new)
            })
            .await
            .cloned()
    }

    /// A valid PAT: the cached one, or a new one from the token endpoint.
    ///
    /// ```no_run
    /// # async fn run(protection: uma_client::ProtectionClient) -> uma_client::Result<()> {
    /// let pat = protection.pat().await?; // cached until shortly before it expires
    /// # Ok(()) }
    /// ```
    pub async fn pat(&self) -> Result<Pat> {
        if let Some(pat) = self.cached_pat() {
            return Ok(pat);
        }
        let _refresh = self.inner.pat_refresh.lock().await;
        if let Some(pat) = self.cached_pat() {
            return Ok(pat);
        }
        let credentials = match &self.inner.pat_source {
            PatSource::Fixed(pat) => return Ok(pat.clone()),
            PatSource::Credentials(credentials) => credentials,
        };
        let discovery = self.discovery().await?;
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("scope", UMA_PROTECTION_SCOPE.to_owned()),
        ];
        let request = credentials.apply(self.inner.http.post(&discovery.token_endpoint), &mut form);
        let response = transport::send(request.form(&form), "token endpoint").await?;
        let token: TokenResponse =
            transport::expect_json(response, StatusCode::OK, "token endpoint").await?;
        let pat = Pat::new(token.access_token.into_string());
        let refresh_at = token.expires_in.map(|secs| {
            Instant::now() + crate::time::clamped(secs).saturating_sub(PAT_REFRESH_MARGIN)
        });
        *self.write_pat() = Some(CachedPat {
            pat: pat.clone(),
            refresh_at,
        });
        Ok(pat)
    }

    fn cached_pat(&self) -> Option<Pat> {
        let guard = self.inner.pat.read().unwrap_or_else(|e| e.into_inner());
        let cached = guard.as_ref()?;
        match cached.refresh_at {
            Some(at) if Instant::now() >= at => None,
            _ => Some(cached.pat.clone()),
        }
    }

    fn write_pat(&self) -> std::sync::RwLockWriteGuard<'_, Option<CachedPat>> {
        // A poisoned lock only means another thread panicked mid-write of a plain Option; the
        // value is still a valid Option, so keep using it.
        self.inner.pat.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a protection API request with the PAT; on `401` fetches a new PAT and tries once more.
    async fn with_pat(
        &self,
        endpoint: &'static str,
        build: impl Fn(&reqwest::Client, &DiscoveryDocument) -> Result<reqwest::RequestBuilder>,
    ) -> Result<reqwest::Response> {
        let discovery = self.discovery().await?;
        for attempt in 0..2 {
            let pat = self.pat().await?;
            let request = build(&self.inner.http, &discovery)?
                .header(AUTHORIZATION, format!("Bearer {}", pat.as_str()));
            let response = transport::send(request, endpoint).await?;
            let renewable = matches!(self.inner.pat_source, PatSource::Credentials(_));
            if response.status() != StatusCode::UNAUTHORIZED || attempt == 1 || !renewable {
                return Ok(response);
            }
            let mut cached = self.write_pat();
            if cached.as_ref().is_some_and(|c| c.pat == pat) {
                *cached = None;
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// Registers a resource (FedAuthz §3.2.1) and returns its `_id`.
    ///
    /// ```no_run
    /// use uma_client::ResourceDescription;
    ///
    /// # async fn run(protection: uma_client::ProtectionClient) -> uma_client::Result<()> {
    /// let id = protection
    ///     .create_resource(&ResourceDescription::new(["view", "edit"]).name("Holiday").owner("alice"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_resource(&self, description: &ResourceDescription) -> Result<String> {
        const ENDPOINT: &str = "resource registration endpoint";
        let response = self
            .with_pat(ENDPOINT, |http, d| {
                let url =
                    crate::discovery::require(d, &d.resource_registration_endpoint, ENDPOINT)?;
                Ok(http.post(url).json(description))
            })
            .await?;
        if response.status() == StatusCode::CREATED && !response.headers().contains_key(LOCATION) {
            return Err(Kind::UnexpectedResponse {
                endpoint: ENDPOINT,
                status: Some(response.status()),
                detail: "201 without a Location header".to_owned(),
            }
            .into());
        }
        let created: ResourceRegistration =
            transport::expect_json(response, StatusCode::CREATED, ENDPOINT).await?;
        Ok(created.id)
    }

    /// Reads a registered resource (FedAuthz §3.2.2).
    ///
    /// ```no_run
    /// # async fn run(protection: uma_client::ProtectionClient) -> uma_client::Result<()> {
    /// let resource = protection.read_resource("KX3A-39WE").await?;
    /// println!("{:?} has scopes {:?}", resource.description.name, resource.description.resource_scopes);
    /// # Ok(()) }
    /// ```
    pub async fn read_resource(&self, id: &str) -> Result<RegisteredResource> {
        const ENDPOINT: &str = "resource registration endpoint";
        let response = self
            .with_pat(ENDPOINT, |http, d| {
                let url =
                    crate::discovery::require(d, &d.resource_registration_endpoint, ENDPOINT)?;
                Ok(http.get(resource_url(url, id)?))
            })
            .await?;
        transport::expect_json(response, StatusCode::OK, ENDPOINT).await
    }

    /// Replaces a resource's description (FedAuthz §3.2.3).
    ///
    /// ```no_run
    /// use uma_client::ResourceDescription;
    ///
    /// # async fn run(protection: uma_client::ProtectionClient) -> uma_client::Result<()> {
    /// // A complete replacement (FedAuthz §3.2.3): what is left out is gone.
    /// protection
    ///     .update_resource("KX3A-39WE", &ResourceDescription::new(["view"]).name("Renamed").owner("alice"))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn update_resource(&self, id: &str, description: &ResourceDescription) -> Result<()> {
        const ENDPOINT: &str = "resource registration endpoint";
        let response = self
            .with_pat(ENDPOINT, |http, d| {
                let url =
                    crate::discovery::require(d, &d.resource_registration_endpoint, ENDPOINT)?;
                Ok(http.put(resource_url(url, id)?).json(description))
            })
            .await?;
        let _: ResourceRegistration =
            transport::expect_json(response, StatusCode::OK, ENDPOINT).await?;
        Ok(())
    }

    /// Deregisters a resource (FedAuthz §3.2.4).
    ///
    /// ```no_run
    /// # async fn run(protection: uma_client::ProtectionClient) -> uma_client::Result<()> {
    /// protection.delete_resource("KX3A-39WE").await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_resource(&self, id: &str) -> Result<()> {
        const ENDPOINT: &str = "resource registration endpoint";
        let response = self
            .with_pat(ENDPOINT, |http, d| {
                let url =
                    crate::discovery::require(d, &d.resource_registration_endpoint, ENDPOINT)?;
                Ok(http.delete(resource_url(url, id)?))
            })
            .await?;
        transport::expect_status(
            response,
            &[StatusCode::OK, StatusCode::NO_CONTENT],
            ENDPOINT,
        )
        .await
    }

    /// Lists the `_id`s of the resources this PAT may see (FedAuthz §3.2.5).
    ///
    /// ```no_run
    /// # async fn run(protection: uma_client::ProtectionClient) -> uma_client::Result<()> {
    /// for id in protection.list_resources().await? {
    ///     println!("{id}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn list_resources(&self) -> Result<Vec<String>> {
        const ENDPOINT: &str = "resource registration endpoint";
        let response = self
            .with_pat(ENDPOINT, |http, d| {
                Ok(http.get(crate::discovery::require(
                    d,
                    &d.resource_registration_endpoint,
                    ENDPOINT,
                )?))
            })
            .await?;
        transport::expect_json(response, StatusCode::OK, ENDPOINT).await
    }

    /// The `_id`s of the resources with exactly this name, using the list filter `name` that
    /// uma-rs's and Keycloak's servers support.
    ///
    /// ```no_run
    /// # async fn run(protection: uma_client::ProtectionClient) -> uma_client::Result<()> {
    /// let ids = protection.find_resources_by_name("alice: Holiday").await?;
    /// # Ok(()) }
    /// ```
    pub async fn find_resources_by_name(&self, name: &str) -> Result<Vec<String>> {
        const ENDPOINT: &str = "resource registration endpoint";
        let response = self
            .with_pat(ENDPOINT, |http, d| {
                Ok(http
                    .get(crate::discovery::require(
                        d,
                        &d.resource_registration_endpoint,
                        ENDPOINT,
                    )?)
                    .query(&[("name", name), ("exactName", "true")]))
            })
            .await?;
        transport::expect_json(response, StatusCode::OK, ENDPOINT).await
    }

    /// Requests a permission ticket for these permissions (FedAuthz §4).
    ///
    /// ```no_run
    /// use uma_client::PermissionRequest;
    ///
    /// # async fn run(protection: uma_client::ProtectionClient) -> uma_client::Result<()> {
    /// let ticket = protection
    ///     .request_permissions(vec![
    ///         PermissionRequest::new("KX3A-39WE", ["view"]),
    ///         PermissionRequest::new("9UQU-DUWW", ["view", "print"]),
    ///     ])
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_permissions(
        &self,
        permissions: Vec<PermissionRequest>,
    ) -> Result<PermissionTicket> {
        const ENDPOINT: &str = "permission endpoint";
        let body = PermissionRequestBody::from_permissions(permissions);
        let response = self
            .with_pat(ENDPOINT, |http, d| {
                Ok(http
                    .post(crate::discovery::require(
                        d,
                        &d.permission_endpoint,
                        ENDPOINT,
                    )?)
                    .json(&body))
            })
            .await?;
        let created: TicketResponse =
            transport::expect_json(response, StatusCode::CREATED, ENDPOINT).await?;
        Ok(created.ticket)
    }

    /// Introspects an RPT (FedAuthz §5). An unknown, expired or foreign token is not an error:
    /// it comes back with `active: false`.
    ///
    /// ```no_run
    /// use uma_client::Rpt;
    ///
    /// # async fn run(protection: uma_client::ProtectionClient) -> uma_client::Result<()> {
    /// let introspection = protection.introspect(&Rpt::new("the RPT from a request")).await?;
    /// if introspection.active {
    ///     for permission in introspection.permissions.unwrap_or_default() {
    ///         println!("{}: {:?}", permission.resource_id, permission.resource_scopes);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn introspect(&self, rpt: &Rpt) -> Result<Introspection> {
        const ENDPOINT: &str = "introspection endpoint";
        let response = self
            .with_pat(ENDPOINT, |http, d| {
                Ok(http
                    .post(crate::discovery::require(
                        d,
                        &d.introspection_endpoint,
                        ENDPOINT,
                    )?)
                    .form(&[("token", rpt.as_str()), ("token_type_hint", "access_token")]))
            })
            .await?;
        transport::expect_json(response, StatusCode::OK, ENDPOINT).await
    }
}

/// `{endpoint}/{id}`, with `id` percent-encoded as one path segment.
fn resource_url(endpoint: &str, id: &str) -> Result<url::Url> {
    let bad =
        |detail: String| Kind::InvalidInput(format!("resource registration endpoint: {detail}"));
    let mut url = url::Url::parse(endpoint).map_err(|e| bad(e.to_string()))?;
    url.path_segments_mut()
        .map_err(|()| bad("not a hierarchical URL".to_owned()))?
        .pop_if_empty()
        .push(id);
    Ok(url)
}

impl ProtectionClientBuilder {
    /// The resource server's client credentials, used to obtain PATs (by `client_credentials`,
    /// renewed before they expire). This or [`pat`](Self::pat) is required.
    ///
    /// ```
    /// use uma_client::{ClientCredentials, ProtectionClient};
    ///
    /// let builder = ProtectionClient::builder("https://as.example.com")
    ///     .credentials(ClientCredentials::new("photoz", "secret").post());
    /// ```
    pub fn credentials(mut self, credentials: ClientCredentials) -> Self {
        self.pat_source = Some(PatSource::Credentials(credentials));
        self
    }

    /// A PAT obtained elsewhere, used as it is and never renewed.
    ///
    /// ```
    /// use uma_client::{Pat, ProtectionClient};
    ///
    /// let builder = ProtectionClient::builder("https://as.example.com")
    ///     .pat(Pat::new("a PAT from the owner's authorization"));
    /// ```
    pub fn pat(mut self, pat: Pat) -> Self {
        self.pat_source = Some(PatSource::Fixed(pat));
        self
    }

    /// Uses this `reqwest::Client`. Its own timeout and redirect settings then apply; the default
    /// client follows no redirects and gives up after the [`timeout`](Self::timeout).
    ///
    /// ```
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()
    ///     .unwrap();
    /// let builder = uma_client::ProtectionClient::builder("https://as.example.com").http_client(http);
    /// ```
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The timeout of each call to the authorization server (default 10 s).
    ///
    /// ```
    /// let builder = uma_client::ProtectionClient::builder("https://as.example.com")
    ///     .timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Builds the client; fails if the credentials are missing or the issuer is not a URL.
    ///
    /// ```
    /// use uma_client::ProtectionClient;
    ///
    /// assert!(ProtectionClient::builder("https://as.example.com").build().is_err(), "no credentials");
    /// assert!(ProtectionClient::builder("not a url").pat("x".into()).build().is_err());
    /// ```
    pub fn build(self) -> Result<ProtectionClient> {
        let pat_source = self.pat_source.ok_or_else(|| {
            Error::from(Kind::Builder(
                "client credentials or a PAT are required".to_owned(),
            ))
        })?;
        url::Url::parse(&self.issuer).map_err(|e| {
            Error::from(Kind::Builder(format!(
                "issuer {:?} is not a URL: {e}",
                self.issuer
            )))
        })?;
        let http = match self.http {
            Some(http) => http,
            None => crate::default_http_client(self.timeout)?,
        };
        Ok(ProtectionClient {
            inner: Arc::new(Inner {
                http,
                issuer: self.issuer,
                pat_source,
                discovery: OnceCell::new(),
                pat: RwLock::new(None),
                pat_refresh: Mutex::new(()),
            }),
        })
    }
}
