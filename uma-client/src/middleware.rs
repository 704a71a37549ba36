//! [`UmaMiddleware`]: the UMA grant for `reqwest_middleware::ClientWithMiddleware` users.

use http::Extensions;
use reqwest_middleware::{Middleware, Next};

use crate::follow::{Flow, Step};
use crate::{Error, UmaClient};

/// A `reqwest_middleware` middleware that does what [`UmaClient::execute`] does, through the
/// same code, for requests sent through a `ClientWithMiddleware`: the origin's cached RPT goes
/// first, an UMA challenge from an allowed resource server is answered at its authorization
/// server, and the request is sent once more with the RPT. Give the `ClientWithMiddleware` a
/// reqwest client that follows no cross-origin redirect.
///
/// ```no_run
/// use reqwest_middleware::ClientBuilder;
/// use uma_client::{AccessToken, GrantAuth, UmaClient, UmaMiddleware};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let uma = UmaClient::builder()
///     .resource_server("https://photoz.example.com", "https://as.example.com")
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
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let (mut flow, mut request) = Flow::start(&self.client, request, false).map_err(wrap)?;
        loop {
            let response = next.clone().run(request, extensions).await?;
            match flow.next(response).await.map_err(wrap)? {
                Step::Done(response) => return Ok(response),
                Step::Send(again) => request = again,
            }
        }
    }
}
