//! Mapping a request to the permissions it needs.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use http::Method;
use http::request::Parts;
use uma_client::{PermissionRequest, ResourceScope};

/// What a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// These permissions, all of them.
    Protected(Vec<PermissionRequest>),
    /// Nothing: the request passes without a token.
    Unprotected,
    /// The resolver does not know the request; the guard denies it unless configured otherwise.
    Unmatched,
}

/// The future a [`ResourceResolver`] returns.
pub type ResolveFuture<'a> = Pin<Box<dyn Future<Output = Resolution> + Send + 'a>>;

/// Tells the guard which registered resources and scopes a request needs. Async, so that an
/// implementation can look an id up in the application's database.
pub trait ResourceResolver: Send + Sync + 'static {
    /// Resolves one request from its method, URI and headers.
    fn resolve<'a>(&'a self, request: &'a Parts) -> ResolveFuture<'a>;
}

/// A fixed table: exact paths, each a registered resource with the scopes each method needs.
///
/// ```
/// use http::Method;
/// use uma_rs_guard::StaticResolver;
///
/// let resolver = StaticResolver::new()
///     .route("/albums/holiday", "resource-id-at-the-as", [
///         (Method::GET, vec!["view"]),
///         (Method::PUT, vec!["edit"]),
///     ])
///     .unprotected("/health");
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    routes: HashMap<String, Route>,
}

#[derive(Debug, Clone)]
enum Route {
    Protected {
        resource_id: String,
        scopes: HashMap<Method, Vec<ResourceScope>>,
    },
    Unprotected,
}

impl StaticResolver {
    /// An empty table: every path is unmatched.
    pub fn new() -> Self {
        Self::default()
    }

    /// Protects `path` as the resource `resource_id`; each listed method needs its scopes. A method
    /// not listed is unmatched.
    pub fn route<S, I>(
        mut self,
        path: impl Into<String>,
        resource_id: impl Into<String>,
        methods: impl IntoIterator<Item = (Method, I)>,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<ResourceScope>,
    {
        let scopes = methods
            .into_iter()
            .map(|(method, scopes)| (method, scopes.into_iter().map(Into::into).collect()))
            .collect();
        self.routes.insert(
            path.into(),
            Route::Protected {
                resource_id: resource_id.into(),
                scopes,
            },
        );
        self
    }

    /// Lets `path` through without a token.
    pub fn unprotected(mut self, path: impl Into<String>) -> Self {
        self.routes.insert(path.into(), Route::Unprotected);
        self
    }

    fn lookup(&self, request: &Parts) -> Resolution {
        match self.routes.get(request.uri.path()) {
            None => Resolution::Unmatched,
            Some(Route::Unprotected) => Resolution::Unprotected,
            Some(Route::Protected {
                resource_id,
                scopes,
            }) => match scopes.get(&request.method) {
                Some(scopes) => Resolution::Protected(vec![PermissionRequest {
                    resource_id: resource_id.clone(),
                    resource_scopes: scopes.clone(),
                }]),
                None => Resolution::Unmatched,
            },
        }
    }
}

impl ResourceResolver for StaticResolver {
    fn resolve<'a>(&'a self, request: &'a Parts) -> ResolveFuture<'a> {
        let resolution = self.lookup(request);
        Box::pin(std::future::ready(resolution))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: Method, path: &str) -> Parts {
        http::Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn exact_paths_and_methods() {
        let resolver = StaticResolver::new()
            .route("/a", "r1", [(Method::GET, vec!["view"])])
            .unprotected("/health");
        assert_eq!(
            resolver.lookup(&parts(Method::GET, "/a?x=1")),
            Resolution::Protected(vec![PermissionRequest::new("r1", ["view"])])
        );
        assert_eq!(
            resolver.lookup(&parts(Method::DELETE, "/a")),
            Resolution::Unmatched
        );
        assert_eq!(
            resolver.lookup(&parts(Method::GET, "/a/")),
            Resolution::Unmatched
        );
        assert_eq!(
            resolver.lookup(&parts(Method::GET, "/health")),
            Resolution::Unprotected
        );
    }
}
