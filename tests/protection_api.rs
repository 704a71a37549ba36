//! The authorization server's endpoints on the wire: status codes, headers and bodies as the
//! specs fix them, and clear errors for bad input.

mod support;

use http::StatusCode;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use support::{CLIENT_ID, CLIENT_SECRET, OTHER_RS_ID, OTHER_RS_SECRET, RS_ID, RS_SECRET, World};
use uma_client::{ClientCredentials, ProtectionClient, UMA_TICKET_GRANT_TYPE};

fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn pat(world: &World) -> String {
    world.protection.pat().await.unwrap().into_string()
}

async fn other_rs_pat(world: &World) -> String {
    ProtectionClient::builder(&world.issuer)
        .credentials(ClientCredentials::new(OTHER_RS_ID, OTHER_RS_SECRET))
        .build()
        .unwrap()
        .pat()
        .await
        .unwrap()
        .into_string()
}

async fn json_of(response: reqwest::Response) -> Value {
    assert!(
        response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{:?}",
        response.headers()
    );
    response.json().await.unwrap()
}

#[tokio::test]
async fn discovery_publishes_absolute_endpoints_and_no_empty_arrays() {
    let world = World::start().await;
    for path in [
        "/.well-known/uma2-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let response = reqwest::get(world.url(path)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let document = json_of(response).await;
        assert_eq!(
            document,
            json!({
                "issuer": world.issuer,
                "token_endpoint": world.url("/token"),
                "introspection_endpoint": world.url("/introspect"),
                "resource_registration_endpoint": world.url("/resource_set"),
                "permission_endpoint": world.url("/permission"),
                "jwks_uri": world.url("/jwks"),
                "authorization_endpoint": world.url("/authorize"),
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
                "claims_interaction_endpoint": world.url("/claims"),
                "revocation_endpoint": world.url("/revoke"),
                "policy_endpoint": world.url("/policy"),
                "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token", UMA_TICKET_GRANT_TYPE],
                "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                "scopes_supported": ["uma_protection", "openid", "profile", "email"],
            })
        );
    }
}

#[tokio::test]
async fn permission_endpoint_answers_201_with_one_ticket() {
    let world = World::start().await;
    let pat = pat(&world).await;
    let id = &world.resource_id;
    for body in [
        json!({"resource_id": id, "resource_scopes": ["view"]}),
        json!([{"resource_id": id, "resource_scopes": ["view"]}, {"resource_id": id, "resource_scopes": ["edit"]}]),
        // Zero scopes are allowed (FedAuthz §4).
        json!({"resource_id": id, "resource_scopes": []}),
    ] {
        let response = http()
            .post(world.url("/permission"))
            .bearer_auth(&pat)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        let ticket = json_of(response).await;
        let members: Vec<&String> = ticket.as_object().unwrap().keys().collect();
        assert_eq!(members, ["ticket"]);
        assert_eq!(ticket["ticket"].as_str().unwrap().len(), 51);
    }
}

#[tokio::test]
async fn permission_endpoint_errors() {
    let world = World::start().await;
    let pat = pat(&world).await;
    let id = world.resource_id.clone();
    let other_pat = other_rs_pat(&world).await;
    let cases = [
        (
            &pat,
            json!({"resource_id": "nope", "resource_scopes": ["view"]}),
            "invalid_resource_id",
        ),
        (
            &pat,
            json!({"resource_id": id, "resource_scopes": ["print"]}),
            "invalid_scope",
        ),
        (
            &pat,
            json!([{"resource_id": id, "resource_scopes": ["view"]}, {"resource_id": "nope", "resource_scopes": []}]),
            "invalid_resource_id",
        ),
        (&pat, json!([]), "invalid_request"),
        (&pat, json!({"resource_id": id}), "invalid_request"),
        (
            &pat,
            json!({"resource_id": 7, "resource_scopes": ["view"]}),
            "invalid_request",
        ),
        (
            &pat,
            json!({"resource_id": id, "resource_scopes": "view"}),
            "invalid_request",
        ),
        (&pat, json!("a string"), "invalid_request"),
        // Another resource server's resource does not exist for this PAT.
        (
            &other_pat,
            json!({"resource_id": id, "resource_scopes": ["view"]}),
            "invalid_resource_id",
        ),
    ];
    for (pat, body, code) in cases {
        let response = http()
            .post(world.url("/permission"))
            .bearer_auth(pat)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(json_of(response).await["error"], code, "{body}");
    }
}

#[tokio::test]
async fn resource_registration_lifecycle() {
    let world = World::start().await;
    let pat = pat(&world).await;
    let collection = world.url("/resource_set");

    // Create: 201, Location, {"_id"}; scopes accepted as strings or Keycloak objects.
    let created = http()
        .post(&collection)
        .bearer_auth(&pat)
        .json(&json!({"resource_scopes": ["read", {"name": "write"}], "name": "Doc", "owner": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()[LOCATION].to_str().unwrap().to_owned();
    let id = json_of(created).await["_id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("{collection}/{id}"));

    // Read: 200 with the description and _id.
    let read = http()
        .get(&location)
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(
        json_of(read).await,
        json!({"_id": id, "resource_scopes": ["read", "write"], "name": "Doc", "owner": "alice"})
    );

    // Update is a full replacement: 200 {"_id"}; the name is gone afterwards.
    let updated = http()
        .put(&location)
        .bearer_auth(&pat)
        .json(&json!({"resource_scopes": ["read"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), StatusCode::OK);
    assert_eq!(json_of(updated).await, json!({"_id": id}));
    let read = http()
        .get(&location)
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(read).await,
        json!({"_id": id, "resource_scopes": ["read"], "owner": "alice"})
    );

    // List: a bare array of ids, both slash forms.
    for url in [collection.clone(), format!("{collection}/")] {
        let list = http().get(&url).bearer_auth(&pat).send().await.unwrap();
        assert_eq!(list.status(), StatusCode::OK);
        let mut ids: Vec<String> = serde_json::from_value(json_of(list).await).unwrap();
        ids.sort();
        let mut expected = vec![id.clone(), world.resource_id.clone()];
        expected.sort();
        assert_eq!(ids, expected);
    }

    // Another resource server sees nothing of it.
    let other = other_rs_pat(&world).await;
    for request in [
        http().get(&location),
        http().put(&location).json(&json!({"resource_scopes": []})),
        http().delete(&location),
    ] {
        let response = request.bearer_auth(&other).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(json_of(response).await["error"], "not_found");
    }
    let list = http()
        .get(&collection)
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(list).await, json!([]));

    // Delete: 204, then 404.
    let deleted = http()
        .delete(&location)
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = http()
        .get(&location)
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn resource_registration_rejects_bad_input() {
    let world = World::start().await;
    let pat = pat(&world).await;
    let collection = world.url("/resource_set");
    let cases: [(reqwest::RequestBuilder, StatusCode); 7] = [
        (
            http().post(&collection).json(&json!({"name": "no scopes"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            http()
                .post(&collection)
                .json(&json!({"resource_scopes": "view"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            http()
                .post(&collection)
                .json(&json!({"resource_scopes": [""]})),
            StatusCode::BAD_REQUEST,
        ),
        (
            http()
                .post(&collection)
                .json(&json!({"resource_scopes": [], "owner": "mallory"})),
            StatusCode::BAD_REQUEST,
        ),
        (
            http()
                .post(&collection)
                .header(CONTENT_TYPE, "application/json")
                .body("{not json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            http()
                .post(&collection)
                .header(CONTENT_TYPE, "text/plain")
                .body("{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            http()
                .post(&collection)
                .header(CONTENT_TYPE, "application/json")
                .body(format!(
                    "{{\"resource_scopes\": [], \"name\": \"{}\"}}",
                    "x".repeat(100_000)
                )),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (request, status) in cases {
        let response = request.bearer_auth(&pat).send().await.unwrap();
        assert_eq!(response.status(), status);
        assert_eq!(json_of(response).await["error"], "invalid_request");
    }
    // Nothing was stored.
    let list = http()
        .get(&collection)
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(json_of(list).await, json!([world.resource_id]));

    // An unsupported method: 405 with Allow.
    let patch = http()
        .patch(format!("{collection}/{}", world.resource_id))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), StatusCode::METHOD_NOT_ALLOWED);
    // axum's method routing names what the path takes (HEAD comes with GET).
    assert_eq!(patch.headers()[ALLOW], "GET,HEAD,PUT,DELETE");
    assert_eq!(json_of(patch).await["error"], "unsupported_method_type");
}

#[tokio::test]
async fn protection_api_needs_a_pat() {
    let world = World::start().await;
    let user_token = world.token("alice").await;
    let endpoints = [
        http().get(world.url("/resource_set")),
        http().post(world.url("/permission")).json(&json!({})),
        http()
            .post(world.url("/introspect"))
            .form(&[("token", "x")]),
    ];
    for request in endpoints {
        let request = request.build().unwrap();
        // No token: 401 and a bare Bearer challenge (RFC 6750 §3).
        let mut bare = request.try_clone().unwrap();
        bare.headers_mut().remove("authorization");
        let response = http().execute(bare).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Bearer realm="uma""#
        );

        // An unknown token: 401 invalid_token.
        let mut bad = request.try_clone().unwrap();
        bad.headers_mut()
            .insert("authorization", "Bearer not-a-token".parse().unwrap());
        let response = http().execute(bad).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(
            response.headers()[WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains(r#"error="invalid_token""#)
        );
        assert_eq!(json_of(response).await["error"], "invalid_token");

        // A token without uma_protection: 403 insufficient_scope.
        let mut user = request.try_clone().unwrap();
        user.headers_mut().insert(
            "authorization",
            format!("Bearer {}", user_token.as_str()).parse().unwrap(),
        );
        let response = http().execute(user).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(json_of(response).await["error"], "insufficient_scope");
    }
}

#[tokio::test]
async fn introspection_reports_inactive_for_unknown_and_foreign_tokens() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let ticket = support::ticket(&world).await;
    let rpt = world
        .client_for("bob")
        .await
        .redeem(&world.issuer, &uma_client::UmaGrantRequest::new(ticket))
        .await
        .unwrap()
        .rpt();
    let inactive = json!({"active": false});
    assert_eq!(
        introspect(&world, pat(&world).await, "unknown".into()).await,
        inactive
    );
    // The RPT is for photoz's resource: another resource server may not see it (N-14).
    assert_eq!(
        introspect(&world, other_rs_pat(&world).await, rpt.as_str().into()).await,
        inactive
    );
    assert_eq!(
        introspect(&world, pat(&world).await, rpt.as_str().into()).await["active"],
        true
    );
    // A plain access token introspects, to the client it was issued to, with its scope and no
    // permissions.
    let app_pat = ProtectionClient::builder(&world.issuer)
        .credentials(ClientCredentials::new(CLIENT_ID, CLIENT_SECRET))
        .build()
        .unwrap()
        .pat()
        .await
        .unwrap()
        .into_string();
    let access = introspect(&world, app_pat, world.token("bob").await.into_string()).await;
    assert_eq!(access["active"], true);
    assert_eq!(access["scope"], "openid");
    assert_eq!(access["username"], "bob");
    assert!(access.get("permissions").is_none());
}

async fn introspect(world: &World, pat: String, token: String) -> Value {
    let response = http()
        .post(world.url("/introspect"))
        .bearer_auth(pat)
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
    json_of(response).await
}

/// Posts a form to the token endpoint with optional basic credentials.
async fn token_request(
    world: &World,
    basic: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = http().post(world.url("/token")).form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn client_credentials_issue_a_pat_with_either_auth_method() {
    let world = World::start().await;
    let basic = token_request(
        &world,
        Some((RS_ID, RS_SECRET)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let posted = token_request(
        &world,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "uma_protection"),
            ("client_id", RS_ID),
            ("client_secret", RS_SECRET),
        ],
    )
    .await;
    for response in [basic, posted] {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let body = json_of(response).await;
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "uma_protection");
        assert_eq!(body["expires_in"], 3600);
    }
}

#[tokio::test]
async fn token_endpoint_errors() {
    let world = World::start().await;
    let ticket = support::ticket(&world).await.into_string();
    let uma = UMA_TICKET_GRANT_TYPE;
    let client = Some((CLIENT_ID, CLIENT_SECRET));
    type Case<'a> = (
        Option<(&'a str, &'a str)>,
        Vec<(&'a str, &'a str)>,
        StatusCode,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (client, vec![], StatusCode::BAD_REQUEST, "invalid_request"),
        (
            client,
            vec![("grant_type", "password")],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            client,
            vec![("grant_type", uma)],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            client,
            vec![("grant_type", uma), ("ticket", "a"), ("ticket", "b")],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            client,
            vec![
                ("grant_type", uma),
                ("ticket", &ticket),
                ("claim_token", "x"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            client,
            vec![
                ("grant_type", uma),
                ("ticket", &ticket),
                ("claim_token_format", "x"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            client,
            vec![("grant_type", uma), ("ticket", "never-issued")],
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            client,
            vec![
                ("grant_type", uma),
                ("ticket", &ticket),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            Some((CLIENT_ID, "wrong")),
            vec![("grant_type", uma), ("ticket", &ticket)],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            Some(("nobody", "x")),
            vec![("grant_type", "client_credentials")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            None,
            vec![("grant_type", "client_credentials")],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            client,
            vec![("grant_type", "client_credentials"), ("scope", "admin")],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        ),
    ];
    for (auth, form, status, code) in cases {
        let response = token_request(&world, auth, &form).await;
        assert_eq!(response.status(), status, "{form:?}");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store", "{form:?}");
        if status == StatusCode::UNAUTHORIZED && auth.is_some() {
            assert_eq!(response.headers()[WWW_AUTHENTICATE], r#"Basic realm="uma""#);
        }
        assert_eq!(json_of(response).await["error"], code, "{form:?}");
    }
    // None of the malformed requests spent the ticket.
    world
        .authorization_server
        .share(&world.resource_id, CLIENT_ID, ["view"])
        .await
        .unwrap();
    let response = token_request(&world, client, &[("grant_type", uma), ("ticket", &ticket)]).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_scope_available_on_no_ticket_resource_is_invalid_scope() {
    let world = World::start().await;
    let ticket = support::ticket(&world).await.into_string();
    let response = token_request(
        &world,
        Some((CLIENT_ID, CLIENT_SECRET)),
        &[
            ("grant_type", UMA_TICKET_GRANT_TYPE),
            ("ticket", &ticket),
            ("scope", "print"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json_of(response).await["error"], "invalid_scope");
}

#[tokio::test]
async fn token_endpoint_wants_a_form() {
    let world = World::start().await;
    let response = http()
        .post(world.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(json_of(response).await["error"], "invalid_request");
    let get = http().get(world.url("/token")).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get.headers()[ALLOW], "POST");
    let unknown = http().get(world.url("/nowhere")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(json_of(unknown).await["error"], "not_found");
}
