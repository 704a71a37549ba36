//! My resources, and one resource with its share form: each resource with who may do what,
//! in words, one page of resources at a time (the limit in the store's query, TM-31).

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::session::Owner;
use super::words;
use super::{Frame, RESOURCES_PER_PAGE, bad_query, encode, html, no_such, unavailable};
use crate::server::AppState;
use crate::store::{Policy, Resource, StoreError};
use crate::time::now;

/// A share on one of the owner's resources.
#[derive(Debug)]
pub(super) struct ShareView {
    id: String,
    words: String,
}

/// One of the owner's resources, and its shares.
#[derive(Debug)]
pub(super) struct ResourceView {
    id: String,
    name: String,
    kind: Option<String>,
    /// Shown only from https, the only images the pages' CSP admits.
    icon: Option<String>,
    scopes: Vec<String>,
    shares: Vec<ShareView>,
}

impl ResourceView {
    fn new(resource: Resource, mut policies: Vec<Policy>) -> Self {
        policies.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        let d = resource.description;
        Self {
            name: d.name.unwrap_or_else(|| resource.id.clone()),
            id: resource.id,
            kind: d.resource_type,
            icon: d.icon_uri.filter(|uri| uri.starts_with("https://")),
            scopes: d
                .resource_scopes
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            shares: policies
                .iter()
                .map(|p| ShareView {
                    id: p.id.clone(),
                    words: words::share(p),
                })
                .collect(),
        }
    }
}

/// The resources of one resource server.
#[derive(Debug)]
pub(super) struct Group {
    server: String,
    resources: Vec<ResourceView>,
}

#[derive(Template)]
#[template(path = "console/resources.html")]
struct ResourcesPage {
    frame: Frame,
    groups: Vec<Group>,
    /// The query of the next page, if there is one.
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ResourcesQuery {
    after_server: Option<String>,
    after: Option<String>,
}

/// `GET {issuer}/console`: My resources, grouped by resource server, with who may do what.
pub(super) async fn resources(
    State(state): State<AppState>,
    owner: Owner,
    query: Result<Query<ResourcesQuery>, QueryRejection>,
) -> Response {
    let Query(query) = match query {
        Ok(query) => query,
        Err(rejection) => return bad_query(&state, &rejection),
    };
    let after = query.after_server.as_deref().zip(query.after.as_deref());
    match resources_page(&state, &owner, after).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(error) => unavailable(&state, &error),
    }
}

async fn resources_page(
    state: &AppState,
    owner: &Owner,
    after: Option<(&str, &str)>,
) -> Result<ResourcesPage, StoreError> {
    let mut resources = state
        .store
        .resources_of(&owner.user, after, RESOURCES_PER_PAGE + 1)
        .await?;
    let next = (resources.len() > RESOURCES_PER_PAGE).then(|| {
        resources.truncate(RESOURCES_PER_PAGE);
        let last = &resources[RESOURCES_PER_PAGE - 1];
        format!(
            "?after_server={}&after={}",
            encode(&last.resource_server),
            encode(&last.id)
        )
    });
    let mut groups: Vec<Group> = Vec::new();
    for resource in resources {
        let policies = state.store.policies_for(&resource.id).await?;
        let server = resource.resource_server.clone();
        let view = ResourceView::new(resource, policies);
        match groups.last_mut() {
            Some(group) if group.server == server => group.resources.push(view),
            _ => groups.push(Group {
                server,
                resources: vec![view],
            }),
        }
    }
    Ok(ResourcesPage {
        frame: Frame::new(state, owner, "resources"),
        groups,
        next,
    })
}

#[derive(Template)]
#[template(path = "console/resource.html")]
pub(super) struct ResourcePage {
    frame: Frame,
    resource: ResourceView,
    server: String,
    /// What was wrong with the last share form.
    problem: Option<String>,
    /// The earliest end date the share form takes (today), as `YYYY-MM-DD`.
    today: String,
}

/// The owner's resource `id`, or `None` (another owner's resource looks the same as none).
pub(super) async fn owned_resource(
    state: &AppState,
    owner: &Owner,
    id: &str,
) -> Result<Option<Resource>, StoreError> {
    Ok(state
        .store
        .resource(id)
        .await?
        .filter(|r| r.owner == owner.user))
}

/// The page of one resource, with a problem to show above its share form.
pub(super) async fn resource_page(
    state: &AppState,
    owner: &Owner,
    id: &str,
    problem: Option<String>,
) -> Response {
    let status = if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let resource = match owned_resource(state, owner, id).await {
        Ok(Some(resource)) => resource,
        Ok(None) => return no_such(state, "resource"),
        Err(error) => return unavailable(state, &error),
    };
    let policies = match state.store.policies_for(&resource.id).await {
        Ok(policies) => policies,
        Err(error) => return unavailable(state, &error),
    };
    let server = resource.resource_server.clone();
    let page = ResourcePage {
        frame: Frame::new(state, owner, "resources"),
        resource: ResourceView::new(resource, policies),
        server,
        problem,
        today: words::date_input(now()),
    };
    html(status, &page)
}

/// `GET {issuer}/console/resources/{id}`: one resource, its shares, and the share form.
pub(super) async fn resource(
    State(state): State<AppState>,
    owner: Owner,
    Path(id): Path<String>,
) -> Response {
    resource_page(&state, &owner, &id, None).await
}
