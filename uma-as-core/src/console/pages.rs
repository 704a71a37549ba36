//! Requests, Activity and Shared with me: each reads one page of what it shows, its limit in
//! the store's query (TM-31).

use std::collections::HashMap;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::session::Owner;
use super::words::{self, Known};
use super::{Frame, LINES_PER_PAGE, REQUESTS_SHOWN, bad_query, encode, html, unavailable};
use crate::server::AppState;
use crate::store::{DecisionCursor, RequestStatus, StoreError};

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
            by: crate::owner::requested_by(&state.registry, &r),
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
        .registry
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
