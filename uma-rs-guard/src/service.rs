//! [`UmaGuard`], the middleware service.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower::Service;

use crate::decision::Shared;
use crate::future::ResponseFuture;
use crate::outcome::{GuardOutcome, Mode};
use crate::response::{DefaultRejection, RejectionResponse};

/// Guards an inner service as an UMA resource server: requests the inner service sees carry a
/// sufficient RPT (or need none); every other request is answered by the guard.
///
/// Built by [`UmaGuardLayer`](crate::UmaGuardLayer). The guard never fails: every outcome is a
/// response, and errors are only ever the inner service's own.
pub struct UmaGuard<S, R = DefaultRejection> {
    inner: S,
    shared: Arc<Shared>,
    rejection: R,
}

impl<S: Clone, R: Clone> Clone for UmaGuard<S, R> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
            rejection: self.rejection.clone(),
        }
    }
}

impl<S: std::fmt::Debug, R> std::fmt::Debug for UmaGuard<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UmaGuard")
            .field("inner", &self.inner)
            .field("mode", &self.shared.mode)
            .finish_non_exhaustive()
    }
}

impl<S, R> UmaGuard<S, R> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>, rejection: R) -> Self {
        Self {
            inner,
            shared,
            rejection,
        }
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

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for UmaGuard<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    R: RejectionResponse<ResBody> + Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let mode = self.shared.mode;
        if mode == Mode::Disabled {
            return ResponseFuture::inner(self.inner.call(request));
        }
        let (mut parts, body) = request.into_parts();
        // Judged at once (from the cache): the service polled ready is called right here.
        if let Some(outcome) = self.shared.decide_now(&parts) {
            admit(&mut parts, outcome, mode);
            return ResponseFuture::inner(self.inner.call(Request::from_parts(parts, body)));
        }
        // The service that was polled ready is the one that must be called; keep it and leave a
        // fresh clone behind (tower's documented pattern for services that call inner later).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        let mut rejection = self.rejection.clone();
        ResponseFuture::deciding(async move {
            let outcome = match shared.decide(&parts).await {
                GuardOutcome::Refused(refusal) => match mode {
                    Mode::Enforcing => {
                        let mut response = rejection.rejection_response(&refusal);
                        response.extensions_mut().insert(refusal);
                        return Ok(response);
                    }
                    Mode::Permissive => {
                        tracing::warn!(kind = ?refusal.kind(), "permissive mode: refusal not enforced");
                        GuardOutcome::Refused(refusal)
                    }
                    _ => GuardOutcome::Refused(refusal),
                },
                admitted => admitted,
            };
            admit(&mut parts, outcome, mode);
            inner.call(Request::from_parts(parts, body)).await
        })
    }
}

/// Hands what the guard learnt to the service: the granted permissions, and in
/// [`Mode::PassThrough`] the whole outcome.
fn admit(parts: &mut http::request::Parts, outcome: GuardOutcome, mode: Mode) {
    if let GuardOutcome::Granted(granted) = &outcome {
        parts.extensions.insert(granted.clone());
    }
    if mode == Mode::PassThrough {
        parts.extensions.insert(outcome);
    }
}
