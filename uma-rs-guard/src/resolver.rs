//! Mapping a request to the permissions it needs.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::Method;
use http::request::Parts;
use uma_client::{PermissionRequest, ProtectionClient, ResourceScope};

/// What a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// These permissions, all of them. (An `Arc`, so that a fixed route hands out the same list
    /// to every request without copying it: `vec![…].into()` makes one.)
    Protected(Arc<[PermissionRequest]>),
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

type Lookup = dyn Fn(String) -> Pin<Box<dyn Future<Output = Option<String>> + Send>> + Send + Sync;

/// Where the AS `resource_id` of a matched route comes from.
#[derive(Clone)]
pub enum ResourceId {
    /// Always this id.
    Fixed(String),
    /// Looked up from a path parameter by the application (`None`: no such resource; the request
    /// is treated as unmatched).
    Lookup {
        /// The path parameter, as named in the template.
        param: String,
        /// The lookup.
        lookup: Arc<Lookup>,
    },
}

impl std::fmt::Debug for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(id) => f.debug_tuple("Fixed").field(id).finish(),
            Self::Lookup { param, .. } => f.debug_struct("Lookup").field("param", param).finish(),
        }
    }
}

impl ResourceId {
    /// A fixed id.
    pub fn fixed(id: impl Into<String>) -> Self {
        Self::Fixed(id.into())
    }

    /// An id the application looks up from the path parameter `param`.
    pub fn lookup<F, Fut>(param: impl Into<String>, lookup: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<String>> + Send + 'static,
    {
        Self::Lookup {
            param: param.into(),
            lookup: Arc::new(move |value| Box::pin(lookup(value))),
        }
    }

    /// The resource registered at the AS under the name `template` with `{param}` replaced by the
    /// path parameter; found by the resource list's `name` filter, answers cached for a minute.
    pub fn by_name(
        protection: ProtectionClient,
        param: impl Into<String>,
        template: impl Into<String>,
    ) -> Self {
        let param = param.into();
        let (template, placeholder) = (template.into(), format!("{{{param}}}"));
        let cache: moka::future::Cache<String, Option<String>> = moka::future::Cache::builder()
            .max_capacity(10_000)
            .time_to_live(Duration::from_secs(60))
            .build();
        Self::lookup(param, move |value| {
            let name = template.replace(&placeholder, &value);
            let (protection, cache) = (protection.clone(), cache.clone());
            async move {
                cache
                    .try_get_with(name.clone(), async move {
                        protection
                            .find_resources_by_name(&name)
                            .await
                            .map(|ids| ids.into_iter().next())
                    })
                    .await
                    // An AS that cannot answer leaves the request unmatched: denied.
                    .unwrap_or(None)
            }
        })
    }
}

#[derive(Debug, Clone)]
enum Route {
    Protected {
        resource: ResourceId,
        scopes: HashMap<Method, Vec<ResourceScope>>,
        // For a fixed id, the permissions of each method, made once.
        fixed: HashMap<Method, Arc<[PermissionRequest]>>,
    },
    Unprotected,
}

/// Route templates (`/albums/{id}`, matched as axum matches them), each a registered resource
/// with the scopes each method needs.
///
/// ```
/// use http::Method;
/// use uma_rs_guard::{ResourceId, RouteResolver};
///
/// let resolver = RouteResolver::new()
///     .route("/albums/{id}", ResourceId::lookup("id", |id| async move {
///         // The application's own mapping from album id to AS resource id.
///         Some(format!("resource-of-{id}"))
///     }), [
///         (Method::GET, vec!["view"]),
///         (Method::PUT, vec!["edit"]),
///         (Method::DELETE, vec!["delete"]),
///     ])
///     .unwrap()
///     .unprotected("/health")
///     .unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct RouteResolver {
    router: matchit::Router<usize>,
    routes: Vec<Route>,
}

/// A route template that cannot be added.
#[derive(Debug, thiserror::Error)]
#[error("route {template:?}: {reason}")]
pub struct RouteError {
    template: String,
    reason: String,
}

impl RouteResolver {
    /// No routes: every request is unmatched.
    pub fn new() -> Self {
        Self::default()
    }

    fn insert(mut self, template: &str, route: Route) -> Result<Self, RouteError> {
        self.router
            .insert(template, self.routes.len())
            .map_err(|e| RouteError {
                template: template.to_owned(),
                reason: e.to_string(),
            })?;
        if let Route::Protected {
            resource: ResourceId::Lookup { param, .. },
            ..
        } = &route
        {
            if !template.contains(&format!("{{{param}}}")) {
                return Err(RouteError {
                    template: template.to_owned(),
                    reason: format!("has no parameter {{{param}}}"),
                });
            }
        }
        self.routes.push(route);
        Ok(self)
    }

    /// Protects `template` as `resource`; each listed method needs its scopes. Other methods are
    /// unmatched.
    pub fn route<S, I>(
        self,
        template: &str,
        resource: ResourceId,
        methods: impl IntoIterator<Item = (Method, I)>,
    ) -> Result<Self, RouteError>
    where
        I: IntoIterator<Item = S>,
        S: Into<ResourceScope>,
    {
        let scopes: HashMap<Method, Vec<ResourceScope>> = methods
            .into_iter()
            .map(|(method, scopes)| (method, scopes.into_iter().map(Into::into).collect()))
            .collect();
        let fixed = match &resource {
            ResourceId::Fixed(id) => scopes
                .iter()
                .map(|(method, scopes)| {
                    let permission = PermissionRequest {
                        resource_id: id.clone(),
                        resource_scopes: scopes.clone(),
                    };
                    (method.clone(), Arc::from([permission]))
                })
                .collect(),
            ResourceId::Lookup { .. } => HashMap::new(),
        };
        self.insert(
            template,
            Route::Protected {
                resource,
                scopes,
                fixed,
            },
        )
    }

    /// Lets `template` through without a token.
    pub fn unprotected(self, template: &str) -> Result<Self, RouteError> {
        self.insert(template, Route::Unprotected)
    }

    async fn lookup(&self, request: &Parts) -> Resolution {
        let Ok(matched) = self.router.at(request.uri.path()) else {
            return Resolution::Unmatched;
        };
        let (resource, scopes, fixed) = match &self.routes[*matched.value] {
            Route::Unprotected => return Resolution::Unprotected,
            Route::Protected {
                resource,
                scopes,
                fixed,
            } => match scopes.get(&request.method) {
                Some(scopes) => (resource, scopes, fixed),
                None => return Resolution::Unmatched,
            },
        };
        let resource_id = match resource {
            ResourceId::Fixed(_) => {
                return match fixed.get(&request.method) {
                    Some(permissions) => Resolution::Protected(Arc::clone(permissions)),
                    None => Resolution::Unmatched,
                };
            }
            ResourceId::Lookup { param, lookup } => {
                let Some(value) = matched.params.get(param) else {
                    return Resolution::Unmatched;
                };
                match lookup(value.to_owned()).await {
                    Some(id) => id,
                    None => return Resolution::Unmatched,
                }
            }
        };
        Resolution::Protected(Arc::from([PermissionRequest {
            resource_id,
            resource_scopes: scopes.clone(),
        }]))
    }
}

impl ResourceResolver for RouteResolver {
    fn resolve<'a>(&'a self, request: &'a Parts) -> ResolveFuture<'a> {
        Box::pin(self.lookup(request))
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

    #[tokio::test]
    async fn templates_methods_and_lookups() {
        let resolver = RouteResolver::new()
            .route("/a", ResourceId::fixed("r1"), [(Method::GET, vec!["view"])])
            .unwrap()
            .route(
                "/albums/{id}",
                ResourceId::lookup("id", |id| async move {
                    (id != "404").then(|| format!("res-{id}"))
                }),
                [(Method::PUT, vec!["edit"])],
            )
            .unwrap()
            .unprotected("/health")
            .unwrap();
        let resolve = |m, p| {
            let parts = parts(m, p);
            let resolver = &resolver;
            async move { resolver.lookup(&parts).await }
        };
        assert_eq!(
            resolve(Method::GET, "/a?x=1").await,
            Resolution::Protected(vec![PermissionRequest::new("r1", ["view"])].into())
        );
        assert_eq!(resolve(Method::DELETE, "/a").await, Resolution::Unmatched);
        assert_eq!(resolve(Method::GET, "/a/b").await, Resolution::Unmatched);
        assert_eq!(
            resolve(Method::PUT, "/albums/7").await,
            Resolution::Protected(vec![PermissionRequest::new("res-7", ["edit"])].into())
        );
        assert_eq!(
            resolve(Method::PUT, "/albums/404").await,
            Resolution::Unmatched
        );
        assert_eq!(
            resolve(Method::GET, "/health").await,
            Resolution::Unprotected
        );
    }

    #[test]
    fn bad_templates_are_errors() {
        assert!(
            RouteResolver::new()
                .route(
                    "/a/{id}",
                    ResourceId::fixed("r"),
                    [(Method::GET, vec!["v"])]
                )
                .unwrap()
                .route(
                    "/a/{other}",
                    ResourceId::fixed("r"),
                    [(Method::GET, vec!["v"])]
                )
                .is_err()
        );
        let lookup = ResourceId::lookup("id", |_| async { None });
        assert!(
            RouteResolver::new()
                .route("/a/{name}", lookup, [(Method::GET, vec!["v"])])
                .is_err()
        );
    }
}
