//! The decision for one request: let it through with its permissions, or answer it.

use std::sync::Arc;

use http::header::{AUTHORIZATION, WARNING, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};
use uma_client::challenge::AS_UNREACHABLE_WARNING;
use uma_client::{Introspection, PermissionRequest, ProtectionClient, Rpt, UmaChallenge};

use crate::permissions::GrantedPermissions;
use crate::resolver::{Resolution, ResourceResolver};

/// What the guard was configured with, shared by every clone of the service.
pub(crate) struct Shared {
    pub(crate) protection: ProtectionClient,
    pub(crate) resolver: Arc<dyn ResourceResolver>,
    pub(crate) realm: String,
    pub(crate) allow_unmatched: bool,
}

/// The outcome for one request.
pub(crate) enum Decision {
    /// Call the inner service, with these permissions in the extensions if there are any.
    Pass(Option<GrantedPermissions>),
    /// Answer with this response, without calling the inner service.
    Reject(Response<()>),
}

impl Shared {
    pub(crate) async fn decide(&self, request: &Parts) -> Decision {
        let required = match self.resolver.resolve(request).await {
            Resolution::Protected(required) => required,
            Resolution::Unprotected => return Decision::Pass(None),
            Resolution::Unmatched if self.allow_unmatched => return Decision::Pass(None),
            Resolution::Unmatched => {
                tracing::debug!(path = request.uri.path(), "unmatched request denied");
                return Decision::Reject(status_only(StatusCode::FORBIDDEN));
            }
        };
        if let Some(rpt) = bearer_token(request) {
            match self.protection.introspect(&rpt).await {
                Ok(introspection) => {
                    if let Some(granted) = grants(&introspection, &required) {
                        tracing::debug!("request granted");
                        return Decision::Pass(Some(granted));
                    }
                    tracing::debug!(
                        active = introspection.active,
                        "RPT does not grant the request"
                    );
                }
                // Fail closed: with introspection down, treat the RPT as absent. The ticket request
                // below will most likely fail too and answer 403 + Warning.
                Err(error) => tracing::warn!(%error, "introspection failed"),
            }
        }
        self.challenge(required).await
    }

    /// Asks for a ticket and answers `401` with the UMA challenge (Grant §3.2.1), or `403` with
    /// the Warning of Grant §3.2.2 when no ticket can be had.
    async fn challenge(&self, required: Vec<PermissionRequest>) -> Decision {
        match self.protection.request_permissions(required).await {
            Ok(ticket) => {
                let challenge = UmaChallenge {
                    realm: Some(self.realm.clone()),
                    as_uri: self.protection.issuer().to_owned(),
                    ticket,
                };
                let mut response = status_only(StatusCode::UNAUTHORIZED);
                match HeaderValue::try_from(challenge.to_string()) {
                    Ok(value) => {
                        response.headers_mut().insert(WWW_AUTHENTICATE, value);
                        Decision::Reject(response)
                    }
                    // A ticket or realm with characters a header cannot carry: no usable challenge.
                    Err(_) => Decision::Reject(as_unreachable()),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "no permission ticket from the authorization server");
                Decision::Reject(as_unreachable())
            }
        }
    }
}

fn status_only(status: StatusCode) -> Response<()> {
    let mut response = Response::new(());
    *response.status_mut() = status;
    response
}

fn as_unreachable() -> Response<()> {
    let mut response = status_only(StatusCode::FORBIDDEN);
    response
        .headers_mut()
        .insert(WARNING, HeaderValue::from_static(AS_UNREACHABLE_WARNING));
    response
}

/// The RPT of an `Authorization: Bearer` header, if the request has exactly one such header.
fn bearer_token(request: &Parts) -> Option<Rpt> {
    let mut values = request.headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let (scheme, token) = value.to_str().ok()?.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then(|| Rpt::new(token))
}

/// The granted permissions, if the introspected RPT is active and covers every required scope of
/// every required resource.
fn grants(
    introspection: &Introspection,
    required: &[PermissionRequest],
) -> Option<GrantedPermissions> {
    if !introspection.active {
        return None;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(u64::MAX);
    if introspection.exp.is_some_and(|exp| exp <= now) {
        return None;
    }
    let permissions = introspection.permissions.as_ref()?;
    let live = |p: &&uma_client::Permission| {
        p.exp.is_none_or(|exp| exp > now) && p.nbf.is_none_or(|nbf| nbf <= now)
    };
    let covered = required.iter().all(|needed| {
        permissions.iter().filter(live).any(|p| {
            p.resource_id == needed.resource_id
                && needed
                    .resource_scopes
                    .iter()
                    .all(|scope| p.has_scope(scope.as_str()))
        })
    });
    covered.then(|| GrantedPermissions {
        permissions: permissions.clone(),
        subject: introspection.sub.clone(),
        client_id: introspection.client_id.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uma_client::Permission;

    fn introspection(permissions: Vec<Permission>) -> Introspection {
        Introspection {
            active: true,
            permissions: Some(permissions),
            ..Introspection::default()
        }
    }

    #[test]
    fn every_required_scope_must_be_granted() {
        let required = [PermissionRequest::new("r1", ["view", "edit"])];
        assert!(
            grants(
                &introspection(vec![Permission::new("r1", ["view"])]),
                &required
            )
            .is_none()
        );
        assert!(
            grants(
                &introspection(vec![Permission::new("r2", ["view", "edit"])]),
                &required
            )
            .is_none()
        );
        assert!(
            grants(
                &introspection(vec![Permission::new("r1", ["edit", "view"])]),
                &required
            )
            .is_some()
        );
    }

    #[test]
    fn inactive_expired_or_permissionless_tokens_grant_nothing() {
        let required = [PermissionRequest::new("r1", ["view"])];
        let mut inactive = introspection(vec![Permission::new("r1", ["view"])]);
        inactive.active = false;
        assert!(grants(&inactive, &required).is_none());
        let mut expired = introspection(vec![Permission::new("r1", ["view"])]);
        expired.exp = Some(1);
        assert!(grants(&expired, &required).is_none());
        let mut expired_permission = Permission::new("r1", ["view"]);
        expired_permission.exp = Some(1);
        assert!(grants(&introspection(vec![expired_permission]), &required).is_none());
        let plain = Introspection {
            active: true,
            scope: Some("view".into()),
            ..Introspection::default()
        };
        assert!(grants(&plain, &required).is_none());
    }

    #[test]
    fn bearer_header_forms() {
        let parts = |values: &[&str]| {
            let mut builder = http::Request::builder();
            for v in values {
                builder = builder.header(AUTHORIZATION, *v);
            }
            builder.body(()).unwrap().into_parts().0
        };
        assert_eq!(
            bearer_token(&parts(&["Bearer abc"])).unwrap().as_str(),
            "abc"
        );
        assert_eq!(
            bearer_token(&parts(&["bearer abc"])).unwrap().as_str(),
            "abc"
        );
        assert!(bearer_token(&parts(&["Basic abc"])).is_none());
        assert!(bearer_token(&parts(&["Bearer "])).is_none());
        assert!(bearer_token(&parts(&["Bearer a", "Bearer b"])).is_none());
    }
}
