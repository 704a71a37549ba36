//! [`UmaMiddleware`]: the UMA grant for `reqwest_middleware::ClientWithMiddleware` users.

use http::Extensions;
use http::StatusCode;
use http::header::AUTHORIZATION;
use reqwest_middleware::{Middleware, Next};

use crate::client::{bearer, is_as_unreachable, origin};
use crate::{Error, UmaChallenge, UmaClient};

/// A `reqwest_middleware` middleware that does what [`UmaClient::execute`] does for requests sent
/// through a `ClientWithMiddleware`: the origin's cached RPT goes first, an UMA challenge is
/// answered at a trusted authorization server, and the request is sent once more with the RPT.
///
/// ```no_run
/// use reqwest_middleware::ClientBuilder;
/// use uma_client::{AccessToken, GrantAuth, UmaClient, UmaMiddleware};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let uma = UmaClient::builder()
///     .trust("https://as.example.com")
///     .auth(GrantAuth::Bearer(AccessToken::new("bob's access token")))
///     .build()?;
/// let http = ClientBuilder::new(reqwest::Client::new())
///     .with(UmaMiddleware::new(uma))
///     .build();
/// let album = http.get("https://photoz.example.com/albums/1").send().await?;
/// # Ok(()) }
/// ```
///
/// Errors of the grant (`request_denied`, `need_info`, …) come back as
/// `reqwest_middleware::Error::Middleware` wrapping the [`Error`]; downcast to read it.
#[derive(Debug, Clone)]
pub struct UmaMiddleware {
    client: UmaClient,
}

impl UmaMiddleware {
    /// A middleware that obtains RPTs with `client`.
    ///
    /// ```no_run
    /// # fn run(uma: uma_client::UmaClient) {
    /// let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(uma_client::UmaMiddleware::new(uma))
    ///     .build();
    /// # }
    /// ```
    pub fn new(client: UmaClient) -> Self {
        Self { client }
    }
}

fn wrap(error: Error) -> reqwest_middleware::Error {
    reqwest_middleware::Error::middleware(error)
}

#[async_trait::async_trait]
impl Middleware for UmaMiddleware {
    async fn handle(
        &self,
        mut request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let origin = origin(request.url());
        if let Some(cached) = self.client.cached_rpt(&origin) {
            if !request.headers().contains_key(AUTHORIZATION) {
                request
                    .headers_mut()
                    .insert(AUTHORIZATION, bearer(cached.rpt.as_str()).map_err(wrap)?);
            }
        }
        let retry = request.try_clone();
        let response = next.clone().run(request, extensions).await?;
        if response.status() == StatusCode::FORBIDDEN && is_as_unreachable(&response) {
            return Err(wrap(Error::AuthorizationServerUnreachable));
        }
        let (StatusCode::UNAUTHORIZED, Some(challenge), Some(mut retry)) = (
            response.status(),
            UmaChallenge::from_headers(response.headers()),
            retry,
        ) else {
            return Ok(response);
        };
        let token = self
            .client
            .authorize(&origin, &challenge)
            .await
            .map_err(wrap)?;
        retry.headers_mut().insert(
            AUTHORIZATION,
            bearer(token.access_token.as_str()).map_err(wrap)?,
        );
        next.run(retry, extensions).await
    }
}
