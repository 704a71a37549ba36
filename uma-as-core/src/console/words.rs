//! What the console says about policies and decisions, in words an owner reads: "bob can view
//! until 31 Dec 2026", "bob got view on Holiday through the share of 10 Nov 2026".

use std::collections::HashMap;

use time::{Date, Month, OffsetDateTime};
use uma_types::ResourceScope;

use crate::store::{Decision, Policy, Resource};

/// A day, as "10 Nov 2026" (UTC).
pub(super) fn day(at: u64) -> String {
    match OffsetDateTime::from_unix_timestamp(i64::try_from(at).unwrap_or(i64::MAX)) {
        Ok(t) => format!("{} {} {}", t.day(), month(t.month()), t.year()),
        Err(_) => "a far-off day".to_owned(),
    }
}

/// A moment, as "10 Nov 2026 14:05 UTC".
pub(super) fn moment(at: u64) -> String {
    match OffsetDateTime::from_unix_timestamp(i64::try_from(at).unwrap_or(i64::MAX)) {
        Ok(t) => format!("{} {:02}:{:02} UTC", day(at), t.hour(), t.minute()),
        Err(_) => "a far-off day".to_owned(),
    }
}

/// A day as a date input's value, `YYYY-MM-DD` (UTC).
pub(super) fn date_input(at: u64) -> String {
    match OffsetDateTime::from_unix_timestamp(i64::try_from(at).unwrap_or(i64::MAX)) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        Err(_) => String::new(),
    }
}

fn month(month: Month) -> &'static str {
    match month {
        Month::January => "Jan",
        Month::February => "Feb",
        Month::March => "Mar",
        Month::April => "Apr",
        Month::May => "May",
        Month::June => "Jun",
        Month::July => "Jul",
        Month::August => "Aug",
        Month::September => "Sep",
        Month::October => "Oct",
        Month::November => "Nov",
        Month::December => "Dec",
    }
}

/// The last second of a day given as `YYYY-MM-DD` (a date input's value), UTC: a share "until
/// 31 Dec" holds through that day.
pub(super) fn end_of_day(value: &str) -> Option<u64> {
    let mut parts = value.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
    let midnight = date.next_day()?.midnight().assume_utc().unix_timestamp();
    u64::try_from(midnight).ok()?.checked_sub(1)
}

/// A list as people write it: "a", "a and b", "a, b and c".
pub(super) fn list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [rest @ .., last] => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", rest.join(", "), last.as_ref())
        }
    }
}

/// Who a policy admits, what they may do, and on which terms: "bob can view and edit through
/// doctor-app until 31 Dec 2026".
pub(super) fn share(policy: &Policy) -> String {
    let mut who: Vec<String> = policy.users.clone();
    who.extend(policy.groups.iter().map(|g| format!("the group {g}")));
    let who = if who.is_empty() {
        "anyone".to_owned()
    } else {
        list(&who)
    };
    format!("{who}{}", terms(policy))
}

/// A share as the user it names reads it: "you can view until 31 Dec 2026", "you, in the group
/// friends, can view".
pub(super) fn shared_with(policy: &Policy, user: &str) -> String {
    let who = if policy.users.iter().any(|u| u == user) {
        "you".to_owned()
    } else {
        format!("you, in the group {},", list(&policy.groups))
    };
    format!("{who}{}", terms(policy))
}

/// What a policy asks of the party besides who they are, what it gives, and until when.
fn terms(policy: &Policy) -> String {
    let mut words = String::new();
    let claims: Vec<String> = policy
        .claims
        .iter()
        .map(|(name, value)| format!("{name} {value}"))
        .collect();
    if !claims.is_empty() {
        words.push_str(&format!(" with {}", list(&claims)));
    }
    words.push_str(&format!(" can {}", list(&policy.scopes)));
    if !policy.clients.is_empty() {
        words.push_str(&format!(" through {}", list(&policy.clients)));
    }
    if let Some(from) = policy.not_before {
        words.push_str(&format!(" from {}", day(from)));
    }
    if let Some(to) = policy.not_after {
        words.push_str(&format!(" until {}", day(to)));
    }
    words
}

/// What the console knows to say a decision in words: the names of the resources and the
/// policies it names (those still there).
#[derive(Debug, Default)]
pub(super) struct Known {
    pub(super) resources: HashMap<String, Resource>,
    pub(super) policies: HashMap<String, Policy>,
}

impl Known {
    fn resource(&self, id: &str) -> String {
        self.resources
            .get(id)
            .and_then(|r| r.description.name.clone())
            .unwrap_or_else(|| format!("a resource since deleted ({id})"))
    }

    fn policy(&self, id: &str) -> String {
        match self.policies.get(id) {
            Some(Policy {
                created_at: Some(at),
                ..
            }) => format!("the share of {}", day(*at)),
            Some(Policy {
                name: Some(name), ..
            }) => format!("the share \u{201c}{name}\u{201d}"),
            Some(_) => "a share".to_owned(),
            None => "a share since revoked".to_owned(),
        }
    }

    /// "view on Holiday and edit on Album"
    fn permissions<'a>(
        &self,
        asked: impl Iterator<Item = (&'a str, &'a [ResourceScope])>,
    ) -> String {
        let parts: Vec<String> = asked
            .map(|(id, scopes)| {
                let names: Vec<&str> = scopes.iter().map(ResourceScope::as_str).collect();
                let scopes = if names.is_empty() {
                    "access".to_owned()
                } else {
                    list(&names)
                };
                format!("{scopes} on {}", self.resource(id))
            })
            .collect();
        list(&parts)
    }

    /// A decision in one sentence, with its reason.
    pub(super) fn decision(&self, d: &Decision) -> String {
        let party = if d.client_id == d.party {
            format!("the client {}", d.party)
        } else {
            format!("{}, through {},", d.party, d.client_id)
        };
        let asked = self.permissions(
            d.requested
                .iter()
                .map(|p| (p.resource_id.as_str(), p.resource_scopes.as_slice())),
        );
        match d.outcome.as_str() {
            "granted" if d.policies.is_empty() => format!("{party} got {asked}: your own"),
            "granted" => {
                let granted = self.permissions(
                    d.granted
                        .iter()
                        .map(|p| (p.resource_id.as_str(), p.resource_scopes.as_slice())),
                );
                let through: Vec<String> = d.policies.iter().map(|p| self.policy(p)).collect();
                format!("{party} got {granted} through {}", list(&through))
            }
            "request_denied" => {
                format!("{party} was refused {asked}: no share of yours gives them that")
            }
            "request_submitted" => {
                format!("{party} asked for {asked}: waiting for your answer under Requests")
            }
            "need_info" => format!(
                "{party} asked for {asked} and was asked for more: {}",
                d.reason.as_deref().unwrap_or("who they are")
            ),
            other => format!("{party} asked for {asked} and was refused ({other})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uma_types::{Permission, PermissionRequest, ResourceDescription};

    #[test]
    fn days_and_ends_of_days() {
        assert_eq!(day(0), "1 Jan 1970");
        assert_eq!(
            moment(1_796_083_200 + 3_600 * 14 + 300),
            "1 Dec 2026 14:05 UTC"
        );
        assert_eq!(date_input(1_796_083_200), "2026-12-01");
        let end = end_of_day("2026-12-31").unwrap();
        assert_eq!(day(end), "31 Dec 2026");
        assert_eq!(day(end + 1), "1 Jan 2027");
        for bad in ["", "2026-13-01", "2026-02-30", "tomorrow", "2026-1"] {
            assert_eq!(end_of_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn lists_read_as_sentences() {
        assert_eq!(list::<&str>(&[]), "");
        assert_eq!(list(&["view"]), "view");
        assert_eq!(list(&["view", "edit"]), "view and edit");
        assert_eq!(list(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn shares_in_words() {
        let policy = Policy {
            scopes: vec!["view".into()],
            users: vec!["bob".into()],
            not_after: end_of_day("2026-12-31"),
            ..Policy::default()
        };
        assert_eq!(share(&policy), "bob can view until 31 Dec 2026");
        let policy = Policy {
            scopes: vec!["view".into(), "delete".into()],
            groups: vec!["doctors".into()],
            clients: vec!["doctor-app".into()],
            ..Policy::default()
        };
        assert_eq!(
            share(&policy),
            "the group doctors can view and delete through doctor-app"
        );
        assert_eq!(
            shared_with(&policy, "dora"),
            "you, in the group doctors, can view and delete through doctor-app"
        );
    }

    #[test]
    fn decisions_in_words() {
        let mut known = Known::default();
        known.resources.insert(
            "r1".into(),
            Resource {
                id: "r1".into(),
                owner: "alice".into(),
                resource_server: "photoz".into(),
                description: ResourceDescription::new(["view"]).name("Holiday"),
            },
        );
        known.policies.insert(
            "p1".into(),
            Policy {
                created_at: Some(1_794_268_800),
                ..Policy::default()
            },
        );
        let decision = Decision {
            id: "d".into(),
            at: 0,
            owner: "alice".into(),
            party: "bob".into(),
            client_id: "doctor-app".into(),
            requested: vec![PermissionRequest::new("r1", ["view"])],
            granted: vec![Permission::new("r1", ["view"])],
            outcome: "granted".into(),
            policies: vec!["p1".into()],
            reason: None,
        };
        assert_eq!(
            known.decision(&decision),
            "bob, through doctor-app, got view on Holiday through the share of 10 Nov 2026"
        );
        let refused = Decision {
            party: "carol".into(),
            granted: vec![],
            outcome: "request_denied".into(),
            policies: vec![],
            ..decision
        };
        assert_eq!(
            known.decision(&refused),
            "carol, through doctor-app, was refused view on Holiday: no share of yours gives them that"
        );
    }
}
