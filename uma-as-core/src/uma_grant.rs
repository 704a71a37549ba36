//! The UMA grant (Grant §3.3): the ticket is spent, the requesting party identified, the
//! owners' policies assessed (Grant §3.3.4), and the answer given — an RPT (upgraded when asked,
//! with a refresh token and, after claims, a PCT), `need_info`, `request_submitted` or
//! `request_denied` — and recorded for the owner.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use axum::response::Response;
use uma_client::token::ID_TOKEN_FORMAT;
use uma_client::{ErrorCode, Permission, TokenResponse};

use crate::assessment::{NO_CLAIMS, Party, grant, requested_scopes};
use crate::entitlement::ResponseMode;
use crate::error::ApiError;
use crate::id_token::verify_id_token;
use crate::request::FormParams;
use crate::rpt::Granted;
use crate::secret::TokenHash;
use crate::server::{AppState, RegisteredClient};
use crate::store::{Policy, PolicyRef, Resource, StoreError, Ticket, TokenKind};
use crate::time::now;
use crate::token::{Caller, scopes_of, token_response};

/// The UMA grant (Grant §3.3.1–§3.3.6).
pub(crate) async fn uma_grant(
    state: &AppState,
    caller: &Caller,
    client: &RegisteredClient,
    params: &FormParams,
) -> Result<Response, ApiError> {
    // Keycloak's realm mode also takes `audience` and `permission` in place of a ticket.
    let presented = match params.get("ticket") {
        Some(ticket) => Some(ticket),
        None if state.keycloak_paths && params.get("audience").is_some() => None,
        None => return Err(ApiError::invalid_request("parameter ticket is required")),
    };
    let mode = ResponseMode::of(state, params)?;
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
        // Keycloak's claims asserted by the client itself; taken below only from the resource
        // server of the resources asked for.
        (Some(_), Some(crate::entitlement::ASSERTED_CLAIMS_FORMAT)) if state.keycloak_paths => None,
        (Some(_), Some(format)) => {
            return Err(ApiError::invalid_request(format!(
                "claim token format {format:?} is not supported"
            )));
        }
        (None, None) => None,
    };
    let asserted = crate::entitlement::asserted_claims(state, params)?;
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
    let ticket = match presented {
        Some(ticket) => state
            .store
            .take_ticket(&TokenHash::of(ticket))
            .await?
            .filter(|t| t.expires_at > now())
            .ok_or_else(|| {
                ApiError::invalid_grant("the ticket is unknown, expired or already used")
            })?,
        None => crate::entitlement::ticket_for(state, params).await?,
    };

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
    if asserted.is_some() && caller.client_id != ticket.resource_server {
        return Err(ApiError::invalid_request(
            "claims asserted by a client are taken only from the resource server of the resources",
        ));
    }
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
        mode,
        submit: crate::entitlement::submits(state, params, presented.is_some())?,
        asserted: asserted.as_ref(),
    };
    let mut result = Err(policies_kept_changing());
    for _ in 0..ATTEMPTS {
        match assess(state, &assessment, &ticket, &mut explanation).await {
            Ok(response) => result = Ok(response),
            Err(NotIssued::Refused(error)) => result = Err(error),
            Err(NotIssued::PoliciesChanged) => {
                explanation = Explanation::default();
                continue;
            }
        }
        break;
    }
    if explanation.reason.is_none() {
        explanation.reason =
            Some("the owner's policies kept changing during the assessment".to_owned());
    }
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

/// How many times a grant is assessed when the policies it relied on change before its RPT is
/// stored (TM-13): each time it sees them as they are after the change.
const ATTEMPTS: usize = 3;

fn policies_kept_changing() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::RequestDenied,
        "the resource owner's policies changed while this request was assessed; ask again",
    )
}

/// Why an assessment issued no RPT.
enum NotIssued {
    /// The answer to give instead.
    Refused(ApiError),
    /// A policy it relied on changed or went before the RPT was stored: assess again.
    PoliciesChanged,
}

impl From<ApiError> for NotIssued {
    fn from(error: ApiError) -> Self {
        Self::Refused(error)
    }
}

impl From<StoreError> for NotIssued {
    fn from(error: StoreError) -> Self {
        Self::Refused(error.into())
    }
}

/// What a grant request asks, once the ticket is taken.
struct Assessment<'a> {
    caller: &'a Caller,
    client: &'a RegisteredClient,
    params: &'a FormParams,
    party_id: &'a str,
    pushed_claims: bool,
    requested: Vec<String>,
    mode: ResponseMode,
    /// Whether an ungranted request for owner-managed resources is put to their owner.
    submit: bool,
    /// Claims the resource server asserted about the request (Keycloak's pushed claims).
    asserted: Option<&'a BTreeMap<String, String>>,
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
    assessment: &Assessment<'_>,
    ticket: &Ticket,
    explanation: &mut Explanation,
) -> Result<Response, NotIssued> {
    let Assessment {
        caller,
        client,
        params,
        party_id,
        pushed_claims,
        ref requested,
        mode,
        submit,
        asserted,
    } = *assessment;
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
        requested_scopes(&resources, &client.scopes, requested).map_err(|scope| {
            ApiError::invalid_scope(format!(
                "scope {scope:?} is not available on any resource of the ticket"
            ))
        })?;

    let user = state.users.get(party_id);
    let known = user.map_or(NO_CLAIMS, |u| &u.claims);
    // What the server knows of the party wins over what the resource server asserts.
    let with_asserted: BTreeMap<String, String>;
    let claims = match asserted {
        Some(asserted) => {
            with_asserted = asserted.clone().into_iter().chain(known.clone()).collect();
            &with_asserted
        }
        None => known,
    };
    let party = Party {
        id: party_id,
        client_id: &caller.client_id,
        groups: user.map_or(&[], |u| u.groups.as_slice()),
        claims,
    };
    let now = now();
    let mut granted = Granted {
        permissions: Vec::with_capacity(resources.len()),
        policies: Vec::new(),
        resource_server: ticket.resource_server.clone(),
        owner: ticket.owner.clone(),
        not_after: None,
    };
    let mut wants_a_user = false;
    // Claims that would let a policy grant what is asked, and that the party lacks.
    let mut missing_claims: BTreeSet<String> = BTreeSet::new();
    // Claims any policy on an ungranted resource asks for: what an unidentified party is asked
    // for beside who it is.
    let mut asked_claims: BTreeSet<String> = BTreeSet::new();
    let mut ungranted: Vec<(&Resource, &BTreeSet<String>)> = Vec::new();
    for ((resource, _), requested) in resources.iter().zip(&per_resource) {
        let policies = state.store.policies_for(&resource.id).await?;
        match grant(resource, requested, &policies, &party, now) {
            Some(grant) if grant.scopes == *requested => {
                // The RPT relies on these policies: changing or deleting one revokes it, and it
                // ends when the first of them does (TM-4).
                for policy in &grant.policies {
                    granted.policies.push(PolicyRef::from(*policy));
                    granted.end_with(policy);
                }
                let mut permission = Permission::new(resource.id.clone(), grant.scopes);
                permission.resource_name = resource.description.name.clone();
                granted.permissions.push(permission);
            }
            _ => {
                wants_a_user |= policies.iter().any(Policy::names_users);
                asked_claims.extend(policies.iter().flat_map(|p| p.claims.keys().cloned()));
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
            let ticket = reissue(state, ticket).await?;
            let names: Vec<String> = std::iter::once("sub".to_owned())
                .chain(asked_claims)
                .collect();
            return Err(need_info(state, ticket, &names).into());
        }
        // A known party lacking claims a policy asks for, who has not just pushed some: ask for
        // them. (After a push that still lacks them, the answer is a denial, not a loop.)
        if !missing_claims.is_empty() && !pushed_claims && asserted.is_none() {
            let names: Vec<String> = missing_claims.into_iter().collect();
            explanation.reason = Some(format!("{party_id} lacks the claims {names:?}"));
            let ticket = reissue(state, ticket).await?;
            return Err(need_info(state, ticket, &names).into());
        }
        // Resources whose owner asked to be asked: put the request to them.
        if submit
            && ungranted
                .iter()
                .all(|(r, _)| r.description.owner_managed_access == Some(true))
            && crate::owner::submit(state, &ungranted, party_id, &caller.client_id).await?
        {
            explanation.reason = Some("the owner has been asked".to_owned());
            let ticket = reissue(state, ticket).await?;
            let interval = state.approval_poll_interval.as_secs();
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::RequestSubmitted,
                "the resource owner has been asked",
            )
            .with_uma(|body| {
                body.ticket = Some(ticket);
                body.interval = Some(interval);
            })
            .into());
        }
        let missing: Vec<&str> = ungranted.iter().map(|(r, _)| r.id.as_str()).collect();
        explanation.reason = Some(format!(
            "no policy grants {party_id} all the scopes asked of {missing:?}"
        ));
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::RequestDenied,
            "the resource owner's policies do not grant these permissions",
        )
        .into());
    }

    // A decision or the permissions, when asked instead of an RPT: nothing is issued.
    if let Some(answer) = mode.answer(&granted.permissions) {
        let (relied_on, reason) = why_granted(party_id, ticket, &granted);
        explanation.granted = granted.permissions;
        explanation.policies = relied_on;
        explanation.reason = Some(reason);
        return Ok(answer);
    }
    let upgraded = match params.get("rpt") {
        Some(old) => upgrade(state, old, caller, party_id, &mut granted).await?,
        None => None,
    };
    let (relied_on, reason) = why_granted(party_id, ticket, &granted);
    let permissions = granted.permissions.clone();
    let Some(issued) = crate::rpt::issue(state, &caller.client_id, party_id, granted, None).await?
    else {
        return Err(NotIssued::PoliciesChanged);
    };
    explanation.granted = permissions;
    explanation.policies = relied_on;
    explanation.reason = Some(reason);
    // The client must discard the upgraded RPT; revoking it makes sure (Grant §3.3.5.1).
    if let Some(old) = &upgraded {
        state.store.delete_token(old).await?;
    }
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
    tracing::info!(client = %caller.client_id, party = %party_id, upgraded = upgraded.is_some(), "RPT issued");
    // No `scope` member: an RPT's scopes belong to resources, which the client does not see
    // (Grant §3.3.5).
    Ok(token_response(TokenResponse {
        pct,
        upgraded: upgraded.is_some().then_some(true),
        ..issued.response()
    }))
}

/// The policies a grant relies on, and why it was granted, in words.
fn why_granted(party_id: &str, ticket: &Ticket, granted: &Granted) -> (Vec<String>, String) {
    let relied_on: Vec<String> = granted.policies.iter().map(|p| p.id.clone()).collect();
    let mut reason = if party_id == ticket.owner {
        "the owner's own resource".to_owned()
    } else {
        crate::store::granted_reason(&relied_on)
    };
    if let Some(end) = granted.not_after {
        reason.push_str(&format!(", until {end} at the latest"));
    }
    (relied_on, reason)
}

/// A new ticket for the same permissions, to continue with.
async fn reissue(
    state: &AppState,
    ticket: &Ticket,
) -> Result<uma_client::PermissionTicket, ApiError> {
    crate::permission::issue_ticket(
        state,
        ticket.permissions.clone(),
        ticket.owner.clone(),
        ticket.resource_server.clone(),
    )
    .await
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

/// RPT upgrade (Grant §3.3.5.1): the permissions of `old` join the new ones, with the policies
/// they rely on (each still as it was) and their end. Only a live RPT of this client, party,
/// resource server and owner is upgraded; any other `rpt` is ignored. Returns the old RPT, to
/// revoke once the new one is stored.
async fn upgrade(
    state: &AppState,
    old: &str,
    caller: &Caller,
    party: &str,
    granted: &mut Granted,
) -> Result<Option<TokenHash>, ApiError> {
    let hash = TokenHash::of(old);
    let Some(record) = state.store.token(&hash).await? else {
        return Ok(None);
    };
    let TokenKind::Rpt {
        permissions: previous,
        resource_server,
        owner,
        policies,
    } = record.kind
    else {
        return Ok(None);
    };
    let ours = record.client_id == caller.client_id
        && record.subject == party
        && resource_server == granted.resource_server
        && owner == granted.owner
        && record.expires_at > now();
    if !ours {
        return Ok(None);
    }
    let mut carried = Vec::with_capacity(policies.len());
    for relied in &policies {
        match state.store.policy(&relied.id).await? {
            Some(policy) if policy.revision == relied.revision => carried.push(policy),
            // Changed or gone: the old RPT is being withdrawn, and nothing of it is carried.
            _ => return Ok(None),
        }
    }
    for policy in &carried {
        granted.end_with(policy);
    }
    granted.policies.extend(policies);
    for mut kept in previous {
        match granted
            .permissions
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
                granted.permissions.push(kept);
            }
        }
    }
    Ok(Some(hash))
}
