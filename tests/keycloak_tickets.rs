//! Keycloak's permission ticket API (`authz/protection/permission/ticket`) in the realm mode:
//! pending owner-approval requests as tickets not granted, one-user shares as granted ones;
//! granting approves, deleting denies or unshares, creating shares; each by whom Keycloak lets.

mod support;

use http::StatusCode;
use reqwest::Method;
use serde_json::{Value, json};
use support::{RS_ID, World};
use uma_client::ResourceDescription;

const TICKETS: &str = "/authz/protection/permission/ticket";

async fn call(
    world: &World,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, world.url(path))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `user` asks for `scope` of `resource` through Keycloak's ticketless grant; the status.
async fn ask(world: &World, user: &str, permission: &str, submit: bool) -> StatusCode {
    let token = world.token(user).await;
    let submit = if submit { "true" } else { "false" };
    reqwest::Client::new()
        .post(world.url("/protocol/openid-connect/token"))
        .bearer_auth(token.as_str())
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("audience", RS_ID),
            ("permission", permission),
            ("response_mode", "decision"),
            ("submit_request", submit),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn tickets_show_requests_and_shares_and_answer_them() {
    let world = World::start_with(|b| b.keycloak_realm("photoz")).await;
    let diary = world
        .protection
        .create_resource(
            &ResourceDescription::new(["read"])
                .name("diary")
                .owner("alice")
                .owner_managed_access(true),
        )
        .await
        .unwrap();
    let pat = world.protection.pat().await.unwrap().into_string();
    let alice = world
        .authorization_server
        .access_token("alice", RS_ID)
        .await
        .unwrap()
        .into_string();
    let bob = world
        .authorization_server
        .access_token("bob", RS_ID)
        .await
        .unwrap()
        .into_string();
    let carol = world
        .authorization_server
        .access_token("carol", RS_ID)
        .await
        .unwrap()
        .into_string();

    // Bob asks; alice is asked: a ticket not granted, seen by the resource server and alice.
    assert_eq!(
        ask(&world, "bob", "diary#read", true).await,
        StatusCode::FORBIDDEN
    );
    for token in [&pat, &alice] {
        let (status, tickets) = call(&world, Method::GET, TICKETS, token, None).await;
        assert_eq!(status, StatusCode::OK, "{tickets}");
        assert_eq!(tickets.as_array().unwrap().len(), 1, "{tickets}");
        let ticket = &tickets[0];
        assert_eq!(
            (ticket["resource"].as_str(), ticket["scopeName"].as_str()),
            (Some(diary.as_str()), Some("read"))
        );
        assert_eq!(
            (ticket["requester"].as_str(), ticket["owner"].as_str()),
            (Some("bob"), Some("alice"))
        );
        assert_eq!(ticket["granted"], false);
    }
    let (_, filtered) = call(
        &world,
        Method::GET,
        &format!("{TICKETS}?granted=true"),
        &pat,
        None,
    )
    .await;
    assert_eq!(filtered, json!([]));
    let (_, filtered) = call(
        &world,
        Method::GET,
        &format!("{TICKETS}?requester=carol"),
        &pat,
        None,
    )
    .await;
    assert_eq!(filtered, json!([]));
    let (_, count) = call(
        &world,
        Method::GET,
        &format!("{TICKETS}/count?requester=bob"),
        &pat,
        None,
    )
    .await;
    assert_eq!(count, 1);
    let (_, seen_by_carol) = call(&world, Method::GET, TICKETS, &carol, None).await;
    assert_eq!(seen_by_carol, json!([]), "not hers");
    let (_, tickets) = call(&world, Method::GET, TICKETS, &alice, None).await;
    let pending_id = tickets[0]["id"].as_str().unwrap().to_owned();

    // Carol may not grant it; alice grants it: bob reads.
    let grant = json!({"id": pending_id, "granted": true});
    let (status, body) = call(&world, Method::PUT, TICKETS, &carol, Some(grant.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "not_authorised");
    let (status, _) = call(&world, Method::PUT, TICKETS, &alice, Some(grant)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        ask(&world, "bob", "diary#read", false).await,
        StatusCode::OK
    );
    let (_, tickets) = call(&world, Method::GET, TICKETS, &bob, None).await;
    assert_eq!(
        tickets.as_array().unwrap().len(),
        1,
        "bob sees what was granted to him: {tickets}"
    );
    assert_eq!(tickets[0]["granted"], true);
    let granted_id = tickets[0]["id"].as_str().unwrap().to_owned();

    // Bob gives it up himself.
    let (status, _) = call(
        &world,
        Method::DELETE,
        &format!("{TICKETS}/{granted_id}"),
        &bob,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        ask(&world, "bob", "diary#read", false).await,
        StatusCode::FORBIDDEN
    );

    // Alice shares with carol directly; twice is refused; then she takes it back.
    let share =
        json!({"resource": diary, "requesterName": "carol", "scopeName": "read", "granted": true});
    let (status, created) = call(&world, Method::POST, TICKETS, &alice, Some(share.clone())).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["granted"], true);
    assert_eq!(
        ask(&world, "carol", "diary#read", false).await,
        StatusCode::OK
    );
    let (status, body) = call(&world, Method::POST, TICKETS, &alice, Some(share.clone())).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_permission"))
    );
    let ungrant = json!({"id": created["id"], "granted": false});
    let (status, _) = call(&world, Method::PUT, TICKETS, &alice, Some(ungrant)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        ask(&world, "carol", "diary#read", false).await,
        StatusCode::FORBIDDEN
    );

    // A pending request deleted by the resource server is denied.
    assert_eq!(
        ask(&world, "carol", "diary#read", true).await,
        StatusCode::FORBIDDEN
    );
    let (_, tickets) = call(
        &world,
        Method::GET,
        &format!("{TICKETS}?granted=false"),
        &pat,
        None,
    )
    .await;
    let id = tickets[0]["id"].as_str().unwrap().to_owned();
    let (status, _) = call(
        &world,
        Method::DELETE,
        &format!("{TICKETS}/{id}"),
        &pat,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, tickets) = call(&world, Method::GET, TICKETS, &pat, None).await;
    assert_eq!(tickets, json!([]));

    // Creating: only the owner, only granted, only on owner-managed resources, only for users.
    for (token, body, status, error) in [
        (&pat, share.clone(), StatusCode::FORBIDDEN, "not_authorised"),
        (&bob, share.clone(), StatusCode::FORBIDDEN, "not_authorised"),
        (
            &alice,
            json!({"resource": diary, "requesterName": "carol", "scopeName": "read"}),
            StatusCode::BAD_REQUEST,
            "invalid_permission",
        ),
        (
            &alice,
            json!({"resource": world.resource_id, "requesterName": "carol", "scopeName": "view", "granted": true}),
            StatusCode::BAD_REQUEST,
            "invalid_permission",
        ),
        (
            &alice,
            json!({"resource": diary, "requesterName": "zed", "scopeName": "read", "granted": true}),
            StatusCode::BAD_REQUEST,
            "invalid_permission",
        ),
        (
            &alice,
            json!({"resource": diary, "requesterName": "carol", "scopeName": "write", "granted": true}),
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
        (
            &alice,
            json!({"resource": "nothing", "requesterName": "carol", "scopeName": "read", "granted": true}),
            StatusCode::BAD_REQUEST,
            "invalid_resource_id",
        ),
        (
            &alice,
            json!({"id": "mine", "resource": diary, "requesterName": "carol", "scopeName": "read", "granted": true}),
            StatusCode::BAD_REQUEST,
            "invalid_permission",
        ),
    ] {
        let (got, answer) = call(&world, Method::POST, TICKETS, token, Some(body.clone())).await;
        assert_eq!(
            (got, answer["error"].as_str()),
            (status, Some(error)),
            "{body}: {answer}"
        );
    }
    // Ids that name nothing.
    for id in ["nothing", "q:nothing:read", "p:nothing:read", "x:a:b"] {
        let (status, body) = call(
            &world,
            Method::DELETE,
            &format!("{TICKETS}/{id}"),
            &pat,
            None,
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_request")),
            "{id}"
        );
    }
}
