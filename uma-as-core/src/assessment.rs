//! The authorization assessment of Grant §3.3.4: which scopes are requested of each resource in a
//! ticket, and which of them the owner's policies grant to this requesting party.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use crate::store::{Policy, Resource};

/// The claims of a party the server knows nothing about.
pub(crate) const NO_CLAIMS: &BTreeMap<String, String> = &BTreeMap::new();

/// The requesting party as the policies see it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Party<'a> {
    /// A username, or the client id of a client acting for itself.
    pub(crate) id: &'a str,
    /// The client the request comes through.
    pub(crate) client_id: &'a str,
    /// The party's groups.
    pub(crate) groups: &'a [String],
    /// The party's claims.
    pub(crate) claims: &'a BTreeMap<String, String>,
}

impl Policy {
    /// Whether the policy needs to know the requesting party as a person: it names users,
    /// groups or claims.
    pub(crate) fn names_users(&self) -> bool {
        !(self.users.is_empty() && self.groups.is_empty() && self.claims.is_empty())
    }

    /// Whether this policy grants its scopes to `party` at time `now`: every condition it names
    /// holds. A policy that names no one (no users, groups, clients or claims) grants nothing:
    /// an empty condition is never "everyone" (Grant §5.6).
    pub(crate) fn grants_to(&self, party: &Party<'_>, now: u64) -> bool {
        self.holds_but_claims(party, now) && self.missing_claims(party).is_empty()
    }

    /// Whether every condition but the claims holds: what a party lacking only claims needs.
    pub(crate) fn holds_but_claims(&self, party: &Party<'_>, now: u64) -> bool {
        let names_someone = !(self.users.is_empty()
            && self.groups.is_empty()
            && self.clients.is_empty()
            && self.claims.is_empty());
        names_someone
            && (self.users.is_empty() || self.users.iter().any(|u| u == party.id))
            && (self.groups.is_empty() || self.groups.iter().any(|g| party.groups.contains(g)))
            && (self.clients.is_empty() || self.clients.iter().any(|c| c == party.client_id))
            && self.not_before.is_none_or(|t| t <= now)
            && self.not_after.is_none_or(|t| now <= t)
    }

    /// The claims this policy names that the party does not have with a matching value.
    pub(crate) fn missing_claims(&self, party: &Party<'_>) -> Vec<&str> {
        self.claims
            .iter()
            .filter(|(name, wanted)| {
                !party
                    .claims
                    .get(*name)
                    .is_some_and(|value| claim_matches(wanted, value))
            })
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// A claim condition's value: exact, or `*suffix` for a value ending in the suffix (such as
/// `*@clinic.example` for an e-mail domain).
fn claim_matches(wanted: &str, value: &str) -> bool {
    match wanted.strip_prefix('*') {
        Some(suffix) => value.ends_with(suffix),
        None => wanted == value,
    }
}

/// Step 1–2 of Grant §3.3.4 for every resource of a ticket:
/// `RequestedScopes(resource) = TicketScopes(resource) ∪ {RegisteredScopes ∩ RequestedScopes}`,
/// where a scope of the intersection applies to each resource on which it is available.
///
/// `Err(scope)` names a scope of the `scope` parameter that is available on none of the ticket's
/// resources: the request is then `invalid_scope`.
pub(crate) fn requested_scopes<R: Borrow<Resource>>(
    ticket: &[(R, BTreeSet<String>)],
    registered: &[String],
    requested: &[String],
) -> Result<Vec<BTreeSet<String>>, String> {
    let available = |resource: &Resource, scope: &str| {
        resource
            .description
            .resource_scopes
            .iter()
            .any(|s| s == scope)
    };
    if let Some(unavailable) = requested.iter().find(|scope| {
        !ticket
            .iter()
            .any(|(resource, _)| available(resource.borrow(), scope))
    }) {
        return Err(unavailable.clone());
    }
    // Scopes the client is not pre-registered for are not considered (Grant §3.3.1).
    let extra: Vec<&String> = requested
        .iter()
        .filter(|s| registered.contains(s))
        .collect();
    Ok(ticket
        .iter()
        .map(|(resource, ticket_scopes)| {
            let mut scopes = ticket_scopes.clone();
            scopes.extend(
                extra
                    .iter()
                    .filter(|s| available(resource.borrow(), s))
                    .map(|s| (*s).clone()),
            );
            scopes
        })
        .collect())
}

/// Step 3–4: `CandidateGrantedScopes(resource)`, or `None` when nothing on the resource is granted
/// to the party at all.
///
/// The owner has every scope of their own resource. Anyone else gets the union of the scopes of
/// the policies that name them. No policy means no access (Grant §5.6: default deny); a request
/// for zero scopes is granted only to a party some policy names.
pub(crate) fn grant<'p>(
    resource: &Resource,
    requested: &BTreeSet<String>,
    policies: &'p [Policy],
    party: &Party<'_>,
    now: u64,
) -> Option<Grant<'p>> {
    if resource.owner == party.id {
        return Some(Grant {
            scopes: requested.clone(),
            policies: Vec::new(),
        });
    }
    let matching: Vec<&Policy> = policies
        .iter()
        .filter(|p| p.resource_id == resource.id && p.grants_to(party, now))
        .collect();
    if matching.is_empty() {
        return None;
    }
    let scopes: BTreeSet<String> = requested
        .iter()
        .filter(|scope| matching.iter().any(|p| p.scopes.contains(scope)))
        .cloned()
        .collect();
    // The policies the grant relies on: those that gave at least one of its scopes (all the
    // matching ones for a zero-scope grant, which they allow by naming the party).
    let policies = matching
        .into_iter()
        .filter(|p| scopes.is_empty() || p.scopes.iter().any(|s| scopes.contains(s)))
        .collect();
    Some(Grant { scopes, policies })
}

/// `CandidateGrantedScopes(resource)`, and the policies that granted them.
#[derive(Debug)]
pub(crate) struct Grant<'p> {
    pub(crate) scopes: BTreeSet<String>,
    pub(crate) policies: Vec<&'p Policy>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use uma_types::ResourceDescription;

    fn granted_scopes(
        resource: &Resource,
        requested: &BTreeSet<String>,
        policies: &[Policy],
        party: &Party<'_>,
        now: u64,
    ) -> Option<BTreeSet<String>> {
        grant(resource, requested, policies, party, now).map(|g| g.scopes)
    }

    fn resource(id: &str, scopes: &[&str]) -> Resource {
        Resource {
            id: id.to_owned(),
            owner: "alice".to_owned(),
            resource_server: "photoz".to_owned(),
            description: ResourceDescription::new(scopes.iter().copied()),
        }
    }

    fn set(scopes: &[&str]) -> BTreeSet<String> {
        scopes.iter().map(|s| s.to_string()).collect()
    }

    const NO_CLAIMS: &BTreeMap<String, String> = &BTreeMap::new();

    fn party(id: &str) -> Party<'_> {
        Party {
            id,
            client_id: "doctor-app",
            groups: &[],
            claims: NO_CLAIMS,
        }
    }

    fn policy(users: &[&str], scopes: &[&str]) -> Policy {
        Policy {
            id: "p".into(),
            resource_id: "album".into(),
            owner: "alice".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            users: users.iter().map(|s| s.to_string()).collect(),
            ..Policy::default()
        }
    }

    /// Checklist §8, vector A-1: the Rec's worked example.
    #[test]
    fn worked_example_of_grant_3_3_4() {
        let photo1 = resource("photo1", &["view", "resize", "print", "download"]);
        let photo2 = resource("photo2", &["view", "resize", "print", "download"]);
        let album = resource("album", &["view", "edit", "download"]);
        let ticket = [
            (&album, set(&["edit"])),
            (&photo1, set(&["view"])),
            (&photo2, set(&["view"])),
        ];
        let registered = vec!["download".to_owned()];
        let requested = vec!["download".to_owned()];
        let per_resource = requested_scopes(&ticket, &registered, &requested).unwrap();
        assert_eq!(
            per_resource,
            [
                set(&["edit", "download"]),
                set(&["view", "download"]),
                set(&["view", "download"])
            ]
        );

        let policies = [Policy {
            resource_id: "photo1".into(),
            ..policy(&["bob"], &["view"])
        }];
        let granted: Vec<_> = ticket
            .iter()
            .zip(&per_resource)
            .map(|((r, _), requested)| granted_scopes(r, requested, &policies, &party("bob"), 0))
            .map(Option::unwrap_or_default)
            .collect();
        assert_eq!(granted, [set(&[]), set(&["view"]), set(&[])]);
    }

    #[test]
    fn unregistered_client_scope_is_not_considered() {
        let album = resource("album", &["view", "edit"]);
        let ticket = [(&album, set(&["view"]))];
        let per_resource = requested_scopes(&ticket, &[], &["edit".to_owned()]).unwrap();
        assert_eq!(per_resource, [set(&["view"])]);
    }

    #[test]
    fn scope_available_nowhere_is_invalid() {
        let album = resource("album", &["view"]);
        let ticket = [(&album, set(&["view"]))];
        let error = requested_scopes(&ticket, &["print".to_owned()], &["print".to_owned()]);
        assert_eq!(error, Err("print".to_owned()));
    }

    #[test]
    fn default_deny_and_owner_access() {
        let album = resource("album", &["view"]);
        // No policy: nothing, not even for zero scopes (Grant §5.6).
        assert_eq!(
            granted_scopes(&album, &set(&[]), &[], &party("bob"), 0),
            None
        );
        assert_eq!(
            granted_scopes(&album, &set(&["view"]), &[], &party("bob"), 0),
            None
        );
        // A policy that names no one grants nothing.
        let nobody = [policy(&[], &["view"])];
        assert_eq!(
            granted_scopes(&album, &set(&["view"]), &nobody, &party("bob"), 0),
            None
        );
        // The owner has every scope of her resource.
        assert_eq!(
            granted_scopes(&album, &set(&["view"]), &[], &party("alice"), 0),
            Some(set(&["view"]))
        );
    }

    #[test]
    fn a_policy_for_someone_else_grants_nothing() {
        let album = resource("album", &["view"]);
        let policies = [policy(&["carol"], &["view"])];
        assert_eq!(
            granted_scopes(&album, &set(&["view"]), &policies, &party("bob"), 0),
            None
        );
    }

    #[test]
    fn every_named_condition_must_hold() {
        let groups = ["doctors".to_owned()];
        let claims: BTreeMap<String, String> =
            [("email_verified".to_owned(), "true".to_owned())].into();
        let bob = Party {
            id: "bob",
            client_id: "doctor-app",
            groups: &groups,
            claims: &claims,
        };
        let base = policy(&[], &["view"]);
        let cases = [
            (
                Policy {
                    groups: vec!["doctors".into()],
                    ..base.clone()
                },
                true,
            ),
            (
                Policy {
                    groups: vec!["nurses".into()],
                    ..base.clone()
                },
                false,
            ),
            (
                Policy {
                    clients: vec!["doctor-app".into()],
                    ..base.clone()
                },
                true,
            ),
            (
                Policy {
                    clients: vec!["other-app".into()],
                    ..base.clone()
                },
                false,
            ),
            (
                Policy {
                    claims: claims.clone(),
                    ..base.clone()
                },
                true,
            ),
            (
                Policy {
                    claims: [("email_verified".to_owned(), "false".to_owned())].into(),
                    ..base.clone()
                },
                false,
            ),
            (
                Policy {
                    users: vec!["bob".into()],
                    groups: vec!["nurses".into()],
                    ..base.clone()
                },
                false,
            ),
            (
                Policy {
                    users: vec!["bob".into()],
                    not_before: Some(101),
                    ..base.clone()
                },
                false,
            ),
            (
                Policy {
                    users: vec!["bob".into()],
                    not_after: Some(99),
                    ..base.clone()
                },
                false,
            ),
            (
                Policy {
                    users: vec!["bob".into()],
                    not_before: Some(100),
                    not_after: Some(100),
                    ..base.clone()
                },
                true,
            ),
        ];
        for (policy, expected) in cases {
            assert_eq!(policy.grants_to(&bob, 100), expected, "{policy:?}");
        }
    }

    #[test]
    fn scopes_are_the_union_over_matching_policies() {
        let album = resource("album", &["view", "edit", "delete"]);
        let policies = [policy(&["bob"], &["view"]), policy(&["bob"], &["edit"])];
        assert_eq!(
            granted_scopes(
                &album,
                &set(&["view", "edit", "delete"]),
                &policies,
                &party("bob"),
                0
            ),
            Some(set(&["view", "edit"]))
        );
    }
}
