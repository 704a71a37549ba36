//! The answer to a weighed grant: a refusal that says what would help (Grant §3.3.6), or the
//! granted permissions as an RPT, upgraded when asked (Grant §3.3.5).

use axum::http::StatusCode;
use axum::response::Response;
use uma_types::token::ID_TOKEN_FORMAT;
use uma_types::{ErrorCode, TokenResponse};

use super::weigh::Weighing;
use super::{Assessment, NotIssued};
use crate::decisions::Explanation;
use crate::error::ApiError;
use crate::rpt::Granted;
use crate::secret::TokenHash;
use crate::server::AppState;
use crate::store::{RptStored, Ticket, TokenKind};
use crate::time::now;
use crate::token_request::{Caller, token_response};

/// The answer when something asked is not granted, most helpful first: who the party is, the
/// claims it lacks, the owner's own decision, or a denial. (`Err`: it could not be made.)
pub(super) async fn refusal(
    state: &AppState,
    assessment: &Assessment<'_>,
    ticket: &Ticket,
    weighed: Weighing<'_>,
    identified: bool,
    explanation: &mut Explanation,
) -> Result<ApiError, NotIssued> {
    let party_id = assessment.party_id;
    // A party the server cannot tell from its client, before a policy that names people: ask
    // who it is (Grant §3.3.6 need_info), with a new ticket for the same permissions.
    if weighed.wants_a_user && !identified {
        explanation.reason = Some(format!(
            "a policy names people, and {party_id} is not identified as one"
        ));
        let ticket = reissue(state, ticket).await?;
        let names: Vec<String> = std::iter::once("sub".to_owned())
            .chain(weighed.asked_claims)
            .collect();
        return Ok(need_info(state, ticket, &names));
    }
    // A known party lacking claims a policy asks for, who has not just pushed some: ask for
    // them. (After a push that still lacks them, the answer is a denial, not a loop.)
    if !weighed.missing_claims.is_empty()
        && !assessment.pushed_claims
        && assessment.asserted.is_none()
    {
        let names: Vec<String> = weighed.missing_claims.into_iter().collect();
        explanation.reason = Some(format!("{party_id} lacks the claims {names:?}"));
        let ticket = reissue(state, ticket).await?;
        return Ok(need_info(state, ticket, &names));
    }
    // Resources whose owner asked to be asked: put the request to them.
    let owner_managed = weighed
        .ungranted
        .iter()
        .all(|(r, _)| r.description.owner_managed_access == Some(true));
    if assessment.submit
        && owner_managed
        && crate::owner::submit(
            &*state.store,
            &weighed.ungranted,
            party_id,
            &assessment.caller.client_id,
        )
        .await?
    {
        explanation.reason = Some("the owner has been asked".to_owned());
        let ticket = reissue(state, ticket).await?;
        let interval = state.approvals.poll_interval.as_secs();
        return Ok(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::RequestSubmitted,
            "the resource owner has been asked",
        )
        .with_uma(|body| {
            body.ticket = Some(ticket);
            body.interval = Some(interval);
        }));
    }
    let missing: Vec<&str> = weighed
        .ungranted
        .iter()
        .map(|(r, _)| r.id.as_str())
        .collect();
    explanation.reason = Some(format!(
        "no policy grants {party_id} all the scopes asked of {missing:?}"
    ));
    Ok(ApiError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::RequestDenied,
        "the resource owner's policies do not grant these permissions",
    ))
}

/// The answer when everything asked is granted: the decision alone when that is what was asked
/// for, otherwise a new RPT (upgrading the one presented), with a PCT after pushed claims.
pub(super) async fn answer(
    state: &AppState,
    assessment: &Assessment<'_>,
    ticket: &Ticket,
    mut granted: Granted,
    explanation: &mut Explanation,
) -> Result<Response, NotIssued> {
    let Assessment {
        caller,
        params,
        party_id,
        pushed_claims,
        mode,
        ..
    } = *assessment;
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
    let decision = crate::decisions::decision(
        ticket.owner.clone(),
        ticket.permissions.clone(),
        party_id.to_owned(),
        caller.client_id.clone(),
        "granted".to_owned(),
        Explanation {
            granted: granted.permissions.clone(),
            policies: relied_on,
            reason: Some(reason),
            recorded: false,
        },
    );
    let spending = assessment.spending;
    let issued = match crate::rpt::issue(
        state,
        &caller.client_id,
        party_id,
        granted,
        None,
        Some(decision),
        spending.ticket(),
    )
    .await?
    {
        Ok(issued) => issued,
        Err(RptStored::TicketSpent) => {
            spending.spent_by_rpt(true);
            return Err(super::already_spent().into());
        }
        Err(_) => return Err(NotIssued::PoliciesChanged),
    };
    spending.spent_by_rpt(false);
    // Stored with the RPT. Should what follows fail, the RPT exists all the same, and the owner
    // reads that it was granted.
    explanation.recorded = true;
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
                state.issuance.lifetimes.pct,
            )
            .await?;
        Some(uma_types::Pct::new(pct))
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
pub(super) fn why_granted(
    party_id: &str,
    ticket: &Ticket,
    granted: &Granted,
) -> (Vec<String>, String) {
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
pub(super) async fn reissue(
    state: &AppState,
    ticket: &Ticket,
) -> Result<uma_types::PermissionTicket, ApiError> {
    crate::permission::issue_ticket(
        &*state.store,
        state.issuance.lifetimes.ticket,
        ticket.permissions.clone(),
        ticket.owner.clone(),
        ticket.resource_server.clone(),
    )
    .await
}

/// `403 need_info` asking for these claims in an ID token of this server, or gathered at its
/// claims interaction endpoint (Grant §3.3.6).
pub(super) fn need_info(
    state: &AppState,
    ticket: uma_types::PermissionTicket,
    names: &[String],
) -> ApiError {
    let claims = names
        .iter()
        .map(|name| uma_types::RequiredClaim {
            claim_token_format: vec![ID_TOKEN_FORMAT.to_owned()],
            claim_type: None,
            friendly_name: Some(if name == "sub" {
                "the requesting party's identity".to_owned()
            } else {
                name.clone()
            }),
            issuer: vec![state.issuer.as_str().to_owned()],
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
        body.redirect_user = Some(state.issuer.endpoint(crate::server::paths::CLAIMS));
    })
}

/// RPT upgrade (Grant §3.3.5.1): the permissions of `old` join the new ones, with the policies
/// they rely on (each still as it was) and their end. Only a live RPT of this client, party,
/// resource server and owner is upgraded; any other `rpt` is ignored. Returns the old RPT, to
/// revoke once the new one is stored.
pub(super) async fn upgrade(
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
