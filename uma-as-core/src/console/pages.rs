//! The console's pages: My resources (and one resource, with its share form), Requests,
//! Activity, Shared with me. Each reads one page of what it shows, its limit in the store's
//! query (TM-31).

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::session::Owner;
use super::words::{self, Known};
use super::{Frame, LINES_PER_PAGE, REQUESTS_SHOWN, RESOURCES_PER_PAGE, encode, html, message};
use crate::server::{AppState, paths};
use crate::store::{DecisionCursor, Policy, RequestStatus, Resource, StoreError};
use crate::time::now;

impl Frame {
    fn new(state: &AppState, owner: &Owner, section: &'static str) -> Self {
        Self {
            base: state.endpoint(paths::CONSOLE),
            user: owner.user.clone(),
            csrf: owner.csrf.clone(),
            section,
        }
    }
}

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

fn bad_query(state: &AppState, rejection: &QueryRejection) -> Response {
    message(
        state,
        StatusCode::BAD_REQUEST,
        "Not found",
        &format!("This address is not one of the console's: {rejection}"),
    )
}

fn unavailable(state: &AppState, error: &StoreError) -> Response {
    tracing::error!(%error, "a console page could not read the store");
    message(
        state,
        StatusCode::SERVICE_UNAVAILABLE,
        "Not available",
        "The server cannot reach its storage. Please try again in a minute.",
    )
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

pub(super) fn no_such(state: &AppState, what: &str) -> Response {
    message(
        state,
        StatusCode::NOT_FOUND,
        "Not found",
        &format!("You have no such {what}."),
    )
}

/// `GET {issuer}/console/resources/{id}`: one resource, its shares, and the share form.
pub(super) async fn resource(
    State(state): State<AppState>,
    owner: Owner,
    Path(id): Path<String>,
) -> Response {
    resource_page(&state, &owner, &id, None).await
}

/// A request put to the owner.
#[derive(Debug)]
struct RequestView {
    id: String,
    resource: String,
    by: String,
    scopes: Vec<String>,
    since: String,
}

#[derive(Template)]
#[template(path = "console/requests.html")]
struct RequestsPage {
    frame: Frame,
    requests: Vec<RequestView>,
}

/// `GET {issuer}/console/requests`: pending requests, oldest first, to approve or deny.
pub(super) async fn requests(State(state): State<AppState>, owner: Owner) -> Response {
    let pending: Vec<_> = match state.store.requests_of(&owner.user).await {
        Ok(all) => all
            .into_iter()
            .filter(|r| r.status == RequestStatus::Pending)
            .take(REQUESTS_SHOWN)
            .collect(),
        Err(error) => return unavailable(&state, &error),
    };
    let mut names = Names::default();
    let mut requests = Vec::with_capacity(pending.len());
    for r in pending {
        let resource = match names.resource(&state, &r.resource_id).await {
            Ok(name) => name,
            Err(error) => return unavailable(&state, &error),
        };
        requests.push(RequestView {
            by: crate::owner::requested_by(&state, &r),
            id: r.id,
            resource,
            scopes: r.scopes,
            since: words::moment(r.created_at),
        });
    }
    let page = RequestsPage {
        frame: Frame::new(&state, &owner, "requests"),
        requests,
    };
    html(StatusCode::OK, &page)
}

/// Resource names, each read once per page.
#[derive(Default)]
struct Names(HashMap<String, String>);

impl Names {
    async fn resource(&mut self, state: &AppState, id: &str) -> Result<String, StoreError> {
        if let Some(name) = self.0.get(id) {
            return Ok(name.clone());
        }
        let name = state
            .store
            .resource(id)
            .await?
            .and_then(|r| r.description.name)
            .unwrap_or_else(|| id.to_owned());
        self.0.insert(id.to_owned(), name.clone());
        Ok(name)
    }
}

/// A decision, as a line of Activity.
#[derive(Debug)]
struct Line {
    at: String,
    words: String,
    granted: bool,
}

#[derive(Template)]
#[template(path = "console/activity.html")]
struct ActivityPage {
    frame: Frame,
    lines: Vec<Line>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ActivityQuery {
    at: Option<u64>,
    skip: Option<u64>,
}

/// `GET {issuer}/console/activity`: the decisions about the owner's resources, newest first,
/// each with its reason.
pub(super) async fn activity(
    State(state): State<AppState>,
    owner: Owner,
    query: Result<Query<ActivityQuery>, QueryRejection>,
) -> Response {
    let Query(query) = match query {
        Ok(query) => query,
        Err(rejection) => return bad_query(&state, &rejection),
    };
    let from = query.at.map(|at| DecisionCursor {
        at,
        skip: query.skip.unwrap_or(0),
    });
    match activity_page(&state, &owner, from).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(error) => unavailable(&state, &error),
    }
}

async fn activity_page(
    state: &AppState,
    owner: &Owner,
    from: Option<DecisionCursor>,
) -> Result<ActivityPage, StoreError> {
    let mut decisions = state
        .store
        .decisions_of(&owner.user, None, from, LINES_PER_PAGE + 1)
        .await?;
    let more = decisions.len() > LINES_PER_PAGE;
    decisions.truncate(LINES_PER_PAGE);
    let next = DecisionCursor::next(from, &decisions)
        .filter(|_| more)
        .map(|c| format!("?at={}&skip={}", c.at, c.skip));
    let mut known = Known::default();
    for d in &decisions {
        for p in &d.requested {
            if !known.resources.contains_key(&p.resource_id) {
                if let Some(r) = state.store.resource(&p.resource_id).await? {
                    known.resources.insert(r.id.clone(), r);
                }
            }
        }
        for id in &d.policies {
            if !known.policies.contains_key(id) {
                if let Some(p) = state
                    .store
                    .policy(id)
                    .await?
                    .filter(|p| p.owner == owner.user)
                {
                    known.policies.insert(p.id.clone(), p);
                }
            }
        }
    }
    let lines = decisions
        .iter()
        .map(|d| Line {
            at: words::moment(d.at),
            words: known.decision(d),
            granted: d.outcome == "granted",
        })
        .collect();
    Ok(ActivityPage {
        frame: Frame::new(state, owner, "activity"),
        lines,
        next,
    })
}

/// A resource another owner shares with the signed-in user.
#[derive(Debug)]
struct SharedView {
    owner: String,
    resource: String,
    server: String,
    words: String,
}

#[derive(Template)]
#[template(path = "console/shared.html")]
struct SharedPage {
    frame: Frame,
    shares: Vec<SharedView>,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct SharedQuery {
    after: Option<String>,
}

/// `GET {issuer}/console/shared`: what other owners share with the signed-in user, by name or
/// through a group.
pub(super) async fn shared(
    State(state): State<AppState>,
    owner: Owner,
    query: Result<Query<SharedQuery>, QueryRejection>,
) -> Response {
    let Query(query) = match query {
        Ok(query) => query,
        Err(rejection) => return bad_query(&state, &rejection),
    };
    match shared_page(&state, &owner, query.after.as_deref()).await {
        Ok(page) => html(StatusCode::OK, &page),
        Err(error) => unavailable(&state, &error),
    }
}

async fn shared_page(
    state: &AppState,
    owner: &Owner,
    after: Option<&str>,
) -> Result<SharedPage, StoreError> {
    let groups = state
        .users
        .get(&owner.user)
        .map(|u| u.groups.clone())
        .unwrap_or_default();
    let mut policies = state
        .store
        .policies_naming(&owner.user, &groups, after, LINES_PER_PAGE + 1)
        .await?;
    let next = (policies.len() > LINES_PER_PAGE).then(|| {
        policies.truncate(LINES_PER_PAGE);
        format!("?after={}", encode(&policies[LINES_PER_PAGE - 1].id))
    });
    let mut shares = Vec::with_capacity(policies.len());
    for policy in policies {
        let Some(resource) = state.store.resource(&policy.resource_id).await? else {
            continue;
        };
        shares.push(SharedView {
            owner: resource.owner.clone(),
            server: resource.resource_server.clone(),
            resource: resource
                .description
                .name
                .clone()
                .unwrap_or_else(|| resource.id.clone()),
            words: words::shared_with(&policy, &owner.user),
        });
    }
    Ok(SharedPage {
        frame: Frame::new(state, owner, "shared"),
        shares,
        next,
    })
}
