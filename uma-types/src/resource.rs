//! Resource descriptions (FedAuthz §3.1) and the resource registration messages (FedAuthz §3.2).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A scope of a resource: a plain string or a URI (FedAuthz §3.1).
///
/// Serialized as a string, as the spec spells it; deserialized from a string or from Keycloak's
/// `{"name": "view", ...}` object.
///
/// ```
/// let scopes: Vec<uma_types::ResourceScope> =
///     serde_json::from_str(r#"["view", {"id": "s2", "name": "edit"}]"#).unwrap();
/// assert_eq!(scopes, ["view", "edit"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ResourceScope(String);

impl ResourceScope {
    /// A scope named `name`.
    ///
    /// ```
    /// let scope = uma_types::ResourceScope::new("http://photoz.example.com/dev/scopes/print");
    /// assert_eq!(scope.to_string(), "http://photoz.example.com/dev/scopes/print");
    /// ```
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The scope's identifier.
    ///
    /// ```
    /// assert_eq!(uma_types::ResourceScope::from("view").as_str(), "view");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ResourceScope {
    fn from(name: &str) -> Self {
        Self(name.to_owned())
    }
}

impl From<String> for ResourceScope {
    fn from(name: String) -> Self {
        Self(name)
    }
}

impl PartialEq<str> for ResourceScope {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ResourceScope {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl<'de> Deserialize<'de> for ResourceScope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(NameOrObject("a scope name or an object with `name`"))
            .map(ResourceScope)
    }
}

/// Reads a string, or an object's `name` member (falling back to `id`): how Keycloak writes scopes
/// and resource owners.
struct NameOrObject(&'static str);

impl<'de> Visitor<'de> for NameOrObject {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        let (mut name, mut id) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "name" => name = Some(map.next_value::<String>()?),
                "id" => id = Some(map.next_value::<String>()?),
                _ => {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
        }
        name.or(id).ok_or_else(|| de::Error::missing_field("name"))
    }
}

fn owner_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Option::<OwnerName>::deserialize(deserializer).map(|owner| owner.map(|o| o.0))
}

struct OwnerName(String);

impl<'de> Deserialize<'de> for OwnerName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(NameOrObject("an owner name or an object with `name`"))
            .map(OwnerName)
    }
}

/// A resource description (FedAuthz §3.1): what a resource server registers.
///
/// ```
/// use uma_types::ResourceDescription;
///
/// let album = ResourceDescription::new(["view", "edit"]).name("Alice's album");
/// assert_eq!(
///     serde_json::to_value(&album).unwrap(),
///     serde_json::json!({"resource_scopes": ["view", "edit"], "name": "Alice's album"})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDescription {
    /// The scopes available on the resource. Required.
    pub resource_scopes: Vec<ResourceScope>,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A URI for an icon representing the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon_uri: Option<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A string identifying the semantics of the resource.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Keycloak's extension: the resource owner's username, so that a resource server holding its
    /// own PAT can register a resource for a user. Read from a string or `{"name": …}`.
    #[serde(
        default,
        deserialize_with = "owner_name",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner: Option<String>,
    /// Keycloak's extension: when `true`, a request that no policy grants is put to the owner
    /// (`request_submitted`) instead of being denied.
    #[serde(
        rename = "ownerManagedAccess",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_managed_access: Option<bool>,
    /// Keycloak's extension: the paths at the resource server where the resource lives (a
    /// trailing `/*` or a `{…}` segment makes one a pattern), which enforcers map requests by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
    /// Keycloak's extension: the resource server's own attributes, each a list of values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Vec<String>>,
}

impl ResourceDescription {
    /// A description with these scopes and nothing else.
    ///
    /// ```
    /// let description = uma_types::ResourceDescription::new(["view", "edit"]);
    /// assert_eq!(description.resource_scopes.len(), 2);
    /// ```
    pub fn new<S: Into<ResourceScope>>(scopes: impl IntoIterator<Item = S>) -> Self {
        Self {
            resource_scopes: scopes.into_iter().map(Into::into).collect(),
            description: None,
            icon_uri: None,
            name: None,
            resource_type: None,
            owner: None,
            owner_managed_access: None,
            uris: Vec::new(),
            attributes: BTreeMap::new(),
        }
    }

    /// Sets the paths where the resource lives (Keycloak's `uris`).
    ///
    /// ```
    /// let description = uma_types::ResourceDescription::new(["view"]).uris(["/albums/holiday"]);
    /// assert_eq!(serde_json::to_value(&description).unwrap()["uris"][0], "/albums/holiday");
    /// ```
    pub fn uris<S: Into<String>>(mut self, uris: impl IntoIterator<Item = S>) -> Self {
        self.uris = uris.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the human-readable name.
    ///
    /// ```
    /// let description = uma_types::ResourceDescription::new(["view"]).name("Photo Album");
    /// assert_eq!(description.name.as_deref(), Some("Photo Album"));
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the resource type.
    ///
    /// ```
    /// let description = uma_types::ResourceDescription::new(["view"])
    ///     .resource_type("http://www.example.com/rsrcs/photoalbum");
    /// assert!(serde_json::to_value(&description).unwrap().get("type").is_some());
    /// ```
    pub fn resource_type(mut self, resource_type: impl Into<String>) -> Self {
        self.resource_type = Some(resource_type.into());
        self
    }

    /// Sets the human-readable description.
    ///
    /// ```
    /// let description = uma_types::ResourceDescription::new(["view"])
    ///     .description("Collection of digital photographs");
    /// assert!(description.description.is_some());
    /// ```
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Asks the owner about requests no policy grants (Keycloak's `ownerManagedAccess`).
    ///
    /// ```
    /// let description = uma_types::ResourceDescription::new(["view"]).owner_managed_access(true);
    /// assert_eq!(serde_json::to_value(&description).unwrap()["ownerManagedAccess"], true);
    /// ```
    pub fn owner_managed_access(mut self, ask: bool) -> Self {
        self.owner_managed_access = Some(ask);
        self
    }

    /// Registers the resource for this owner (Keycloak's `owner` field).
    ///
    /// ```
    /// let description = uma_types::ResourceDescription::new(["view"]).owner("alice");
    /// assert_eq!(serde_json::to_value(&description).unwrap()["owner"], "alice");
    /// ```
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }
}

/// A registered resource as read back (FedAuthz §3.2.2): its description plus `_id`.
///
/// ```
/// let read: uma_types::RegisteredResource =
///     serde_json::from_str(r#"{"_id":"KX3A-39WE","resource_scopes":["view"],"name":"Album"}"#).unwrap();
/// assert_eq!(read.id, "KX3A-39WE");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredResource {
    /// The identifier the authorization server assigned.
    #[serde(rename = "_id")]
    pub id: String,
    /// Everything that was registered.
    #[serde(flatten)]
    pub description: ResourceDescription,
}

/// The body of a successful create or update (FedAuthz §3.2.1, §3.2.3).
///
/// ```
/// let created: uma_types::ResourceRegistration = serde_json::from_str(r#"{"_id":"KX3A-39WE"}"#).unwrap();
/// assert_eq!(created.id, "KX3A-39WE");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRegistration {
    /// The identifier the authorization server assigned.
    #[serde(rename = "_id")]
    pub id: String,
    /// Where the resource owner can set policies for this resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_access_policy_uri: Option<String>,
}
