//! The UMA grant (Grant §3.3): the ticket is spent, the requesting party identified, the
//! owners' policies assessed (Grant §3.3.4), and the answer given — an RPT (upgraded when asked,
//! with a refresh token and, after claims, a PCT), `need_info`, `request_submitted` or
//! `request_denied` — and recorded for the owner.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use uma_client::token::ID_TOKEN_FORMAT;
use uma_client::{AccessToken, ErrorCode, Permission, TokenResponse};

use crate::assessment::{Party, grant, requested_scopes};
use crate::error::ApiError;
use crate::id_token::verify_id_token;
use crate::request::FormParams;
use crate::secret::{self, TokenHash};
use crate::server::{AppState, RegisteredClient};
use crate::store::{Policy, Resource, StoreError, TokenKind, TokenRecord};
use crate::time::now;
use crate::token::{Caller, bearer_response, scopes_of, token_response};

const EMPTY_CLAIMS: &std::collections::BTreeMap<String, String> =
    &std::collections::BTreeMap::new();

/// The claims of a JWT RPT: RFC 9068's (typed `at+jwt` in the header, with `client_id`) plus
/// Keycloak's `azp` and `authorization.permissions`, which enforcers written for Keycloak read.
#[derive(Debug, Serialize)]
struct RptClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    azp: &'a str,
    exp: u64,
    iat: u64,
    jti: String,
    authorization: RptAuthorization<'a>,
}

#[derive(Debug, Serialize)]
struct RptAuthorization<'a> {
    permissions: &'a [Permission],
}

/// The UMA grant (Grant §3.3.1–§3.3.6).
pub(crate) async fn uma_grant(
    state: &AppState,
    caller: &Caller,
    client: &RegisteredClient,
    params: &FormParams,
) -> Result<Response, ApiError> {
    let ticket = params.require("ticket")?;
    let pushed = match (params.get("claim_token"), params.get("claim_token_format")) {
        (Some(_), None) | (None, Some(_)) => {
            return Err(ApiError::invalid_request(
                "claim_token and claim_token_format must be sent together",
            ));
        }
        // A claim token that does not check out identifies nobody: the request goes on as for
        // an unidentified party, and earns no PCT (TM-1).
        (Some(token), Some(ID_TOKEN_FORMAT)) => {
            match verify_id_token(state, token, &caller.client_id).await? {
                Ok(user) => Some(user),
                Err(unusable) => {
                    tracing::info!(client = %caller.client_id, %unusable, "pushed claim token ignored");
                    None
                }
            }
        }
        (Some(_), Some(format)) => {
            return Err(ApiError::invalid_request(format!(
                "claim token format {format:?} is not supported"
            )));
        }
        (None, None) => None,
    };
    if let (Some(pushed), Some(bearer)) = (&pushed, &caller.bearer_subject) {
        if pushed != bearer {
            return Err(ApiError::invalid_request(
                "the claim token and the bearer token name different users",
            ));
        }
    }
    // A PCT stands for the claims gathered earlier; only the client it was issued to may use it
    // (Grant §5.2), and one of another client's is not honoured.
    let persisted = match params.get("pct") {
        Some(pct) => state
            .store
            .token(&TokenHash::of(pct))
            .await?
            .filter(|r| matches!(r.kind, TokenKind::Pct) && r.expires_at > now())
            .filter(|r| r.client_id == caller.client_id)
            .map(|r| r.subject),
        None => None,
    };
    // The requesting party: the user of a pushed ID token, else of the bearer token, else of the
    // PCT, else the client itself.
    let pushed_claims = pushed.is_some();
    let party_id = pushed
        .or_else(|| caller.bearer_subject.clone())
        .or(persisted)
        .unwrap_or_else(|| caller.client_id.clone());
    let requested = scopes_of(params);

    // Presenting a ticket spends it, whatever the outcome (Grant §5.5): take it out of the store
    // in one atomic step before anything else can fail.
    let ticket = state
        .store
        .take_ticket(&TokenHash::of(ticket))
        .await?
        .filter(|t| t.expires_at > now())
        .ok_or_else(|| ApiError::invalid_grant("the ticket is unknown, expired or already used"))?;

    // A person who signed in at the claims interaction endpoint for this client is the party
    // (unless the client pushed or presented someone else), and their claims are persisted.
    let (party_id, pushed_claims) = match &ticket.gathered {
        Some(gathered)
            if gathered.client_id == caller.client_id
                && !pushed_claims
                && caller
                    .bearer_subject
                    .as_ref()
                    .is_none_or(|b| *b == gathered.party) =>
        {
            (gathered.party.clone(), true)
        }
        _ => (party_id, pushed_claims),
    };
    // Every decision on a ticket is recorded for the owner to read (explainable decisions).
    let mut explanation = Explanation::default();
    let (owner, asked) = (ticket.owner.clone(), ticket.permissions.clone());
    let assessment = Assessment {
        caller,
        client,
        params,
        party_id: &party_id,
        pushed_claims,
        requested,
    };
    let result = assess(state, assessment, ticket, &mut explanation).await;
    let outcome = match &result {
        Ok(_) => "granted",
        Err(error) => error.code().as_str(),
    };
    // Recorded before answering, so that the owner reads every decision a client has seen.
    crate::decisions::record(
        state.clone(),
        owner,
        asked,
        party_id.clone(),
        caller.client_id.clone(),
        outcome.to_owned(),
        explanation,
    )
    .await;
    result
}

/// What a grant request asks, once the ticket is taken.
struct Assessment<'a> {
    caller: &'a Caller,
    client: &'a RegisteredClient,
    params: &'a FormParams,
    party_id: &'a str,
    pushed_claims: bool,
    requested: Vec<String>,
}

/// Why a decision went as it did, for the owner's record.
#[derive(Debug, Default)]
pub(crate) struct Explanation {
    pub(crate) granted: Vec<Permission>,
    pub(crate) policies: Vec<String>,
    pub(crate) reason: Option<String>,
}

/// The assessment of Grant §3.3.4 for a taken ticket, and its answer.
async fn assess(
    state: &AppState,
    assessment: Assessment<'_>,
    ticket: crate::store::Ticket,
    explanation: &mut Explanation,
) -> Result<Response, ApiError> {
    let Assessment {
        caller,
        client,
        params,
        party_id,
        pushed_claims,
        requested,
    } = assessment;
    let mut resources: Vec<(Resource, BTreeSet<String>)> =
        Vec::with_capacity(ticket.permissions.len());
    for permission in &ticket.permissions {
        let resource = state
            .store
            .resource(&permission.resource_id)
            .await?
            .ok_or_else(|| {
                ApiError::invalid_grant("a resource of the ticket is no longer registered")
            })?;
        let scopes = permission
            .resource_scopes
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        resources.push((resource, scopes));
    }
    let per_resource =
        requested_scopes(&resources, &client.scopes, &requested).map_err(|scope| {
            ApiError::invalid_scope(format!(
                "scope {scope:?} is not available on any resource of the ticket"
            ))
        })?;

    let user = state.users.get(party_id);
    let party = Party {
        id: party_id,
        client_id: &caller.client_id,
        groups: user.map_or(&[], |u| u.groups.as_slice()),
        claims: user.map_or(EMPTY_CLAIMS, |u| &u.claims),
    };
    let now = now();
    let mut permissions = Vec::with_capacity(resources.len());
    let mut wants_a_user = false;
    // Claims that would let a policy grant what is asked, and that the party lacks.
    let mut missing_claims: BTreeSet<String> = BTreeSet::new();
    let mut ungranted: Vec<(&Resource, &BTreeSet<String>)> = Vec::new();
    // The policies the RPT relies on: changing or deleting one revokes it.
    let mut relied_on: Vec<String> = Vec::new();
    for ((resource, _), requested) in resources.iter().zip(&per_resource) {
        let policies = state.store.policies_for(&resource.id).await?;
        match grant(resource, requested, &policies, &party, now) {
            Some(granted) if granted.scopes == *requested => {
                relied_on.extend(granted.policies.iter().map(|p| p.id.clone()));
                let mut permission = Permission::new(resource.id.clone(), granted.scopes);
                permission.resource_name = resource.description.name.clone();
                permissions.push(permission);
            }
            _ => {
                wants_a_user |= policies.iter().any(Policy::names_users);
                for policy in policies.iter().filter(|p| p.holds_but_claims(&party, now)) {
                    missing_claims
                        .extend(policy.missing_claims(&party).into_iter().map(str::to_owned));
                }
                ungranted.push((resource, requested));
            }
        }
    }
    if !ungranted.is_empty() {
        // A party the server cannot tell from its client, before a policy that names people:
        // ask who it is (Grant §3.3.6 need_info), with a new ticket for the same permissions.
        if wants_a_user && user.is_none() {
            explanation.reason = Some(format!(
                "a policy names people, and {party_id} is not identified as one"
            ));
            let ticket = crate::permission::issue_ticket(
                state,
                ticket.permissions,
                ticket.owner,
                ticket.resource_server,
            )
            .await?;
            return Err(need_info(state, ticket, &["sub".to_owned()]));
        }
        // A known party lacking claims a policy asks for, who has not just pushed some: ask for
        // them. (After a push that still lacks them, the answer is a denial, not a loop.)
        if !missing_claims.is_empty() && !pushed_claims {
            let names: Vec<String> = missing_claims.into_iter().collect();
            explanation.reason = Some(format!("{party_id} lacks the claims {names:?}"));
            let ticket = crate::permission::issue_ticket(
                state,
                ticket.permissions,
                ticket.owner,
                ticket.resource_server,
            )
            .await?;
            return Err(need_info(state, ticket, &names));
        }
        // Resources whose owner asked to be asked: put the request to them.
        if ungranted
            .iter()
            .all(|(r, _)| r.description.owner_managed_access == Some(true))
            && crate::owner::submit(state, &ungranted, party_id, &caller.client_id).await?
        {
            explanation.reason = Some("the owner has been asked".to_owned());
            let ticket = crate::permission::issue_ticket(
                state,
                ticket.permissions,
                ticket.owner,
                ticket.resource_server,
            )
            .await?;
            let interval = state.approval_poll_interval.as_secs();
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::RequestSubmitted,
                "the resource owner has been asked",
            )
            .with_uma(|body| {
                body.ticket = Some(ticket);
                body.interval = Some(interval);
            }));
        }
        let missing: Vec<&str> = ungranted.iter().map(|(r, _)| r.id.as_str()).collect();
        explanation.reason = Some(format!(
            "no policy grants {party_id} all the scopes asked of {missing:?}"
        ));
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::RequestDenied,
            "the resource owner's policies do not grant these permissions",
        ));
    }

    let upgraded = match params.get("rpt") {
        Some(old) => {
            let carried = (&mut permissions, &mut relied_on);
            upgrade(state, old, caller, party_id, &ticket, carried).await?
        }
        None => false,
    };
    explanation.granted = permissions.clone();
    explanation.policies = relied_on.clone();
    explanation.reason = Some(if party_id == ticket.owner {
        "the owner's own resource".to_owned()
    } else {
        format!("granted by the policies {relied_on:?}")
    });
    let granted = Granted {
        permissions,
        policies: relied_on,
        resource_server: ticket.resource_server,
        owner: ticket.owner,
    };
    let (rpt, refresh) = issue_rpt(state, &caller.client_id, party_id, granted).await?;
    // Claims pushed in this request are persisted for the next grants of this client and party.
    let pct = if pushed_claims {
        let (pct, _) = state
            .issue_token(
                TokenKind::Pct,
                &caller.client_id,
                party_id,
                state.lifetimes.pct,
            )
            .await?;
        Some(uma_client::Pct::new(pct))
    } else {
        None
    };
    tracing::info!(client = %caller.client_id, party = %party_id, upgraded, "RPT issued");
    // No `scope` member: an RPT's scopes belong to resources, which the client does not see
    // (Grant §3.3.5).
    Ok(token_response(TokenResponse {
        pct,
        upgraded: upgraded.then_some(true),
        refresh_token: Some(AccessToken::new(refresh)),
        ..bearer_response(rpt, state.lifetimes.rpt.as_secs())
    }))
}

/// `403 need_info` asking for these claims in an ID token of this server, or gathered at its
/// claims interaction endpoint (Grant §3.3.6).
fn need_info(state: &AppState, ticket: uma_client::PermissionTicket, names: &[String]) -> ApiError {
    let claims = names
        .iter()
        .map(|name| uma_client::RequiredClaim {
            claim_token_format: vec![ID_TOKEN_FORMAT.to_owned()],
            claim_type: None,
            friendly_name: Some(if name == "sub" {
                "the requesting party's identity".to_owned()
            } else {
                name.clone()
            }),
            issuer: vec![state.issuer.clone()],
            name: Some(name.clone()),
        })
        .collect();
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::NeedInfo,
        "more claims about the requesting party are needed: push an ID token of this server",
    )
    .with_uma(|body| {
        body.ticket = Some(ticket);
        body.required_claims = Some(claims);
        body.redirect_user = Some(state.endpoint(crate::server::paths::CLAIMS));
    })
}

/// RPT upgrade (Grant §3.3.5.1): the permissions of `old` that are still valid join the new
/// ones, and `old` is revoked. Only a live RPT of this client, party, resource server and owner
/// is upgraded; any other `rpt` is ignored.
async fn upgrade(
    state: &AppState,
    old: &str,
    caller: &Caller,
    party: &str,
    ticket: &crate::store::Ticket,
    (permissions, relied_on): (&mut Vec<Permission>, &mut Vec<String>),
) -> Result<bool, ApiError> {
    let hash = TokenHash::of(old);
    let Some(record) = state.store.token(&hash).await? else {
        return Ok(false);
    };
    let TokenKind::Rpt {
        permissions: previous,
        resource_server,
        owner,
        policies,
    } = record.kind
    else {
        return Ok(false);
    };
    let ours = record.client_id == caller.client_id
        && record.subject == party
        && resource_server == ticket.resource_server
        && owner == ticket.owner
        && record.expires_at > now();
    if !ours {
        return Ok(false);
    }
    for mut kept in previous {
        match permissions
            .iter_mut()
            .find(|p| p.resource_id == kept.resource_id)
        {
            Some(existing) => {
                for scope in kept.resource_scopes {
                    if !existing.resource_scopes.contains(&scope) {
                        existing.resource_scopes.push(scope);
                    }
                }
            }
            None => {
                // A carried-over permission keeps the expiry of the RPT it came from.
                kept.exp = Some(
                    kept.exp
                        .map_or(record.expires_at, |e| e.min(record.expires_at)),
                );
                permissions.push(kept);
            }
        }
    }
    relied_on.extend(policies);
    // The client must discard the old RPT; revoking it makes sure (Grant §3.3.5.1).
    state.store.delete_token(&hash).await?;
    Ok(true)
}

/// What an RPT grants, and on what.
pub(crate) struct Granted {
    pub(crate) permissions: Vec<Permission>,
    pub(crate) policies: Vec<String>,
    pub(crate) resource_server: String,
    pub(crate) owner: String,
}

/// Mints an RPT (a JWT or a handle, as configured) and records it for introspection and
/// revocation.
/// Returns the RPT and its refresh token.
async fn issue_rpt(
    state: &AppState,
    client_id: &str,
    party: &str,
    granted: Granted,
) -> Result<(String, String), StoreError> {
    let issued_at = now();
    let expires_at = issued_at + state.lifetimes.rpt.as_secs();
    let token = match state.rpt_format {
        crate::server::RptFormat::Opaque => secret::new_token(),
        crate::server::RptFormat::Jwt => state.keys.sign(
            crate::keys::JwtType::AccessToken,
            &RptClaims {
                iss: &state.issuer,
                sub: party,
                aud: &granted.resource_server,
                client_id,
                azp: client_id,
                exp: expires_at,
                iat: issued_at,
                jti: secret::new_id(),
                authorization: RptAuthorization {
                    permissions: &granted.permissions,
                },
            },
        )?,
    };
    // A refresh token for the same permissions (Grant §3.6), relying on the same policies.
    let (refresh, _) = state
        .issue_token(
            TokenKind::RptRefresh {
                permissions: granted.permissions.clone(),
                resource_server: granted.resource_server.clone(),
                owner: granted.owner.clone(),
                policies: granted.policies.clone(),
            },
            client_id,
            party,
            state.lifetimes.refresh_token,
        )
        .await?;
    let record = TokenRecord {
        kind: TokenKind::Rpt {
            permissions: granted.permissions,
            resource_server: granted.resource_server,
            owner: granted.owner,
            policies: granted.policies,
        },
        client_id: client_id.to_owned(),
        subject: party.to_owned(),
        issued_at,
        expires_at,
    };
    state.store.put_token(TokenHash::of(&token), record).await?;
    Ok((token, refresh))
}

/// Refreshes an RPT (Grant §3.6): the same permissions, with no new assessment (the MUST NOT of
/// §3.6); a `scope` narrows them to those scopes. The policies they rely on still revoke it.
pub(crate) async fn refresh_rpt(
    state: &AppState,
    caller: &Caller,
    party: &str,
    requested: &[String],
    mut granted: Granted,
) -> Result<Response, ApiError> {
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
    let (rpt, refresh) = issue_rpt(state, &caller.client_id, party, granted).await?;
    Ok(token_response(TokenResponse {
        refresh_token: Some(AccessToken::new(refresh)),
        ..bearer_response(rpt, state.lifetimes.rpt.as_secs())
    }))
}
