//! Compact stored forms: a grant's rows are read back by this server only, so they need neither
//! the wire's double names (`resource_id` and `rsid`, `resource_scopes` and `scopes`) nor long
//! keys. Records written in the wire's form (by earlier versions) still read.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uma_types::{Permission, PermissionRequest, ResourceScope};

use super::{Decision, StoreError};

/// A permission as stored: `{"r": id, "s": [scopes], "n": name, "e": exp, "i": iat, "b": nbf}`.
#[derive(Serialize, Deserialize)]
struct Stored {
    r: String,
    s: Vec<ResourceScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    i: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    b: Option<u64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Either {
    Stored(Stored),
    Wire(Permission),
}

impl From<Stored> for Permission {
    fn from(stored: Stored) -> Self {
        let mut permission = Permission::new(stored.r, stored.s);
        permission.resource_name = stored.n;
        permission.exp = stored.e;
        permission.iat = stored.i;
        permission.nbf = stored.b;
        permission
    }
}

/// `#[serde(with = "compact::permissions")]` on a `Vec<Permission>` field of a stored record.
pub(crate) mod permissions {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        permissions: &[Permission],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(permissions.iter().map(|p| Stored {
            r: p.resource_id.clone(),
            s: p.resource_scopes.clone(),
            n: p.resource_name.clone(),
            e: p.exp,
            i: p.iat,
            b: p.nbf,
        }))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Permission>, D::Error> {
        let stored = Vec::<Either>::deserialize(deserializer)?;
        Ok(stored
            .into_iter()
            .map(|either| match either {
                Either::Stored(stored) => stored.into(),
                Either::Wire(permission) => permission,
            })
            .collect())
    }
}

/// The reason recorded for a grant, in words; not stored, since the policies say it.
pub(crate) fn granted_reason(policies: &[String]) -> String {
    format!("granted by the policies {policies:?}")
}

/// A decision as stored, beside its `owner` and `at` columns: what was asked as `[id, scopes]`
/// pairs; what was granted only when it is not exactly what was asked (resource names aside);
/// the reason only when the outcome and policies do not already say it.
#[derive(Serialize, Deserialize)]
struct StoredDecision {
    d: String,
    p: String,
    c: String,
    q: Vec<(String, Vec<ResourceScope>)>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "optional_permissions"
    )]
    g: Option<Vec<Permission>>,
    x: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    y: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    w: Option<String>,
}

mod optional_permissions {
    use super::*;

    pub(super) fn serialize<S: Serializer>(
        permissions: &Option<Vec<Permission>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match permissions {
            Some(permissions) => super::permissions::serialize(permissions, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<Permission>>, D::Error> {
        super::permissions::deserialize(deserializer).map(Some)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StoredOrLong {
    Stored(StoredDecision),
    Long(Decision),
}

/// All that was asked, granted as asked.
fn as_asked(requested: &[PermissionRequest]) -> Vec<Permission> {
    requested
        .iter()
        .map(|r| Permission::new(r.resource_id.clone(), r.resource_scopes.clone()))
        .collect()
}

/// The stored form of a decision; `owner` and `at` go in columns of their own.
pub(crate) fn encode_decision(decision: &Decision) -> Result<String, StoreError> {
    // The resources' names are not kept in decisions: the resources table has them.
    let unnamed: Vec<Permission> = decision
        .granted
        .iter()
        .map(|p| Permission {
            resource_name: None,
            ..p.clone()
        })
        .collect();
    let granted_as_asked = unnamed == as_asked(&decision.requested);
    let default_reason = decision.outcome == "granted"
        && decision.reason.as_deref() == Some(granted_reason(&decision.policies).as_str());
    serde_json::to_string(&StoredDecision {
        d: decision.id.clone(),
        p: decision.party.clone(),
        c: decision.client_id.clone(),
        q: decision
            .requested
            .iter()
            .map(|r| (r.resource_id.clone(), r.resource_scopes.clone()))
            .collect(),
        g: (!granted_as_asked && !decision.granted.is_empty()).then(|| decision.granted.clone()),
        x: decision.outcome.clone(),
        y: decision.policies.clone(),
        w: if default_reason {
            None
        } else {
            decision.reason.clone()
        },
    })
    .map_err(|e| StoreError::new(e.to_string()))
}

/// Decisions from `(owner, at, body)` rows, as both databases select them.
pub(crate) fn decode_decisions(
    rows: Vec<(String, i64, String)>,
) -> Result<Vec<Decision>, StoreError> {
    rows.into_iter()
        .map(|(owner, at, body)| {
            decode_decision(&body, owner, u64::try_from(at).unwrap_or(0))
                .map_err(|e| StoreError::new(format!("corrupt record: {e}")))
        })
        .collect()
}

/// A decision from its stored form (or the long form of earlier versions) and its columns.
fn decode_decision(body: &str, owner: String, at: u64) -> Result<Decision, serde_json::Error> {
    Ok(match serde_json::from_str(body)? {
        StoredOrLong::Long(decision) => decision,
        StoredOrLong::Stored(stored) => {
            let requested: Vec<PermissionRequest> = stored
                .q
                .into_iter()
                .map(|(id, scopes)| PermissionRequest::new(id, scopes))
                .collect();
            let granted = match (stored.g, stored.x == "granted") {
                (Some(granted), _) => granted,
                (None, true) => as_asked(&requested),
                (None, false) => Vec::new(),
            };
            let reason = match stored.w {
                Some(reason) => Some(reason),
                None if stored.x == "granted" => Some(granted_reason(&stored.y)),
                None => None,
            };
            Decision {
                id: stored.d,
                at,
                owner,
                party: stored.p,
                client_id: stored.c,
                requested,
                granted,
                outcome: stored.x,
                policies: stored.y,
                reason,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct Record {
        #[serde(with = "permissions")]
        p: Vec<Permission>,
    }

    #[test]
    fn stored_form_is_short_and_round_trips() {
        let mut permission = Permission::new("oO0hiJ2r_DXLLOmcgNHN3A", ["view"]);
        permission.resource_name = Some("album".into());
        let record = Record {
            p: vec![permission],
        };
        let text = serde_json::to_string(&record).unwrap();
        assert_eq!(
            text,
            r#"{"p":[{"r":"oO0hiJ2r_DXLLOmcgNHN3A","s":["view"],"n":"album"}]}"#
        );
        assert_eq!(serde_json::from_str::<Record>(&text).unwrap(), record);
    }

    fn decision(outcome: &str, granted: Vec<Permission>, reason: Option<String>) -> Decision {
        Decision {
            id: "d1".into(),
            at: 10,
            owner: "alice".into(),
            party: "bob".into(),
            client_id: "app".into(),
            requested: vec![PermissionRequest::new("r1", ["view", "edit"])],
            granted,
            outcome: outcome.into(),
            policies: vec!["p1".into()],
            reason,
        }
    }

    #[test]
    fn decisions_store_what_cannot_be_derived_and_round_trip() {
        let as_asked = decision(
            "granted",
            vec![Permission::new("r1", ["view", "edit"])],
            Some(granted_reason(&["p1".into()])),
        );
        let text = encode_decision(&as_asked).unwrap();
        assert_eq!(
            text,
            r#"{"d":"d1","p":"bob","c":"app","q":[["r1",["view","edit"]]],"x":"granted","y":["p1"]}"#
        );
        let narrowed = decision(
            "granted",
            vec![Permission::new("r1", ["view"])],
            Some("granted by the policies [\"p1\"], until 99 at the latest".into()),
        );
        let denied = decision("request_denied", vec![], Some("no policy names bob".into()));
        for original in [as_asked, narrowed, denied] {
            let text = encode_decision(&original).unwrap();
            let back = decode_decision(&text, "alice".into(), 10).unwrap();
            assert_eq!(back, original, "{text}");
        }
    }

    #[test]
    fn the_wire_form_of_earlier_records_still_reads() {
        let old = r#"{"p":[{"resource_id":"r1","resource_scopes":["view"],"rsid":"r1","rsname":"album","scopes":["view"]}]}"#;
        let record: Record = serde_json::from_str(old).unwrap();
        assert_eq!(record.p[0].resource_id, "r1");
        assert_eq!(record.p[0].resource_name.as_deref(), Some("album"));
    }
}
