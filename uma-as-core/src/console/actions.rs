//! What the console's forms change: share a resource, revoke a share, approve or deny a
//! request. Each checks the session's CSRF token first and the signed-in owner's ownership
//! next, changes through the same functions as the owner API, and answers `303` to the page
//! to show next.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::resources::{owned_resource, resource_page};
use super::session::{Owner, SignedForm};
use super::{encode, message, no_such, see_other, words};
use crate::error::ApiError;
use crate::request::FormParams;
use crate::secret;
use crate::server::{AppState, paths};
use crate::store::Policy;
use crate::time::now;

/// The longest user or group name a share form takes.
const MAX_NAME: usize = 256;

fn resource_url(state: &AppState, id: &str) -> String {
    format!(
        "{}/resources/{}",
        state.issuer.endpoint(paths::CONSOLE),
        encode(id)
    )
}

fn failed(state: &AppState, error: &ApiError) -> Response {
    message(state, error.status(), "Not changed", error.description())
}

/// The checked boxes among `offered`: a box is a field `scope:{name}`.
fn checked(form: &FormParams, offered: &[String]) -> Vec<String> {
    offered
        .iter()
        .filter(|s| form.get(&format!("scope:{s}")).is_some())
        .cloned()
        .collect()
}

/// `POST {issuer}/console/resources/{id}/share`: a policy that gives a user or a group the
/// checked scopes, until the end of an optional day.
pub(super) async fn share(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { owner, form }: SignedForm,
) -> Response {
    let resource = match owned_resource(&state, &owner, &id).await {
        Ok(Some(resource)) => resource,
        Ok(None) => return no_such(&state, "resource"),
        Err(error) => return failed(&state, &error.into()),
    };
    let offered: Vec<String> = resource
        .description
        .resource_scopes
        .iter()
        .map(|s| s.as_str().to_owned())
        .collect();
    let policy = match share_of(&state, &owner, &form, offered) {
        Ok((users, groups, scopes, not_after)) => Policy {
            id: secret::new_id(),
            resource_id: resource.id.clone(),
            owner: owner.user.clone(),
            name: Some(format!(
                "shared with {}",
                users.first().or(groups.first()).map_or("", String::as_str)
            )),
            scopes,
            users,
            groups,
            not_after,
            created_at: Some(now()),
            ..Policy::default()
        },
        Err(problem) => return resource_page(&state, &owner, &id, Some(problem)).await,
    };
    if let Err(error) = state.store.put_policy(policy).await {
        return failed(&state, &error.into());
    }
    see_other(&resource_url(&state, &resource.id))
}

type Share = (Vec<String>, Vec<String>, Vec<String>, Option<u64>);

/// Whom a share form names, what it gives and until when; or what is wrong with it, in words.
fn share_of(
    state: &AppState,
    owner: &Owner,
    form: &FormParams,
    offered: Vec<String>,
) -> Result<Share, String> {
    let field = |name: &str| form.get(name).map(str::trim).filter(|v| !v.is_empty());
    let (users, groups) = match (field("user"), field("group")) {
        (Some(_), Some(_)) => return Err("Share with a person or with a group, not both.".into()),
        (None, None) => return Err("Say whom to share with: a person or a group.".into()),
        (Some(user), None) if user.len() > MAX_NAME || !state.registry.is_user(user) => {
            return Err("Nobody by that name has an account here.".into());
        }
        (Some(user), None) if user == owner.user => {
            return Err("That is you: your resources are yours already.".into());
        }
        (Some(user), None) => (vec![user.to_owned()], vec![]),
        (None, Some(group)) if group.len() > MAX_NAME || !is_group(state, group) => {
            return Err("There is no group by that name here.".into());
        }
        (None, Some(group)) => (vec![], vec![group.to_owned()]),
    };
    let scopes = checked(form, &offered);
    if scopes.is_empty() {
        return Err("Choose at least one thing they may do.".into());
    }
    let not_after = match field("until") {
        None => None,
        Some(day) => match words::end_of_day(day) {
            Some(end) if end > now() => Some(end),
            Some(_) => return Err("That day is past: choose today or a later day.".into()),
            None => return Err("The end date is not a date.".into()),
        },
    };
    Ok((users, groups, scopes, not_after))
}

fn is_group(state: &AppState, group: &str) -> bool {
    state
        .registry
        .users
        .values()
        .any(|u| u.groups.iter().any(|g| g == group))
}

/// `POST {issuer}/console/shares/{id}/revoke`: the policy goes, and the RPTs it granted stop
/// working.
pub(super) async fn revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { owner, .. }: SignedForm,
) -> Response {
    match crate::policy::revoke(&*state.store, &owner.user, &id).await {
        Ok(policy) => see_other(&resource_url(&state, &policy.resource_id)),
        Err(error) if error.status() == StatusCode::NOT_FOUND => no_such(&state, "share"),
        Err(error) => failed(&state, &error),
    }
}

/// A request answer's failure as a page: `404` for a request that is not the owner's, `409`
/// for one answered already.
fn not_answered(state: &AppState, error: &ApiError) -> Response {
    if error.status() == StatusCode::NOT_FOUND {
        no_such(state, "request")
    } else {
        failed(state, error)
    }
}

fn requests_url(state: &AppState) -> String {
    format!("{}/requests", state.issuer.endpoint(paths::CONSOLE))
}

/// `POST {issuer}/console/requests/{id}/approve`: approves for the checked scopes.
pub(super) async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { owner, form }: SignedForm,
) -> Response {
    let request = match crate::owner::owned(&*state.store, &owner.user, &id).await {
        Ok(request) => request,
        Err(error) => return not_answered(&state, &error),
    };
    let scopes = checked(&form, &request.scopes);
    if scopes.is_empty() && !request.scopes.is_empty() {
        return message(
            &state,
            StatusCode::BAD_REQUEST,
            "Not changed",
            "Choose at least one thing to allow, or deny the request.",
        );
    }
    match crate::owner::approve_request(&*state.store, &owner.user, &id, Some(scopes)).await {
        Ok(_) => see_other(&requests_url(&state)),
        Err(error) => not_answered(&state, &error),
    }
}

/// `POST {issuer}/console/requests/{id}/deny`.
pub(super) async fn deny(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedForm { owner, .. }: SignedForm,
) -> Response {
    match crate::owner::deny_request(&*state.store, &owner.user, &id).await {
        Ok(_) => see_other(&requests_url(&state)),
        Err(error) => not_answered(&state, &error),
    }
}
