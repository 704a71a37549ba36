//! Weighing a ticket's resources against their owners' policies (Grant §3.3.4).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use uma_types::Permission;

use super::NotIssued;
use crate::assessment::{Party, grant};
use crate::error::ApiError;
use crate::rpt::Granted;
use crate::server::AppState;
use crate::store::{Policy, PolicyRef, Resource, StoreError, Ticket};
use crate::time::now;

/// The ticket's resources, each with the scopes the ticket asks of it.
pub(super) async fn ticket_resources(
    state: &AppState,
    ticket: &Ticket,
) -> Result<Vec<(Resource, BTreeSet<String>)>, NotIssued> {
    let mut resources = Vec::with_capacity(ticket.permissions.len());
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
    Ok(resources)
}

/// The party's claims as the policies see them: what the server knows of the party wins over
/// what the resource server asserts.
pub(super) fn party_claims<'a>(
    known: &'a BTreeMap<String, String>,
    asserted: Option<&BTreeMap<String, String>>,
) -> Cow<'a, BTreeMap<String, String>> {
    match asserted {
        Some(asserted) => Cow::Owned(asserted.clone().into_iter().chain(known.clone()).collect()),
        None => Cow::Borrowed(known),
    }
}

/// How the ticket's resources fared against their owners' policies.
pub(super) struct Weighing<'r> {
    /// What is granted, and the policies it relies on.
    pub(super) granted: Granted,
    /// The resources not granted every scope asked, with the scopes asked.
    pub(super) ungranted: Vec<(&'r Resource, &'r BTreeSet<String>)>,
    /// Whether a policy on an ungranted resource names people.
    pub(super) wants_a_user: bool,
    /// Claims that would let a policy grant what is asked, and that the party lacks.
    pub(super) missing_claims: BTreeSet<String>,
    /// Claims any policy on an ungranted resource asks for: what an unidentified party is asked
    /// for beside who it is.
    pub(super) asked_claims: BTreeSet<String>,
}

/// Weighs each resource of the ticket against its policies, now.
pub(super) async fn weigh<'r>(
    state: &AppState,
    ticket: &Ticket,
    resources: &'r [(Resource, BTreeSet<String>)],
    per_resource: &'r [BTreeSet<String>],
    party: &Party<'_>,
) -> Result<Weighing<'r>, StoreError> {
    let now = now();
    let mut weighed = Weighing {
        granted: Granted {
            permissions: Vec::with_capacity(resources.len()),
            policies: Vec::new(),
            resource_server: ticket.resource_server.clone(),
            owner: ticket.owner.clone(),
            not_after: None,
        },
        ungranted: Vec::new(),
        wants_a_user: false,
        missing_claims: BTreeSet::new(),
        asked_claims: BTreeSet::new(),
    };
    for ((resource, _), requested) in resources.iter().zip(per_resource) {
        let policies = state.store.policies_for(&resource.id).await?;
        match grant(resource, requested, &policies, party, now) {
            Some(grant) if grant.scopes == *requested => {
                // The RPT relies on these policies: changing or deleting one revokes it, and it
                // ends when the first of them does (TM-4).
                for policy in &grant.policies {
                    weighed.granted.policies.push(PolicyRef::from(*policy));
                    weighed.granted.end_with(policy);
                }
                let mut permission = Permission::new(resource.id.clone(), grant.scopes);
                permission.resource_name = resource.description.name.clone();
                weighed.granted.permissions.push(permission);
            }
            _ => {
                weighed.wants_a_user |= policies.iter().any(Policy::names_users);
                weighed
                    .asked_claims
                    .extend(policies.iter().flat_map(|p| p.claims.keys().cloned()));
                for policy in policies.iter().filter(|p| p.holds_but_claims(party, now)) {
                    weighed
                        .missing_claims
                        .extend(policy.missing_claims(party).into_iter().map(str::to_owned));
                }
                weighed.ungranted.push((resource, requested));
            }
        }
    }
    Ok(weighed)
}
