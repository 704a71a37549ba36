//! Custom rejection responses, in the style of tower-http's `with_rejection_response`.

use http::Response;

use crate::outcome::Rejection;

/// Builds the response for a refused request.
///
/// Implemented by [`DefaultRejection`] and by every `FnMut(&Rejection) -> Response<B> + Clone`.
/// Whatever it returns, the guard adds the [`Rejection`] to the response's extensions.
pub trait RejectionResponse<B>: Clone {
    /// The response for `rejection`.
    fn rejection_response(&mut self, rejection: &Rejection) -> Response<B>;
}

/// The spec's responses: see [`Rejection::default_response`].
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct DefaultRejection;

impl<B: Default> RejectionResponse<B> for DefaultRejection {
    fn rejection_response(&mut self, rejection: &Rejection) -> Response<B> {
        rejection.default_response()
    }
}

impl<F, B> RejectionResponse<B> for F
where
    F: FnMut(&Rejection) -> Response<B> + Clone,
{
    fn rejection_response(&mut self, rejection: &Rejection) -> Response<B> {
        self(rejection)
    }
}
