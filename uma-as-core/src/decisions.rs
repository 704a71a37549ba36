//! Explainable decisions: every decision of the token endpoint on a ticket is recorded — who
//! asked, through which client, for what, what was granted, which policies decided, or what was
//! missing — and the owner reads the decisions about their resources at `{issuer}/decisions`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use uma_types::{Permission, PermissionRequest};

use crate::error::ApiError;
use crate::policy::Owner;
use crate::secret;
use crate::store::{Decision, Store};
use crate::time::now;

/// Why a decision went as it did, for the owner's record.
#[derive(Debug, Default)]
pub(crate) struct Explanation {
    pub(crate) granted: Vec<Permission>,
    pub(crate) policies: Vec<String>,
    pub(crate) reason: Option<String>,
    /// Already stored, with the RPT it granted: nothing is left to record.
    pub(crate) recorded: bool,
}

/// The decision to record, made now.
pub(crate) fn decision(
    owner: String,
    requested: Vec<PermissionRequest>,
    party: String,
    client_id: String,
    outcome: String,
    explanation: Explanation,
) -> Decision {
    Decision {
        id: secret::new_id(),
        at: now(),
        owner,
        party,
        client_id,
        requested,
        granted: explanation.granted,
        outcome,
        policies: explanation.policies,
        reason: explanation.reason,
    }
}

/// Records a decision. A storage failure is logged, not answered: the client's answer is already
/// decided, and recording must not change it.
pub(crate) async fn record(store: &dyn Store, decision: Decision) {
    if let Err(error) = store.put_decision(decision).await {
        tracing::error!(%error, "a decision could not be recorded");
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct DecisionQuery {
    resource: Option<String>,
    limit: Option<usize>,
}

/// A decision as the owner reads it.
#[derive(Debug, serde::Serialize)]
pub(crate) struct DecisionView {
    at: u64,
    party: String,
    client_id: String,
    requested: Vec<PermissionRequest>,
    granted: Vec<Permission>,
    outcome: String,
    policies: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// `GET {issuer}/decisions?resource=<id>&limit=<n>`: the owner's decisions, newest first
/// (100 by default, 1,000 at most).
pub(crate) async fn list(
    State(store): State<Arc<dyn Store>>,
    owner: Owner,
    query: Result<Query<DecisionQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<DecisionView>>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid_request(format!("bad query: {e}")))?;
    let limit = query.limit.unwrap_or(100).min(1000);
    let decisions = store
        .decisions_of(owner.name(), query.resource.as_deref(), None, limit)
        .await?;
    Ok(Json(
        decisions
            .into_iter()
            .map(|d| DecisionView {
                at: d.at,
                party: d.party,
                client_id: d.client_id,
                requested: d.requested,
                granted: d.granted,
                outcome: d.outcome,
                policies: d.policies,
                reason: d.reason,
            })
            .collect(),
    ))
}
