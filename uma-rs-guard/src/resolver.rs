//! Mapping a request to the permissions it needs.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use http::{HeaderValue, Method};
use uma_client::ProtectionClient;
use uma_types::{PermissionRequest, ResourceScope};

/// What a request needs. Every answer but `Protected` and `Unprotected` refuses the request; only
/// `Unmatched` can be let through, by [`allow_unmatched`](crate::UmaGuardLayerBuilder::allow_unmatched).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resolution {
    /// These permissions, all of them. (An `Arc`, so that a fixed route hands out the same list
    /// to every request without copying it: `vec![…].into()` makes one.)
    Protected(Arc<[PermissionRequest]>),
    /// Nothing: the request passes without a token.
    Unprotected,
    /// No route matches the request: denied (`403`) unless unmatched requests are allowed.
    Unmatched,
    /// A protected route matches, but names no resource (the lookup found none): `404`.
    NotFound,
    /// A protected route matches, but not with this method: `405`, with the methods it takes.
    MethodNotAllowed(HeaderValue),
    /// The resource could not be looked up (the lookup failed, the authorization server is
    /// unreachable, a name is ambiguous): `403` with `Warning: 199`, never the resource (TM-40).
    Failed,
}

/// Why a lookup could not tell which resource a request is for.
pub type LookupError = Box<dyn std::error::Error + Send + Sync>;

/// The future a [`ResourceResolver`] returns.
pub type ResolveFuture<'a> = Pin<Box<dyn Future<Output = Resolution> + Send + 'a>>;

/// Tells the guard which registered resources and scopes a request needs. Async, so that an
/// implementation can look an id up in the application's database.
pub trait ResourceResolver: Send + Sync + 'static {
    /// Resolves one request from its method, URI and headers.
    fn resolve<'a>(&'a self, request: &'a Parts) -> ResolveFuture<'a>;

    /// The same answer as [`resolve`](Self::resolve), when it can be had without waiting (a fixed
    /// route, say), or `None`. The guard tries this first: a request it resolves here, with its
    /// RPT's answer cached, is judged and handed on without boxing or cloning anything. The
    /// default is `None`, which only costs that shortcut.
    fn resolve_now(&self, request: &Parts) -> Option<Resolution> {
        let _ = request;
        None
    }
}

type Lookup = dyn Fn(String) -> Pin<Box<dyn Future<Output = Result<Option<String>, LookupError>> + Send>>
    + Send
    + Sync;

/// Where the AS `resource_id` of a matched route comes from.
#[derive(Clone)]
#[non_exhaustive]
pub enum ResourceId {
    /// Always this id.
    Fixed(String),
    /// Looked up from a path parameter (percent-decoded, as axum hands it to the handler) by the
    /// application: `Ok(None)` when there is no such resource, `Err` when the lookup failed.
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

    /// An id the application looks up from the path parameter `param`, percent-decoded exactly
    /// as axum decodes it for the handler. `Ok(None)`: no such resource (`404`); `Err`: the
    /// lookup failed (`403` with `Warning: 199`). Neither ever lets the request through.
    pub fn lookup<F, Fut, E>(param: impl Into<String>, lookup: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<String>, E>> + Send + 'static,
        E: Into<LookupError>,
    {
        Self::Lookup {
            param: param.into(),
            lookup: Arc::new(move |value| {
                let found = lookup(value);
                Box::pin(async move { found.await.map_err(Into::into) })
            }),
        }
    }

    /// The resource registered at the AS under the name `template` with `{param}` replaced by the
    /// path parameter; found by the resource list's `name` filter, answers cached for a minute.
    /// A name that several resources carry is refused as a failed lookup, never resolved to one
    /// of them (TM-43); so is an authorization server that cannot answer.
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
                        let ids = protection
                            .find_resources_by_name(&name)
                            .await
                            .map_err(|e| e.to_string())?;
                        match <[String; 1]>::try_from(ids) {
                            Ok([id]) => Ok(Some(id)),
                            Err(ids) if ids.is_empty() => Ok(None),
                            Err(ids) => Err(format!("{} resources are named {name:?}", ids.len())),
                        }
                    })
                    .await
                    .map_err(|e: Arc<String>| LookupError::from(e.as_str()))
            }
        })
    }
}

#[derive(Debug, Clone)]
enum Route {
    Protected {
        resource: ResourceId,
        // A handful at most: a scan is cheaper than hashing the method.
        methods: Vec<MethodRule>,
        // The methods it takes, for the `Allow` of a `405`.
        allow: HeaderValue,
    },
    Unprotected,
}

/// What one method of a protected route needs.
#[derive(Debug, Clone)]
struct MethodRule {
    method: Method,
    scopes: Vec<ResourceScope>,
    // For a fixed id, the permissions, made once.
    fixed: Option<Arc<[PermissionRequest]>>,
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
///         // The application's own mapping from album id to AS resource id: `Ok(None)` for no
///         // such album, `Err` when its database cannot say.
///         Ok::<_, std::io::Error>(Some(format!("resource-of-{id}")))
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

    /// Protects `template` as `resource`; each listed method needs its scopes. `HEAD` is judged
    /// as `GET` unless listed; any other method is refused (`405`), never let through (TM-41).
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
        let mut scopes: HashMap<Method, Vec<ResourceScope>> = methods
            .into_iter()
            .map(|(method, scopes)| (method, scopes.into_iter().map(Into::into).collect()))
            .collect();
        if let Some(get) = scopes.get(&Method::GET).cloned() {
            scopes.entry(Method::HEAD).or_insert(get);
        }
        let mut listed: Vec<&str> = scopes.keys().map(Method::as_str).collect();
        listed.sort_unstable();
        let allow = HeaderValue::try_from(listed.join(", ")).map_err(|_| RouteError {
            template: template.to_owned(),
            reason: "a method cannot be named in an Allow header".to_owned(),
        })?;
        let methods = scopes
            .into_iter()
            .map(|(method, scopes)| MethodRule {
                fixed: match &resource {
                    ResourceId::Fixed(id) => Some(Arc::from([PermissionRequest {
                        resource_id: id.clone(),
                        resource_scopes: scopes.clone(),
                    }])),
                    ResourceId::Lookup { .. } => None,
                },
                method,
                scopes,
            })
            .collect();
        self.insert(
            template,
            Route::Protected {
                resource,
                methods,
                allow,
            },
        )
    }

    /// Lets `template` through without a token.
    pub fn unprotected(self, template: &str) -> Result<Self, RouteError> {
        self.insert(template, Route::Unprotected)
    }

    /// What the route table alone says about `request`: an answer, or the lookup still to do.
    fn route_for<'a>(&'a self, request: &'a Parts) -> Result<Resolution, PendingLookup<'a>> {
        let Ok(matched) = self.router.at(request.uri.path()) else {
            return Ok(Resolution::Unmatched);
        };
        let (resource, rule) = match &self.routes[*matched.value] {
            Route::Unprotected => return Ok(Resolution::Unprotected),
            Route::Protected {
                resource,
                methods,
                allow,
            } => match methods.iter().find(|rule| rule.method == request.method) {
                Some(rule) => (resource, rule),
                None => return Ok(Resolution::MethodNotAllowed(allow.clone())),
            },
        };
        if let Some(permissions) = &rule.fixed {
            return Ok(Resolution::Protected(Arc::clone(permissions)));
        }
        let ResourceId::Lookup { param, lookup } = resource else {
            return Ok(Resolution::Failed);
        };
        // The handler reads the parameter percent-decoded (axum's `Path`); so must the lookup,
        // or `/docs/%68oliday` would be judged as another resource than the one served. A
        // parameter axum would refuse to decode is no resource at all.
        let Some(value) = matched
            .params
            .get(param)
            .and_then(|raw| percent_encoding::percent_decode_str(raw).decode_utf8().ok())
        else {
            return Ok(Resolution::NotFound);
        };
        Err(PendingLookup {
            value: value.into_owned(),
            lookup,
            scopes: &rule.scopes,
        })
    }

    async fn lookup(&self, request: &Parts) -> Resolution {
        let pending = match self.route_for(request) {
            Ok(resolution) => return resolution,
            Err(pending) => pending,
        };
        let resource_id = match (pending.lookup)(pending.value).await {
            Ok(Some(id)) => id,
            Ok(None) => return Resolution::NotFound,
            Err(error) => {
                tracing::warn!(%error, "the resource lookup failed");
                return Resolution::Failed;
            }
        };
        Resolution::Protected(Arc::from([PermissionRequest {
            resource_id,
            resource_scopes: pending.scopes.clone(),
        }]))
    }
}

/// A matched route whose resource the application must look up.
struct PendingLookup<'a> {
    value: String,
    lookup: &'a Arc<Lookup>,
    scopes: &'a Vec<ResourceScope>,
}

impl ResourceResolver for RouteResolver {
    fn resolve<'a>(&'a self, request: &'a Parts) -> ResolveFuture<'a> {
        Box::pin(self.lookup(request))
    }

    fn resolve_now(&self, request: &Parts) -> Option<Resolution> {
        self.route_for(request).ok()
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
                    match id.as_str() {
                        "404" => Ok(None),
                        "broken" => Err("the database is down"),
                        _ => Ok(Some(format!("res-{id}"))),
                    }
                }),
                [(Method::PUT, vec!["edit"]), (Method::GET, vec!["view"])],
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
        // HEAD is judged as GET; an unlisted method is refused with the ones listed.
        assert_eq!(
            resolve(Method::HEAD, "/a").await,
            Resolution::Protected(vec![PermissionRequest::new("r1", ["view"])].into())
        );
        assert_eq!(
            resolve(Method::DELETE, "/a").await,
            Resolution::MethodNotAllowed(HeaderValue::from_static("GET, HEAD"))
        );
        assert_eq!(
            resolve(Method::DELETE, "/albums/7").await,
            Resolution::MethodNotAllowed(HeaderValue::from_static("GET, HEAD, PUT"))
        );
        assert_eq!(resolve(Method::GET, "/a/b").await, Resolution::Unmatched);
        assert_eq!(
            resolve(Method::PUT, "/albums/7").await,
            Resolution::Protected(vec![PermissionRequest::new("res-7", ["edit"])].into())
        );
        assert_eq!(
            resolve(Method::PUT, "/albums/404").await,
            Resolution::NotFound
        );
        assert_eq!(
            resolve(Method::PUT, "/albums/broken").await,
            Resolution::Failed
        );
        assert_eq!(
            resolve(Method::GET, "/health").await,
            Resolution::Unprotected
        );
    }

    #[tokio::test]
    async fn parameters_are_percent_decoded_as_axum_decodes_them() {
        let resolver = RouteResolver::new()
            .route(
                "/docs/{name}",
                ResourceId::lookup("name", |name| async move {
                    Ok::<_, LookupError>(Some(format!("res-{name}")))
                }),
                [(Method::GET, vec!["view"])],
            )
            .unwrap();
        let resolve = |p| {
            let parts = parts(Method::GET, p);
            let resolver = &resolver;
            async move { resolver.lookup(&parts).await }
        };
        for path in ["/docs/holiday", "/docs/%68oliday", "/docs/%68%6F%6Ciday"] {
            assert_eq!(
                resolve(path).await,
                Resolution::Protected(vec![PermissionRequest::new("res-holiday", ["view"])].into()),
                "{path}"
            );
        }
        assert_eq!(
            resolve("/docs/a%20b").await,
            Resolution::Protected(vec![PermissionRequest::new("res-a b", ["view"])].into())
        );
        // Not UTF-8 once decoded: axum refuses it, and so does the guard.
        assert_eq!(resolve("/docs/%FF").await, Resolution::NotFound);
    }

    #[test]
    fn only_routes_that_need_no_lookup_resolve_at_once() {
        let resolver = RouteResolver::new()
            .route("/a", ResourceId::fixed("r1"), [(Method::GET, vec!["view"])])
            .unwrap()
            .route(
                "/albums/{id}",
                ResourceId::lookup("id", |id| async move { Ok::<_, LookupError>(Some(id)) }),
                [(Method::GET, vec!["view"])],
            )
            .unwrap()
            .unprotected("/health")
            .unwrap();
        let now = |m, p| resolver.resolve_now(&parts(m, p));
        assert_eq!(
            now(Method::GET, "/a"),
            Some(Resolution::Protected(
                vec![PermissionRequest::new("r1", ["view"])].into()
            ))
        );
        assert_eq!(now(Method::GET, "/health"), Some(Resolution::Unprotected));
        assert_eq!(now(Method::GET, "/nowhere"), Some(Resolution::Unmatched));
        assert_eq!(
            now(Method::POST, "/a"),
            Some(Resolution::MethodNotAllowed(HeaderValue::from_static(
                "GET, HEAD"
            )))
        );
        // The lookup must run: no answer without waiting, except that a parameter axum would
        // not decode names no resource.
        assert_eq!(now(Method::GET, "/albums/7"), None);
        assert_eq!(now(Method::GET, "/albums/%FF"), Some(Resolution::NotFound));
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
        let lookup = ResourceId::lookup("id", |_| async { Ok::<_, LookupError>(None) });
        assert!(
            RouteResolver::new()
                .route("/a/{name}", lookup, [(Method::GET, vec!["v"])])
                .is_err()
        );
    }
}
