//! [`UmaGuard`], the middleware service.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::Service;

use crate::decision::{Decision, Shared};
use crate::future::ResponseFuture;

/// Guards an inner service as an UMA resource server: requests the inner service sees carry a
/// sufficient RPT (or need none); every other request is answered by the guard.
///
/// Built by [`UmaGuardLayer`](crate::UmaGuardLayer). The guard never fails: every outcome is a
/// response, and errors are only ever the inner service's own.
pub struct UmaGuard<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: Clone> Clone for UmaGuard<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for UmaGuard<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaGuard")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> UmaGuard<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for UmaGuard<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The service that was polled ready is the one that must be called; keep it and leave a
        // fresh clone behind (tower's documented pattern for services that call inner later).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        ResponseFuture::new(async move {
            let (mut parts, body) = request.into_parts();
            match shared.decide(&parts).await {
                Decision::Pass(granted) => {
                    if let Some(granted) = granted {
                        parts.extensions.insert(granted);
                    }
                    inner.call(Request::from_parts(parts, body)).await
                }
                Decision::Reject(response) => Ok(response.map(|()| ResBody::default())),
            }
        })
    }
}
