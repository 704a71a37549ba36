//! The decision for one request.

use std::sync::Arc;
use std::time::Instant;

use http::header::AUTHORIZATION;
use http::request::Parts;
use tracing::field::Empty;
use tracing::{Instrument, Level, Span};
use uma_client::ProtectionClient;
use uma_types::{PermissionRequest, UmaChallenge};

use crate::outcome::{GuardOutcome, Mode, Rejection, RejectionKind};
use crate::permissions::GrantedPermissions;
use crate::resolver::{Resolution, ResourceResolver};
use crate::validation::{Now, Validator, Verdict};

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

impl Shared {
    /// The decision, if it can be made without waiting: the resolver answers at once and the
    /// RPT's answer is cached and fresh. Only admissions are made here; every refusal, and any
    /// request a debug-level subscriber wants a span for, takes [`decide`](Self::decide).
    pub(crate) fn decide_now(&self, request: &Parts) -> Option<GuardOutcome> {
        if tracing::enabled!(Level::DEBUG) {
            return None;
        }
        if self.allow_cors_preflight && is_cors_preflight(request) {
            return Some(GuardOutcome::Unprotected);
        }
        let required = match self.resolver.resolve_now(request)? {
            Resolution::Protected(required) => required,
            Resolution::Unprotected => return Some(GuardOutcome::Unprotected),
            Resolution::Unmatched if self.allow_unmatched => {
                return Some(GuardOutcome::Unprotected);
            }
            _ => return None,
        };
        let token = bearer_token(request)?;
        let now = Now::read();
        let verdict = self.validator.cached(token, now)?;
        grants(&verdict, &required, now.secs).map(GuardOutcome::Granted)
    }

    pub(crate) async fn decide(&self, request: &Parts) -> GuardOutcome {
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
        // No subscriber listens at this level: no span to enter, fill and close on every request
        // (on a cache hit, that bookkeeping costs as much as the decision).
        if span.is_disabled() {
            return self.decide_inner(request, &span).await;
        }
        async {
            let outcome = self.decide_inner(request, &span).await;
            let label = match &outcome {
                GuardOutcome::Unprotected => "unprotected",
                GuardOutcome::Granted(_) => "granted",
                GuardOutcome::Refused(r) => match r.kind() {
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
            span.record("outcome", label);
            tracing::debug!("UMA decision");
            outcome
        }
        .instrument(span.clone())
        .await
    }

    async fn decide_inner(&self, request: &Parts, span: &Span) -> GuardOutcome {
        if self.allow_cors_preflight && is_cors_preflight(request) {
            return GuardOutcome::Unprotected;
        }
        let refused = |kind| GuardOutcome::Refused(Rejection::without_challenge(kind));
        let required = match self.resolver.resolve(request).await {
            Resolution::Protected(required) => required,
            Resolution::Unprotected => return GuardOutcome::Unprotected,
            // Only a request no route matches may go through unchecked; a matched route whose
            // resource or method does not check out is refused whatever the setting (TM-40).
            Resolution::Unmatched if self.allow_unmatched => return GuardOutcome::Unprotected,
            Resolution::Unmatched => return refused(RejectionKind::Unmatched),
            Resolution::NotFound => return refused(RejectionKind::NotFound),
            Resolution::MethodNotAllowed(allow) => {
                return GuardOutcome::Refused(Rejection::method_not_allowed(allow));
            }
            Resolution::Failed => return refused(RejectionKind::LookupFailed),
        };
        // Fields only for a subscriber that listens: collecting the scopes allocates.
        if let (false, Some(first)) = (span.is_disabled(), required.first()) {
            span.record("resource", first.resource_id.as_str());
            let scopes: Vec<&str> = first.resource_scopes.iter().map(|s| s.as_str()).collect();
            span.record("scopes", tracing::field::debug(&scopes));
        }
        let reason = match bearer_token(request) {
            None => RejectionKind::NoToken,
            Some(token) => {
                let now = Now::read();
                match self.validator.validate(token, now).await {
                    Ok((verdict, source)) => {
                        if !span.is_disabled() {
                            span.record("cache", tracing::field::debug(source));
                        }
                        match grants(&verdict, &required, now.secs) {
                            Some(granted) => return GuardOutcome::Granted(granted),
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
        // Boxed: the ticket request's future is large, and in place it would make every
        // request's future as large (and as costly to set up) as this rare path.
        Box::pin(self.challenge(&required, reason, span)).await
    }

    /// Asks for a ticket for what this request needs (Grant §3.2, §3.5).
    async fn challenge(
        &self,
        required: &[PermissionRequest],
        reason: RejectionKind,
        span: &Span,
    ) -> GuardOutcome {
        let started = Instant::now();
        let ticket = self.protection.request_permissions(required.to_vec()).await;
        span.record("as_latency_ms", started.elapsed().as_secs_f64() * 1e3);
        match ticket {
            Ok(ticket) => GuardOutcome::Refused(Rejection::challenge_for(
                reason,
                UmaChallenge {
                    realm: Some(self.realm.clone()),
                    as_uri: self.protection.issuer().to_owned(),
                    ticket,
                },
            )),
            Err(error) => {
                tracing::warn!(%error, "no permission ticket from the authorization server");
                GuardOutcome::Refused(Rejection::without_challenge(
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
/// Borrowed and unchecked bytes: a cache hit never copies the token nor reads it twice (the
/// miss path refuses a token that is not UTF-8).
fn bearer_token(request: &Parts) -> Option<&[u8]> {
    let mut values = request.headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return None;
    };
    let value = value.as_bytes();
    let space = value.iter().position(|&b| b == b' ')?;
    let (scheme, token) = (&value[..space], value[space + 1..].trim_ascii());
    (scheme.eq_ignore_ascii_case(b"Bearer") && !token.is_empty()).then_some(token)
}

/// The granted permissions, if the verdict is active, its token unexpired, and it covers every
/// required scope of every required resource, each permission within its own times at `now`
/// (FedAuthz §5.1.1).
fn grants(
    verdict: &Verdict,
    required: &[PermissionRequest],
    now: u64,
) -> Option<GrantedPermissions> {
    let Verdict::Active { granted, exp } = verdict else {
        return None;
    };
    if exp.is_some_and(|exp| exp <= now) {
        return None;
    }
    let live = |p: &&uma_types::Permission| {
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
    use uma_types::Permission;

    const NOW: u64 = 1_800_000_000;

    fn active(permissions: Vec<Permission>) -> Verdict {
        Verdict::Active {
            granted: GrantedPermissions::new(permissions, None, None),
            exp: None,
        }
    }

    #[test]
    fn every_required_scope_must_be_granted() {
        let required = [PermissionRequest::new("r1", ["view", "edit"])];
        assert!(
            grants(
                &active(vec![Permission::new("r1", ["view"])]),
                &required,
                NOW
            )
            .is_none()
        );
        assert!(
            grants(
                &active(vec![Permission::new("r2", ["view", "edit"])]),
                &required,
                NOW
            )
            .is_none()
        );
        assert!(
            grants(
                &active(vec![Permission::new("r1", ["edit", "view"])]),
                &required,
                NOW
            )
            .is_some()
        );
        assert!(grants(&Verdict::Inactive, &required, NOW).is_none());
    }

    #[test]
    fn expired_or_not_yet_valid_permissions_grant_nothing() {
        let required = [PermissionRequest::new("r1", ["view"])];
        let mut expired = Permission::new("r1", ["view"]);
        expired.exp = Some(1);
        assert!(grants(&active(vec![expired]), &required, NOW).is_none());
        let mut future = Permission::new("r1", ["view"]);
        future.nbf = Some(u64::MAX);
        assert!(grants(&active(vec![future]), &required, NOW).is_none());
    }

    #[test]
    fn an_expired_token_grants_nothing_whatever_its_permissions() {
        // The check the fast path relies on when a cached answer outlives its token.
        let required = [PermissionRequest::new("r1", ["view"])];
        let verdict = |exp| Verdict::Active {
            granted: GrantedPermissions::new(vec![Permission::new("r1", ["view"])], None, None),
            exp: Some(exp),
        };
        assert!(grants(&verdict(NOW), &required, NOW).is_none());
        assert!(grants(&verdict(NOW - 1), &required, NOW).is_none());
        assert!(grants(&verdict(NOW + 1), &required, NOW).is_some());
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
        assert_eq!(bearer_token(&parts(&["Bearer abc"])).unwrap(), b"abc");
        assert_eq!(bearer_token(&parts(&["bearer abc"])).unwrap(), b"abc");
        assert!(bearer_token(&parts(&["Basic abc"])).is_none());
        assert!(bearer_token(&parts(&["Bearer "])).is_none());
        assert!(bearer_token(&parts(&["Bearer a", "Bearer b"])).is_none());
        assert!(bearer_token(&parts(&["Bearer"])).is_none());
        assert_eq!(bearer_token(&parts(&["Bearer  abc "])).unwrap(), b"abc");
    }
}
