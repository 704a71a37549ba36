//! A Keycloak realm export read as this server's configuration (`--keycloak-import FILE`,
//! `[keycloak] import = "FILE"`): its clients, users, groups, the resources of its resource
//! servers and the policies on them, so that a team reuses the export its tests already have.
//!
//! What is read is translated to the same terms or left out: an export's policy becomes an
//! owner's policy only when it means exactly that (users, groups, clients; `POSITIVE`; an
//! `AFFIRMATIVE` choice becomes one policy per choice), never something broader. Everything
//! left out is named in [`RealmImport::not_imported`], which the server logs as one warning.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;
use uma_types::ResourceDescription;

use crate::config::{ClientEntry, UserEntry};
use crate::error::Error;
use crate::store::{Policy, Resource};

/// What a realm export gives this server.
#[derive(Debug, Default)]
pub(crate) struct RealmImport {
    pub(crate) realm: String,
    pub(crate) clients: Vec<ClientEntry>,
    pub(crate) users: Vec<UserEntry>,
    /// Whether a client of the realm may use the password grant (Keycloak's direct access).
    pub(crate) password_grant: bool,
    pub(crate) resources: Vec<Resource>,
    pub(crate) policies: Vec<Policy>,
    /// What the export holds that was not imported, one line each.
    pub(crate) not_imported: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Export {
    realm: String,
    #[serde(default)]
    users: Vec<ExportUser>,
    #[serde(default)]
    clients: Vec<ExportClient>,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportUser {
    username: String,
    #[serde(default = "yes")]
    enabled: bool,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    #[serde(default)]
    credentials: Vec<Value>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    attributes: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    realm_roles: Vec<String>,
    #[serde(default)]
    client_roles: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportClient {
    client_id: String,
    secret: Option<String>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    public_client: bool,
    #[serde(default = "yes")]
    standard_flow_enabled: bool,
    #[serde(default)]
    direct_access_grants_enabled: bool,
    #[serde(default)]
    service_accounts_enabled: bool,
    #[serde(default)]
    redirect_uris: Vec<String>,
    authorization_settings: Option<Authorization>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Authorization {
    #[serde(default)]
    resources: Vec<ExportResource>,
    #[serde(default)]
    policies: Vec<ExportPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportResource {
    #[serde(rename = "_id")]
    id: Option<String>,
    name: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    owner_managed_access: bool,
    #[serde(default)]
    uris: Vec<String>,
    #[serde(default)]
    scopes: Vec<ExportScope>,
    icon_uri: Option<String>,
    display_name: Option<String>,
    owner: Option<Value>,
    #[serde(default)]
    attributes: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct ExportScope {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportPolicy {
    id: Option<String>,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    logic: Option<String>,
    decision_strategy: Option<String>,
    owner: Option<String>,
    #[serde(default)]
    config: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// Keycloak's own clients, in every full export; not the realm's business to import.
const BUILT_IN_CLIENTS: [&str; 7] = [
    "account",
    "account-console",
    "admin-cli",
    "broker",
    "realm-management",
    "security-admin-console",
    "${client_admin-cli}",
];

/// Top-level members read (or deliberately of no meaning here).
const READ: [&str; 6] = ["realm", "users", "clients", "groups", "id", "enabled"];

impl RealmImport {
    /// Reads an export (the JSON of one realm, or a list of realms holding exactly one).
    pub(crate) fn from_json(text: &str) -> Result<Self, Error> {
        let bad = |e: serde_json::Error| Error::Config(format!("keycloak import: {e}"));
        let value: Value = serde_json::from_str(text).map_err(bad)?;
        let value = match value {
            Value::Array(mut realms) if realms.len() == 1 => realms.remove(0),
            Value::Array(_) => {
                return Err(Error::Config(
                    "keycloak import: the export holds several realms; export one".into(),
                ));
            }
            one => one,
        };
        let export: Export = serde_json::from_value(value).map_err(bad)?;
        let mut import = Self {
            realm: export.realm.clone(),
            ..Self::default()
        };
        import.settings(&export.rest);
        for user in export.users {
            import.user(user);
        }
        for client in export.clients {
            import.client(client);
        }
        Ok(import)
    }

    /// Reads the export at `path`.
    pub(crate) fn from_file(path: &std::path::Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Config(format!(
                "keycloak import: cannot read {}: {e}",
                path.display()
            ))
        })?;
        Self::from_json(&text)
    }

    fn skip(&mut self, what: String) {
        self.not_imported.push(what);
    }

    /// Realm settings (lifetimes, themes, identity providers, roles…): none is read; those set
    /// to anything but an empty value are named.
    fn settings(&mut self, rest: &BTreeMap<String, Value>) {
        let set: Vec<&str> = rest
            .iter()
            .filter(|(key, _)| !READ.contains(&key.as_str()))
            .filter(|(_, value)| !is_empty(value))
            .map(|(key, _)| key.as_str())
            .collect();
        if !set.is_empty() {
            self.skip(format!("realm settings: {}", set.join(", ")));
        }
    }

    fn user(&mut self, user: ExportUser) {
        let name = user.username.clone();
        if !user.enabled {
            return self.skip(format!("user {name}: disabled"));
        }
        let mut password = None;
        for credential in &user.credentials {
            match (credential["type"].as_str(), credential["value"].as_str()) {
                (Some("password"), Some(value)) => password = Some(value.to_owned()),
                (kind, _) => self.skip(format!(
                    "user {name}: a {} credential stored hashed or of another kind (sign-in by password needs its value)",
                    kind.unwrap_or("typeless")
                )),
            }
        }
        let mut claims = BTreeMap::new();
        for (claim, value) in [
            ("email", &user.email),
            ("given_name", &user.first_name),
            ("family_name", &user.last_name),
        ] {
            if let Some(value) = value {
                claims.insert(claim.to_owned(), value.clone());
            }
        }
        for (attribute, values) in &user.attributes {
            match values.as_slice() {
                [one] => {
                    claims.insert(attribute.clone(), one.clone());
                }
                [] => {}
                _ => self.skip(format!(
                    "user {name}: attribute {attribute} has several values"
                )),
            }
        }
        self.users.push(UserEntry {
            username: name,
            password,
            groups: user.groups.iter().map(|g| group_name(g)).collect(),
            claims,
            // Carried in tokens for adapters that check them; no policy here reads them.
            roles: user.realm_roles,
            client_roles: user.client_roles,
        });
    }

    fn client(&mut self, client: ExportClient) {
        let id = client.client_id.clone();
        if BUILT_IN_CLIENTS.contains(&id.as_str()) {
            return;
        }
        if !client.enabled {
            return self.skip(format!("client {id}: disabled"));
        }
        if client.public_client {
            return self.skip(format!(
                "client {id}: a public client (clients here authenticate)"
            ));
        }
        let Some(secret) = client
            .secret
            .filter(|s| !s.is_empty() && !s.starts_with("**"))
        else {
            return self.skip(format!(
                "client {id}: no secret in the export (masked or absent)"
            ));
        };
        let mut grants = vec!["refresh_token", uma_types::UMA_TICKET_GRANT_TYPE];
        if client.standard_flow_enabled {
            grants.push("authorization_code");
        }
        if client.direct_access_grants_enabled {
            grants.push("password");
            self.password_grant = true;
        }
        if client.service_accounts_enabled {
            grants.push("client_credentials");
        }
        let (exact, patterns): (Vec<String>, Vec<String>) = client
            .redirect_uris
            .into_iter()
            .partition(|uri| !uri.contains('*'));
        if !patterns.is_empty() {
            self.skip(format!(
                "client {id}: redirect URI patterns {patterns:?} (redirect URIs here are exact)"
            ));
        }
        if let Some(authorization) = client.authorization_settings {
            self.authorization(&id, authorization);
        }
        self.clients.push(ClientEntry {
            client_id: id,
            client_secret: secret,
            grant_types: Some(grants.into_iter().map(str::to_owned).collect()),
            scopes: Vec::new(),
            claims_redirect_uris: Vec::new(),
            redirect_uris: exact,
        });
    }

    fn authorization(&mut self, client: &str, settings: Authorization) {
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        for resource in settings.resources {
            let owner = match &resource.owner {
                None => client.to_owned(),
                Some(Value::String(name)) => name.clone(),
                Some(owner) => owner["name"].as_str().unwrap_or(client).to_owned(),
            };
            let description = ResourceDescription {
                name: Some(resource.name.clone()),
                description: resource.display_name,
                icon_uri: resource.icon_uri,
                resource_type: resource.kind,
                owner: Some(owner.clone()),
                owner_managed_access: resource.owner_managed_access.then_some(true),
                uris: resource.uris,
                attributes: resource.attributes,
                ..ResourceDescription::new(resource.scopes.into_iter().map(|s| s.name))
            };
            // Keycloak's id when the export has it, so that importing again replaces.
            let id = resource
                .id
                .unwrap_or_else(|| derived_id(&[client, &resource.name]));
            by_name.insert(resource.name, self.resources.len());
            self.resources.push(Resource {
                id,
                owner,
                resource_server: client.to_owned(),
                description,
            });
        }
        let grantees: BTreeMap<&str, &ExportPolicy> = settings
            .policies
            .iter()
            .filter(|p| matches!(p.kind.as_str(), "user" | "group" | "client"))
            .map(|p| (p.name.as_str(), p))
            .collect();
        for policy in &settings.policies {
            match policy.kind.as_str() {
                "user" | "group" | "client" => {} // applied through permissions
                "resource" | "scope" => self.permission(client, policy, &grantees, &by_name),
                "uma" => self.uma_policy(client, policy, &by_name),
                other => self.skip(format!(
                    "client {client}: policy {:?} of type {other} (policies here name users, groups and clients)",
                    policy.name
                )),
            }
        }
    }

    /// A resource or scope permission: for each resource it covers, the owner's policies that
    /// grant what its applied policies grant, when they can say exactly that.
    fn permission(
        &mut self,
        client: &str,
        permission: &ExportPolicy,
        grantees: &BTreeMap<&str, &ExportPolicy>,
        by_name: &BTreeMap<String, usize>,
    ) {
        let name = &permission.name;
        let skip = |this: &mut Self, why: &str| {
            this.skip(format!("client {client}: permission {name:?}: {why}"));
        };
        if permission.logic.as_deref().is_some_and(|l| l != "POSITIVE") {
            return skip(self, "NEGATIVE logic");
        }
        let applied = list(permission.config.get("applyPolicies"));
        let mut chosen = Vec::new();
        for policy_name in &applied {
            match grantees.get(policy_name.as_str()) {
                Some(policy) if policy.logic.as_deref().is_none_or(|l| l == "POSITIVE") => {
                    chosen.push(Grantees::of(policy));
                }
                _ => {
                    return skip(
                        self,
                        &format!(
                            "applies {policy_name:?}, which is not a POSITIVE user, group or client policy"
                        ),
                    );
                }
            }
        }
        let combined = match permission.decision_strategy.as_deref() {
            None | Some("UNANIMOUS") => match Grantees::all_of(&chosen) {
                Some(all) => vec![all],
                None => return skip(self, "requires membership of several groups at once"),
            },
            Some("AFFIRMATIVE") => chosen,
            Some("CONSENSUS") if chosen.len() <= 1 => chosen,
            Some(other) => return skip(self, &format!("decision strategy {other}")),
        };
        let combined: Vec<Grantees> = combined.into_iter().filter(|g| !g.is_nobody()).collect();
        if combined.is_empty() {
            return skip(self, "grants nobody");
        }
        let resources = list(permission.config.get("resources"));
        let scopes = list(permission.config.get("scopes"));
        let mut targets: Vec<usize> = Vec::new();
        for resource in &resources {
            match by_name.get(resource) {
                Some(&index) => targets.push(index),
                None => {
                    return skip(
                        self,
                        &format!("names resource {resource:?}, not in the export"),
                    );
                }
            }
        }
        if resources.is_empty() {
            // A scope permission on no resource covers every resource with those scopes.
            if permission.kind != "scope" {
                return skip(self, "a resource type instead of resources");
            }
            targets = (0..self.resources.len())
                .filter(|&i| self.resources[i].resource_server == client)
                .collect();
        }
        for index in targets {
            let resource = &self.resources[index];
            let on_it: Vec<String> = resource
                .description
                .resource_scopes
                .iter()
                .map(|s| s.as_str().to_owned())
                .filter(|s| scopes.is_empty() || scopes.contains(s))
                .collect();
            if on_it.is_empty() {
                continue;
            }
            for (n, grantees) in combined.iter().enumerate() {
                let id = derived_id(&[client, &permission.name, &resource.id, &n.to_string()]);
                let policy = grantees.policy(id, resource, on_it.clone(), Some(name.clone()));
                self.policies.push(policy);
            }
        }
    }

    /// A user-managed (`uma`) policy, as Keycloak's UMA policy API made it.
    fn uma_policy(
        &mut self,
        client: &str,
        policy: &ExportPolicy,
        by_name: &BTreeMap<String, usize>,
    ) {
        let grantees = Grantees::of(policy);
        let resources = list(policy.config.get("resources"));
        let [resource] = resources.as_slice() else {
            return self.skip(format!(
                "client {client}: UMA policy {:?} on no single resource",
                policy.name
            ));
        };
        let Some(&index) = by_name.get(resource) else {
            return self.skip(format!(
                "client {client}: UMA policy {:?}: resource {resource:?} not in the export",
                policy.name
            ));
        };
        let resource = &self.resources[index];
        if policy.owner.as_deref().is_some_and(|o| o != resource.owner) || grantees.is_nobody() {
            return self.skip(format!(
                "client {client}: UMA policy {:?}: not its resource owner's, or grants nobody",
                policy.name
            ));
        }
        let mut scopes = list(policy.config.get("scopes"));
        if scopes.is_empty() {
            scopes = resource
                .description
                .resource_scopes
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect();
        }
        let id = policy
            .id
            .clone()
            .unwrap_or_else(|| derived_id(&[client, &policy.name]));
        let policy = grantees.policy(id, resource, scopes, Some(policy.name.clone()));
        self.policies.push(policy);
    }
}

/// Who one or more of Keycloak's user, group and client policies let in.
#[derive(Debug, Clone, Default)]
struct Grantees {
    users: Option<BTreeSet<String>>,
    groups: Option<BTreeSet<String>>,
    clients: Option<BTreeSet<String>>,
}

impl Grantees {
    fn of(policy: &ExportPolicy) -> Self {
        let names = |key: &str| {
            policy
                .config
                .get(key)
                .map(|_| list(policy.config.get(key)).into_iter().collect())
        };
        Self {
            users: names("users"),
            groups: policy.config.get("groups").map(|groups| groups_of(groups)),
            clients: names("clients"),
        }
    }

    /// Everyone all of these let in: per kind, those every policy of the kind names (a party is
    /// one user through one client); `None` when that takes membership of several groups.
    fn all_of(each: &[Self]) -> Option<Self> {
        let mut all = Self::default();
        for grantees in each {
            all.users = intersect(all.users.take(), grantees.users.clone());
            all.clients = intersect(all.clients.take(), grantees.clients.clone());
            match (&all.groups, &grantees.groups) {
                (Some(a), Some(b)) if a != b => return None,
                (None, Some(b)) => all.groups = Some(b.clone()),
                _ => {}
            }
        }
        Some(all)
    }

    fn is_nobody(&self) -> bool {
        let empty = |set: &Option<BTreeSet<String>>| set.as_ref().is_some_and(BTreeSet::is_empty);
        empty(&self.users)
            || empty(&self.groups)
            || empty(&self.clients)
            || (self.users.is_none() && self.groups.is_none() && self.clients.is_none())
    }

    fn policy(
        &self,
        id: String,
        resource: &Resource,
        scopes: Vec<String>,
        name: Option<String>,
    ) -> Policy {
        let names = |set: &Option<BTreeSet<String>>| set.iter().flatten().cloned().collect();
        Policy {
            id,
            resource_id: resource.id.clone(),
            owner: resource.owner.clone(),
            name,
            scopes,
            users: names(&self.users),
            groups: names(&self.groups),
            clients: names(&self.clients),
            ..Policy::default()
        }
    }
}

fn intersect(a: Option<BTreeSet<String>>, b: Option<BTreeSet<String>>) -> Option<BTreeSet<String>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
        (a, b) => a.or(b),
    }
}

/// A policy config's list: Keycloak writes it as a JSON string of an array.
fn list(value: Option<&String>) -> Vec<String> {
    value
        .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
        .unwrap_or_default()
}

/// A group policy's groups: `[{"path": "/doctors", …}]` (or plain paths).
fn groups_of(config: &str) -> BTreeSet<String> {
    let values: Vec<Value> = serde_json::from_str(config).unwrap_or_default();
    values
        .iter()
        .filter_map(|v| v["path"].as_str().or(v.as_str()).map(group_name))
        .collect()
}

/// A group here is named by its Keycloak path without the leading `/`.
fn group_name(path: &str) -> String {
    path.strip_prefix('/').unwrap_or(path).to_owned()
}

/// An id for what the export gives none: the same on every import.
fn derived_id(parts: &[&str]) -> String {
    use base64::Engine as _;
    let joined = parts.join("\u{0}");
    let hash = crate::secret::TokenHash::of(&joined);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&hash.as_bytes()[..16])
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) | Value::Bool(true) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn export(policies: Value) -> RealmImport {
        let realm = json!({
            "realm": "photoz",
            "accessTokenLifespan": 300,
            "registrationAllowed": false,
            "users": [
                {"username": "bob", "credentials": [{"type": "password", "value": "b"}],
                 "groups": ["/doctors"], "realmRoles": ["user"]},
                {"username": "carol", "credentials": [{"type": "otp", "secretData": "x"}]}
            ],
            "clients": [
                {"clientId": "account", "publicClient": true},
                {"clientId": "web", "publicClient": true},
                {"clientId": "masked", "secret": "**********"},
                {"clientId": "rs", "secret": "s", "redirectUris": ["http://rs/cb", "http://rs/*"],
                 "authorizationSettings": {
                    "resources": [{"name": "album", "owner": "alice", "scopes": [{"name": "view"}, {"name": "edit"}]}],
                    "policies": policies
                 }}
            ]
        });
        RealmImport::from_json(&realm.to_string()).unwrap()
    }

    fn user(name: &str, users: &[&str]) -> Value {
        json!({"name": name, "type": "user", "config": {"users": serde_json::to_string(users).unwrap()}})
    }

    fn group(name: &str, path: &str) -> Value {
        json!({"name": name, "type": "group", "config": {"groups": format!("[{{\"path\":\"{path}\"}}]")}})
    }

    fn permission(strategy: &str, applied: &[&str]) -> Value {
        json!({"name": "perm", "type": "scope", "decisionStrategy": strategy,
               "config": {"resources": "[\"album\"]", "scopes": "[\"view\"]",
                          "applyPolicies": serde_json::to_string(applied).unwrap()}})
    }

    #[test]
    fn what_is_left_out_is_named() {
        let import = export(json!([]));
        let left_out = import.not_imported.join("\n");
        for expected in [
            "realm settings: accessTokenLifespan",
            "user carol: a otp credential",
            "client web: a public client",
            "client masked: no secret",
            "client rs: redirect URI patterns [\"http://rs/*\"]",
        ] {
            assert!(left_out.contains(expected), "{expected} in\n{left_out}");
        }
        // Keycloak's built-in clients are no news; an unset setting neither.
        assert!(!left_out.contains("account") && !left_out.contains("registrationAllowed"));
        assert_eq!(import.clients.len(), 1);
        assert_eq!(import.clients[0].redirect_uris, ["http://rs/cb"]);
        assert_eq!(import.users[0].groups, ["doctors"]);
        assert_eq!(import.users[0].roles, ["user"]);
        assert_eq!(import.users[0].password.as_deref(), Some("b"));
        assert_eq!(import.users[1].password, None);
        assert_eq!(import.resources[0].owner, "alice");
    }

    #[test]
    fn unanimous_policies_meet_and_affirmative_ones_each_grant() {
        let import = export(json!([
            user("bob", &["bob", "carol"]),
            user("carol", &["carol"]),
            group("doctors", "/doctors"),
            permission("UNANIMOUS", &["bob", "carol", "doctors"]),
        ]));
        assert_eq!(import.policies.len(), 1);
        let policy = &import.policies[0];
        assert_eq!(policy.users, ["carol"], "only who every user policy names");
        assert_eq!(policy.groups, ["doctors"]);
        assert_eq!(policy.scopes, ["view"]);
        assert_eq!(policy.owner, "alice");

        let import = export(json!([
            user("bob", &["bob"]),
            group("doctors", "/doctors"),
            permission("AFFIRMATIVE", &["bob", "doctors"]),
        ]));
        assert_eq!(import.policies.len(), 2);
        assert_eq!(import.policies[0].users, ["bob"]);
        assert!(import.policies[0].groups.is_empty());
        assert_eq!(import.policies[1].groups, ["doctors"]);
    }

    #[test]
    fn what_cannot_be_said_exactly_is_not_imported() {
        for (policies, why) in [
            (
                json!([
                    group("a", "/a"),
                    group("b", "/b"),
                    permission("UNANIMOUS", &["a", "b"])
                ]),
                "several groups at once",
            ),
            (
                json!([
                    user("bob", &["bob"]),
                    user("carol", &["carol"]),
                    permission("UNANIMOUS", &["bob", "carol"])
                ]),
                "grants nobody",
            ),
            (
                json!([{"name": "js", "type": "js", "config": {}}, permission("UNANIMOUS", &["js"])]),
                "not a POSITIVE user, group or client policy",
            ),
            (
                json!([{"name": "not bob", "type": "user", "logic": "NEGATIVE", "config": {"users": "[\"bob\"]"}},
                       permission("UNANIMOUS", &["not bob"])]),
                "not a POSITIVE user, group or client policy",
            ),
            (
                json!([
                    user("bob", &["bob"]),
                    group("d", "/d"),
                    permission("CONSENSUS", &["bob", "d"])
                ]),
                "decision strategy CONSENSUS",
            ),
        ] {
            let import = export(policies);
            assert!(import.policies.is_empty(), "{why}");
            assert!(
                import.not_imported.iter().any(|line| line.contains(why)),
                "{why}: {:?}",
                import.not_imported
            );
        }
    }

    #[test]
    fn a_broken_export_is_an_error_not_a_guess() {
        assert!(RealmImport::from_json("{").is_err());
        assert!(
            RealmImport::from_json("{\"users\": []}").is_err(),
            "no realm"
        );
        assert!(RealmImport::from_json("[{\"realm\": \"a\"}, {\"realm\": \"b\"}]").is_err());
        assert_eq!(
            RealmImport::from_json("[{\"realm\": \"a\"}]")
                .unwrap()
                .realm,
            "a"
        );
    }
}
