//! The decision for one request.

use std::sync::Arc;
use std::time::Instant;

use http::header::AUTHORIZATION;
use http::request::Parts;
use tracing::Instrument;
use tracing::field::Empty;
use uma_client::{PermissionRequest, ProtectionClient, Rpt, UmaChallenge};

use crate::outcome::{Mode, Rejection, RejectionKind};
use crate::permissions::GrantedPermissions;
use crate::resolver::{Resolution, ResourceResolver};
use crate::validation::{Validator, Verdict};

/// What the guard was configured with, shared by every clone of the service.
pub(crate) struct Shared {
    pub(crate) protection: ProtectionClient,
    pub(crate) resolver: Arc<dyn ResourceResolver>,
    pub(crate) validator: Validator,
    pub(crate) realm: String,
    pub(crate) allow_unmatched: bool,
    pub(crate) allow_cors_preflight: bool,
    pub(crate) mode: Mode,
}

/// The outcome for one request.
pub(crate) enum Decision {
    Unprotected,
    Granted(GrantedPermissions),
    Refused(Rejection),
}

impl Shared {
    pub(crate) async fn decide(&self, request: &Parts) -> Decision {
        let span = tracing::debug_span!(
            "uma_guard",
            method = %request.method,
            path = request.uri.path(),
            resource = Empty,
            scopes = Empty,
            outcome = Empty,
            cache = Empty,
            as_latency_ms = Empty,
        );
        async {
            let decision = self.decide_inner(request).await;
            let outcome = match &decision {
                Decision::Unprotected => "unprotected",
                Decision::Granted(_) => "granted",
                Decision::Refused(r) => match r.kind() {
                    RejectionKind::NoToken => "challenged: no token",
                    RejectionKind::InvalidToken => "challenged: invalid token",
                    RejectionKind::InsufficientPermissions => "challenged: insufficient",
                    RejectionKind::AuthorizationServerUnreachable => "refused: AS unreachable",
                    RejectionKind::Unmatched => "refused: unmatched",
                    RejectionKind::NotFound => "refused: no such resource",
                    RejectionKind::MethodNotAllowed => "refused: method not allowed",
                    RejectionKind::LookupFailed => "refused: lookup failed",
                },
            };
            tracing::Span::current().record("outcome", outcome);
            tracing::debug!("UMA decision");
            decision
        }
        .instrument(span)
        .await
    }

    async fn decide_inner(&self, request: &Parts) -> Decision {
        if self.allow_cors_preflight && is_cors_preflight(request) {
            return Decision::Unprotected;
        }
        let refused = |kind| Decision::Refused(Rejection::without_challenge(kind));
        let required = match self.resolver.resolve(request).await {
            Resolution::Protected(required) => required,
            Resolution::Unprotected => return Decision::Unprotected,
            // Only a request no route matches may go through unchecked; a matched route whose
            // resource or method does not check out is refused whatever the setting (TM-40).
            Resolution::Unmatched if self.allow_unmatched => return Decision::Unprotected,
            Resolution::Unmatched => return refused(RejectionKind::Unmatched),
            Resolution::NotFound => return refused(RejectionKind::NotFound),
            Resolution::MethodNotAllowed(allow) => {
                return Decision::Refused(Rejection::method_not_allowed(allow));
            }
            Resolution::Failed => return refused(RejectionKind::LookupFailed),
        };
        let span = tracing::Span::current();
        if let Some(first) = required.first() {
            span.record("resource", first.resource_id.as_str());
            let scopes: Vec<&str> = first.resource_scopes.iter().map(|s| s.as_str()).collect();
            span.record("scopes", tracing::field::debug(&scopes));
        }
        let reason = match bearer_token(request) {
            None => RejectionKind::NoToken,
            Some(rpt) => {
                let started = Instant::now();
                match self.validator.validate(&rpt).await {
                    Ok((verdict, source)) => {
                        span.record("cache", tracing::field::debug(source));
                        if source != crate::validation::Source::Cache {
                            span.record("as_latency_ms", started.elapsed().as_secs_f64() * 1e3);
                        }
                        match grants(&verdict, &required) {
                            Some(granted) => return Decision::Granted(granted),
                            None if matches!(*verdict, Verdict::Active { .. }) => {
                                RejectionKind::InsufficientPermissions
                            }
                            None => RejectionKind::InvalidToken,
                        }
                    }
                    // Fail closed: an RPT that cannot be judged counts as no RPT.
                    Err(error) => {
                        tracing::warn!(%error, "RPT could not be validated");
                        RejectionKind::InvalidToken
                    }
                }
            }
        };
        self.challenge(&required, reason).await
    }

    /// Asks for a ticket for what this request needs (Grant §3.2, §3.5).
    async fn challenge(&self, required: &[PermissionRequest], reason: RejectionKind) -> Decision {
        let started = Instant::now();
        let ticket = self.protection.request_permissions(required.to_vec()).await;
        tracing::Span::current().record("as_latency_ms", started.elapsed().as_secs_f64() * 1e3);
        match ticket {
            Ok(ticket) => Decision::Refused(Rejection::challenge_for(
                reason,
                UmaChallenge {
                    realm: Some(self.realm.clone()),
                    as_uri: self.protection.issuer().to_owned(),
                    ticket,
                },
            )),
            Err(error) => {
                tracing::warn!(%error, "no permission ticket from the authorization server");
                Decision::Refused(Rejection::without_challenge(
                    RejectionKind::AuthorizationServerUnreachable,
                ))
            }
        }
    }
}

/// A CORS preflight (Fetch §3.2.2): `OPTIONS` with `Origin` and `Access-Control-Request-Method`.
/// Browsers send it without credentials, so it can carry no RPT.
fn is_cors_preflight(request: &Parts) -> bool {
    request.method == http::Method::OPTIONS
        && request.headers.contains_key(http::header::ORIGIN)
        && request
            .headers
            .contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
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

/// The granted permissions, if the verdict is active and covers every required scope of every
/// required resource, each permission within its own times (FedAuthz §5.1.1).
fn grants(verdict: &Verdict, required: &[PermissionRequest]) -> Option<GrantedPermissions> {
    let Verdict::Active { granted, .. } = verdict else {
        return None;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(u64::MAX);
    let live = |p: &&uma_client::Permission| {
        p.exp.is_none_or(|exp| exp > now) && p.nbf.is_none_or(|nbf| nbf <= now)
    };
    let covered = required.iter().all(|needed| {
        granted.permissions().iter().filter(live).any(|p| {
            p.resource_id == needed.resource_id
                && needed
                    .resource_scopes
                    .iter()
                    .all(|scope| p.has_scope(scope.as_str()))
        })
    });
    covered.then(|| granted.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use uma_client::Permission;

    fn active(permissions: Vec<Permission>) -> Verdict {
        Verdict::Active {
            granted: GrantedPermissions::new(permissions, None, None),
            exp: None,
        }
    }

    #[test]
    fn every_required_scope_must_be_granted() {
        let required = [PermissionRequest::new("r1", ["view", "edit"])];
        assert!(grants(&active(vec![Permission::new("r1", ["view"])]), &required).is_none());
        assert!(
            grants(
                &active(vec![Permission::new("r2", ["view", "edit"])]),
                &required
            )
            .is_none()
        );
        assert!(
            grants(
                &active(vec![Permission::new("r1", ["edit", "view"])]),
                &required
            )
            .is_some()
        );
        assert!(grants(&Verdict::Inactive, &required).is_none());
    }

    #[test]
    fn expired_or_not_yet_valid_permissions_grant_nothing() {
        let required = [PermissionRequest::new("r1", ["view"])];
        let mut expired = Permission::new("r1", ["view"]);
        expired.exp = Some(1);
        assert!(grants(&active(vec![expired]), &required).is_none());
        let mut future = Permission::new("r1", ["view"]);
        future.nbf = Some(u64::MAX);
        assert!(grants(&active(vec![future]), &required).is_none());
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
