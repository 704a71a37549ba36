//! The UMA grant (Grant §3.3): the ticket is spent, the requesting party identified, the
//! owners' policies assessed (Grant §3.3.4), and the answer given — an RPT (upgraded when asked,
//! with a refresh token and, after claims, a PCT), `need_info`, `request_submitted` or
//! `request_denied` — and recorded for the owner.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::StatusCode;
use axum::response::Response;
use uma_types::ErrorCode;
use uma_types::token::ID_TOKEN_FORMAT;

use crate::assessment::{NO_CLAIMS, Party, requested_scopes};
use crate::decisions::Explanation;
use crate::entitlement::ResponseMode;
use crate::error::ApiError;
use crate::id_token::verify_id_token;
use crate::request::FormParams;
use crate::secret::TokenHash;
use crate::server::{AppState, RegisteredClient};
use crate::store::{StoreError, Ticket, TokenKind};
use crate::time::now;
use crate::token_request::{Caller, scopes_of};

mod answer;
mod weigh;

use answer::{answer, refusal};
use weigh::{party_claims, ticket_resources, weigh};

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
    let submit = crate::entitlement::submits(state, params, presented.is_some())?;

    // Presenting a ticket spends it, whatever the outcome (Grant §5.5). It is read here and spent
    // by the issued RPT's own write (one commit, not two), or, for any other answer, taken out of
    // the store before that answer's side effects; of concurrent redemptions one spends it.
    let spending = Spending::new(presented.map(TokenHash::of));
    let ticket = match &spending.hash {
        Some(hash) => state
            .store
            .ticket(hash)
            .await?
            .filter(|t| t.expires_at > now())
            .ok_or_else(already_spent)?,
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
        spending.spend(state).await?;
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
        submit,
        asserted: asserted.as_ref(),
        spending: &spending,
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
    // Whatever else the answer, the ticket is spent now, if it was not already; a redemption that
    // found it spent by another answers as if it had never seen it, and records nothing.
    spending.spend(state).await?;
    if spending.lost.load(Ordering::Relaxed) {
        return Err(already_spent());
    }
    if explanation.reason.is_none() {
        explanation.reason =
            Some("the owner's policies kept changing during the assessment".to_owned());
    }
    let outcome = match &result {
        Ok(_) => "granted",
        Err(error) => error.code().as_str(),
    };
    // Recorded before answering, so that the owner reads every decision a client has seen (an
    // issued RPT's went in with it).
    if !explanation.recorded {
        let decision = crate::decisions::decision(
            owner,
            asked,
            party_id.clone(),
            caller.client_id.clone(),
            outcome.to_owned(),
            explanation,
        );
        crate::decisions::record(&*state.store, decision).await;
    }
    result
}

fn already_spent() -> ApiError {
    ApiError::invalid_grant("the ticket is unknown, expired or already used")
}

/// The presented ticket (none on Keycloak's ticketless requests), and whether it is spent.
pub(super) struct Spending {
    hash: Option<TokenHash>,
    spent: AtomicBool,
    /// Another redemption spent it first.
    lost: AtomicBool,
}

impl Spending {
    fn new(hash: Option<TokenHash>) -> Self {
        Self {
            hash,
            spent: AtomicBool::new(false),
            lost: AtomicBool::new(false),
        }
    }

    /// The ticket, for the RPT's write to spend.
    pub(super) fn ticket(&self) -> Option<&TokenHash> {
        self.hash.as_ref()
    }

    /// The RPT's write spent it; or, with `lost`, found it spent by another redemption.
    pub(super) fn spent_by_rpt(&self, lost: bool) {
        self.spent.store(true, Ordering::Relaxed);
        self.lost.store(lost, Ordering::Relaxed);
    }

    /// Takes the ticket out of the store, once; `invalid_grant` if another redemption did.
    pub(super) async fn spend(&self, state: &AppState) -> Result<(), ApiError> {
        let Some(hash) = &self.hash else {
            return Ok(());
        };
        if self.spent.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        if state.store.take_ticket(hash).await?.is_none() {
            self.lost.store(true, Ordering::Relaxed);
            return Err(already_spent());
        }
        Ok(())
    }
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
    /// The ticket, to spend.
    spending: &'a Spending,
}

/// The assessment of Grant §3.3.4 for a taken ticket, and its answer: the ticket's resources
/// and the scopes asked of each, the party as the policies see it, each resource weighed against
/// its policies; then either a refusal that says what would help, or the answer.
async fn assess(
    state: &AppState,
    assessment: &Assessment<'_>,
    ticket: &Ticket,
    explanation: &mut Explanation,
) -> Result<Response, NotIssued> {
    let resources = ticket_resources(state, ticket).await?;
    let per_resource =
        requested_scopes(&resources, &assessment.client.scopes, &assessment.requested).map_err(
            |scope| {
                ApiError::invalid_scope(format!(
                    "scope {scope:?} is not available on any resource of the ticket"
                ))
            },
        )?;
    let user = state.registry.users.get(assessment.party_id);
    let claims = party_claims(user.map_or(NO_CLAIMS, |u| &u.claims), assessment.asserted);
    let party = Party {
        id: assessment.party_id,
        client_id: &assessment.caller.client_id,
        groups: user.map_or(&[], |u| u.groups.as_slice()),
        claims: &claims,
    };
    let weighed = weigh(state, ticket, &resources, &per_resource, &party).await?;
    if !weighed.ungranted.is_empty() {
        // Spent before the refusal's side effects (a new ticket, a request to the owner), so that
        // a concurrent redemption of the same ticket gains none of them.
        assessment.spending.spend(state).await?;
        let identified = user.is_some();
        return Err(
            refusal(state, assessment, ticket, weighed, identified, explanation)
                .await?
                .into(),
        );
    }
    answer(state, assessment, ticket, weighed.granted, explanation).await
}
