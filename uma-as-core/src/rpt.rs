//! Requesting party tokens: minted (a signed JWT or a random handle) with a refresh token, stored
//! only while the policies they rely on are as they were (TM-13), never outliving those
//! policies (TM-4), and refreshed without a new assessment (Grant §3.6).

use std::time::Duration;

use axum::response::Response;
use serde::Serialize;
use uma_types::{AccessToken, Permission, TokenResponse};

use crate::assessment::{NO_CLAIMS, Party};
use crate::error::ApiError;
use crate::keys::JwtType;
use crate::secret::{self, TokenHash};
use crate::server::{AppState, RptFormat};
use crate::store::{Decision, Policy, PolicyRef, RptStored, StoreError, TokenKind, TokenRecord};
use crate::time::now;
use crate::token_request::{Caller, bearer_response, token_response};

/// The claims of a JWT RPT: RFC 9068's (typed `at+jwt` in the header, with `client_id`) plus
/// Keycloak's `azp` and `authorization.permissions`, which enforcers written for Keycloak read.
#[derive(Debug, Serialize)]
struct RptClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    azp: &'a str,
    /// Keycloak's `Bearer`, in its realm mode: its adapters check it.
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'static str>,
    exp: u64,
    iat: u64,
    jti: String,
    authorization: RptAuthorization<'a>,
}

#[derive(Debug, Serialize)]
struct RptAuthorization<'a> {
    permissions: &'a [Permission],
}

/// What an RPT grants, on what, and on whose terms.
#[derive(Debug)]
pub(crate) struct Granted {
    pub(crate) permissions: Vec<Permission>,
    pub(crate) policies: Vec<PolicyRef>,
    pub(crate) resource_server: String,
    pub(crate) owner: String,
    /// The earliest `not_after` of the policies relied on: no token outlives it.
    pub(crate) not_after: Option<u64>,
}

impl Granted {
    /// Narrows the end to a policy's.
    pub(crate) fn end_with(&mut self, policy: &Policy) {
        if let Some(end) = policy.not_after {
            self.not_after = Some(self.not_after.map_or(end, |e| e.min(end)));
        }
    }
}

/// An RPT and its refresh token (if the server issues them), as handed to the client.
pub(crate) struct Issued {
    pub(crate) rpt: String,
    pub(crate) refresh: Option<String>,
    pub(crate) expires_in: u64,
}

impl Issued {
    pub(crate) fn response(self) -> TokenResponse {
        TokenResponse {
            refresh_token: self.refresh.map(AccessToken::new),
            ..bearer_response(self.rpt, self.expires_in)
        }
    }
}

/// Mints an RPT and, if the server issues them (or this is a refresh), its refresh token, and
/// stores them with `decision`, spending `ticket` — unless a policy they rely on changed or went
/// meanwhile, or the ticket is spent already (`Err`: which; nothing was stored). Both end at the
/// earliest of their lifetime, the policies' `not_after`, and `refresh_ends_by` (the expiry of
/// the refresh token a refresh rotates, so that rotation never extends a family).
pub(crate) async fn issue(
    state: &AppState,
    client_id: &str,
    party: &str,
    mut granted: Granted,
    refresh_ends_by: Option<u64>,
    decision: Option<Decision>,
    ticket: Option<&TokenHash>,
) -> Result<Result<Issued, RptStored>, StoreError> {
    granted.policies.sort();
    granted.policies.dedup();
    let issued_at = now();
    let end = |lifetime: Duration| {
        let natural = issued_at.saturating_add(lifetime.as_secs());
        granted.not_after.map_or(natural, |end| natural.min(end))
    };
    let expires_at = end(state.issuance.lifetimes.rpt);
    let refresh_expires_at =
        end(state.issuance.lifetimes.refresh_token).min(refresh_ends_by.unwrap_or(u64::MAX));
    let token = match state.issuance.rpt_format {
        RptFormat::Opaque => secret::new_token(),
        RptFormat::Jwt => state.issuance.keys.sign(
            JwtType::AccessToken,
            &RptClaims {
                iss: state.issuer.as_str(),
                sub: party,
                aud: &granted.resource_server,
                client_id,
                azp: client_id,
                typ: state.keycloak_paths.then_some("Bearer"),
                exp: expires_at,
                iat: issued_at,
                jti: secret::new_token(),
                authorization: RptAuthorization {
                    permissions: &granted.permissions,
                },
            },
        )?,
    };
    // Every grant's refresh token is a row kept for a day: only when asked for.
    let refresh =
        (state.issuance.rpt_refresh_tokens || refresh_ends_by.is_some()).then(secret::new_token);
    let record = |kind: TokenKind, expires_at: u64| TokenRecord {
        kind,
        client_id: client_id.to_owned(),
        subject: party.to_owned(),
        issued_at,
        expires_at,
    };
    let refresh_record = refresh.as_ref().map(|refresh| {
        let kind = TokenKind::RptRefresh {
            permissions: granted.permissions.clone(),
            resource_server: granted.resource_server.clone(),
            owner: granted.owner.clone(),
            policies: granted.policies.clone(),
        };
        (TokenHash::of(refresh), record(kind, refresh_expires_at))
    });
    let rpt_record = record(
        TokenKind::Rpt {
            permissions: granted.permissions,
            resource_server: granted.resource_server,
            owner: granted.owner,
            policies: granted.policies,
        },
        expires_at,
    );
    let stored = state
        .store
        .put_rpt(
            (TokenHash::of(&token), rpt_record),
            refresh_record,
            decision,
            ticket,
        )
        .await?;
    Ok(match stored {
        RptStored::Stored => Ok(Issued {
            rpt: token,
            refresh,
            expires_in: expires_at.saturating_sub(issued_at),
        }),
        not_stored => Err(not_stored),
    })
}

/// Refreshes an RPT (Grant §3.6): the same permissions (narrowed to `scope` if asked), with no
/// new assessment (RF-2: no other policy is consulted and nothing is added). What is checked is
/// that the grant still stands: each policy it relied on still exists as it was and still grants
/// this party its scopes now (time window, groups, claims). The new tokens end no later than the
/// refresh token presented.
pub(crate) async fn refresh(
    state: &AppState,
    caller: &Caller,
    party: &str,
    requested: &[String],
    mut granted: Granted,
    refresh_expired_at: u64,
) -> Result<Response, ApiError> {
    let withdrawn =
        || ApiError::invalid_grant("the policies that granted this RPT no longer grant it");
    let mut policies = Vec::with_capacity(granted.policies.len());
    for relied in &granted.policies {
        match state.store.policy(&relied.id).await? {
            Some(policy) if policy.revision == relied.revision => policies.push(policy),
            _ => return Err(withdrawn()),
        }
    }
    if party != granted.owner {
        let user = state.registry.users.get(party);
        let now = now();
        let party = Party {
            id: party,
            client_id: &caller.client_id,
            groups: user.map_or(&[], |u| u.groups.as_slice()),
            claims: user.map_or(NO_CLAIMS, |u| &u.claims),
        };
        let still_granted = granted.permissions.iter().all(|permission| {
            let live: Vec<&Policy> = policies
                .iter()
                .filter(|p| p.resource_id == permission.resource_id && p.grants_to(&party, now))
                .collect();
            !live.is_empty()
                && permission.resource_scopes.iter().all(|scope| {
                    live.iter()
                        .any(|p| p.scopes.iter().any(|s| s == scope.as_str()))
                })
        });
        if !still_granted {
            return Err(withdrawn());
        }
    }
    for policy in &policies {
        granted.end_with(policy);
    }
    if !requested.is_empty() {
        for permission in &mut granted.permissions {
            permission
                .resource_scopes
                .retain(|s| requested.iter().any(|r| r == s.as_str()));
        }
        granted
            .permissions
            .retain(|p| !p.resource_scopes.is_empty());
        if granted.permissions.is_empty() {
            return Err(ApiError::invalid_scope(
                "none of the scopes asked for is in the RPT",
            ));
        }
    }
    // Checked just now: each permission lasts as long as the new token.
    for permission in &mut granted.permissions {
        permission.exp = None;
    }
    let issued = issue(
        state,
        &caller.client_id,
        party,
        granted,
        Some(refresh_expired_at),
        None,
        None,
    )
    .await?
    .map_err(|_| withdrawn())?;
    Ok(token_response(issued.response()))
}
