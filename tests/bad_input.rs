//! Every endpoint of the authorization server, walked through malformed input: each answer is a
//! 4xx with an OAuth-shaped JSON error, never a 5xx or a panic, and the store is left unchanged.

mod support;

use http::StatusCode;
use http::header::CONTENT_TYPE;
use serde_json::{Value, json};
use support::{CLIENT_ID, CLIENT_SECRET, World};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// How a request authenticates.
#[derive(Clone, Copy, Debug)]
enum Auth {
    Pat,
    Owner,
    Client,
}

/// One endpoint: method, path, content type of a good body, authentication.
struct Endpoint {
    method: reqwest::Method,
    path: String,
    content_type: &'static str,
    auth: Auth,
}

fn endpoint(
    method: reqwest::Method,
    path: String,
    content_type: &'static str,
    auth: Auth,
) -> Endpoint {
    Endpoint {
        method,
        path,
        content_type,
        auth,
    }
}

/// Bodies that no endpoint accepts, for its content type.
fn bad_bodies(content_type: &str) -> Vec<(&'static str, String, String)> {
    let huge = "x".repeat(200_000);
    let mut bodies = vec![
        ("empty body", content_type.to_owned(), String::new()),
        (
            "wrong content type",
            "text/plain".to_owned(),
            "hello".to_owned(),
        ),
        (
            "oversized body",
            content_type.to_owned(),
            format!("a={huge}"),
        ),
        (
            "invalid UTF-8 and binary",
            content_type.to_owned(),
            "\u{0}\u{fffd}\u{1}".to_owned(),
        ),
    ];
    if content_type == JSON {
        bodies.extend([
            (
                "malformed JSON",
                JSON.to_owned(),
                "{\"resource_scopes\": [".to_owned(),
            ),
            (
                "JSON of the wrong type",
                JSON.to_owned(),
                "[1, 2, 3]".to_owned(),
            ),
            (
                "JSON with wrong member types",
                JSON.to_owned(),
                r#"{"resource_scopes": 5, "resource_id": [], "scopes": {}}"#.to_owned(),
            ),
            ("JSON null", JSON.to_owned(), "null".to_owned()),
            (
                "deeply nested JSON",
                JSON.to_owned(),
                format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
            ),
        ]);
    } else {
        bodies.extend([
            (
                "repeated parameters",
                FORM.to_owned(),
                "grant_type=client_credentials&grant_type=client_credentials&token=a&token=b"
                    .to_owned(),
            ),
            (
                "broken percent-encoding",
                FORM.to_owned(),
                "grant_type=%zz%".to_owned(),
            ),
            (
                "no parameters of use",
                FORM.to_owned(),
                "unknown=1".to_owned(),
            ),
        ]);
    }
    bodies
}

async fn snapshot(world: &World, pat: &str, owner: &str) -> Value {
    let client = reqwest::Client::new();
    let resources: Value = client
        .get(world.url("/resource_set"))
        .bearer_auth(pat)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let policies: Value = client
        .get(world.url(&format!("/policy?resource={}", world.resource_id)))
        .bearer_auth(owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resource: Value = client
        .get(world.url(&format!("/resource_set/{}", world.resource_id)))
        .bearer_auth(pat)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    json!({"resources": resources, "policies": policies, "resource": resource})
}

/// Sends every bad body to every endpoint; each must get a 4xx with an OAuth error in JSON.
/// Returns how many were checked.
async fn refuse_bad_bodies(world: &World, endpoints: &[Endpoint], pat: &str, owner: &str) -> usize {
    let client = reqwest::Client::new();
    let mut checked = 0;
    for endpoint in endpoints {
        for (what, content_type, body) in bad_bodies(endpoint.content_type) {
            let mut request = client
                .request(endpoint.method.clone(), world.url(&endpoint.path))
                .header(CONTENT_TYPE, content_type)
                .body(body);
            request = match endpoint.auth {
                Auth::Pat => request.bearer_auth(pat),
                Auth::Owner => request.bearer_auth(owner),
                Auth::Client => request.basic_auth(CLIENT_ID, Some(CLIENT_SECRET)),
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            let label = format!("{} {} with {what}", endpoint.method, endpoint.path);
            assert!(status.is_client_error(), "{label}: {status}");
            // The revocation endpoint answers 200 to unknown tokens by design; its malformed
            // requests are the 4xx checked here.
            let body: Value = response
                .json()
                .await
                .unwrap_or_else(|e| panic!("{label}: no JSON body: {e}"));
            let code = body["error"]
                .as_str()
                .unwrap_or_else(|| panic!("{label}: {body}"));
            assert!(
                [
                    "invalid_request",
                    "invalid_client",
                    "unsupported_grant_type",
                    "invalid_scope",
                    // Keycloak's code for a bad permission ticket.
                    "invalid_permission",
                ]
                .contains(&code),
                "{label}: {body}"
            );
            checked += 1;
        }
    }
    checked
}

#[tokio::test]
async fn every_endpoint_refuses_bad_input_cleanly() {
    let world = World::start().await;
    let pat = world.protection.pat().await.unwrap().into_string();
    let owner = world.owner_token("alice").await.into_string();
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let before = snapshot(&world, &pat, &owner).await;
    let id = world.resource_id.clone();

    let endpoints = [
        endpoint(reqwest::Method::POST, "/token".into(), FORM, Auth::Client),
        endpoint(reqwest::Method::POST, "/introspect".into(), FORM, Auth::Pat),
        endpoint(
            reqwest::Method::POST,
            "/introspect".into(),
            FORM,
            Auth::Client,
        ),
        endpoint(reqwest::Method::POST, "/revoke".into(), FORM, Auth::Client),
        endpoint(
            reqwest::Method::POST,
            "/resource_set".into(),
            JSON,
            Auth::Pat,
        ),
        endpoint(
            reqwest::Method::PUT,
            format!("/resource_set/{id}"),
            JSON,
            Auth::Pat,
        ),
        endpoint(reqwest::Method::POST, "/permission".into(), JSON, Auth::Pat),
        endpoint(
            reqwest::Method::POST,
            format!("/policy/{id}"),
            JSON,
            Auth::Owner,
        ),
    ];
    let checked = refuse_bad_bodies(&world, &endpoints, &pat, &owner).await;
    let client = reqwest::Client::new();
    assert!(checked >= 50, "{checked}");

    // Unknown ids.
    for (method, path, auth, expected) in [
        (
            reqwest::Method::GET,
            "/resource_set/unknown",
            Auth::Pat,
            StatusCode::NOT_FOUND,
        ),
        (
            reqwest::Method::DELETE,
            "/resource_set/unknown",
            Auth::Pat,
            StatusCode::NOT_FOUND,
        ),
        (
            reqwest::Method::GET,
            "/policy/unknown",
            Auth::Owner,
            StatusCode::NOT_FOUND,
        ),
        (
            reqwest::Method::DELETE,
            "/policy/unknown",
            Auth::Owner,
            StatusCode::NOT_FOUND,
        ),
        (
            reqwest::Method::GET,
            "/policy?resource=unknown",
            Auth::Owner,
            StatusCode::NOT_FOUND,
        ),
        (
            reqwest::Method::GET,
            "/policy",
            Auth::Owner,
            StatusCode::BAD_REQUEST,
        ),
        (
            reqwest::Method::GET,
            "/resource_set?name=a&name=b",
            Auth::Pat,
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let request = client.request(method.clone(), world.url(path));
        let request = match auth {
            Auth::Pat => request.bearer_auth(&pat),
            _ => request.bearer_auth(&owner),
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), expected, "{method} {path}");
        assert!(response.json::<Value>().await.unwrap()["error"].is_string());
    }

    assert_eq!(
        snapshot(&world, &pat, &owner).await,
        before,
        "nothing changed"
    );
}

/// Keycloak's paths in the realm mode: the same limits and errors as the spec's, and Keycloak's
/// admin REST API, which is not served, a JSON 404 that says so.
#[tokio::test]
async fn every_realm_endpoint_refuses_bad_input_cleanly() {
    let world = World::start_with(|builder| builder.keycloak_realm("photoz")).await;
    let pat = world.protection.pat().await.unwrap().into_string();
    let owner = world.owner_token("alice").await.into_string();
    let before = snapshot(&world, &pat, &owner).await;
    let id = world.resource_id.clone();
    let post = reqwest::Method::POST;
    let endpoints = [
        endpoint(
            post.clone(),
            "/protocol/openid-connect/token".into(),
            FORM,
            Auth::Client,
        ),
        endpoint(
            post.clone(),
            "/protocol/openid-connect/token/introspect".into(),
            FORM,
            Auth::Pat,
        ),
        endpoint(
            post.clone(),
            "/protocol/openid-connect/token/introspect".into(),
            FORM,
            Auth::Client,
        ),
        endpoint(
            post.clone(),
            "/protocol/openid-connect/revoke".into(),
            FORM,
            Auth::Client,
        ),
        endpoint(
            post.clone(),
            "/authz/protection/resource_set".into(),
            JSON,
            Auth::Pat,
        ),
        endpoint(
            reqwest::Method::PUT,
            format!("/authz/protection/resource_set/{id}"),
            JSON,
            Auth::Pat,
        ),
        endpoint(
            post.clone(),
            "/authz/protection/permission".into(),
            JSON,
            Auth::Pat,
        ),
        endpoint(
            post.clone(),
            format!("/authz/protection/uma-policy/{id}"),
            JSON,
            Auth::Owner,
        ),
        endpoint(
            reqwest::Method::PUT,
            "/authz/protection/permission/ticket".into(),
            JSON,
            Auth::Pat,
        ),
        endpoint(
            post.clone(),
            "/authz/protection/permission/ticket".into(),
            JSON,
            Auth::Owner,
        ),
        endpoint(
            post,
            "/protocol/openid-connect/logout".into(),
            FORM,
            Auth::Client,
        ),
    ];
    let checked = refuse_bad_bodies(&world, &endpoints, &pat, &owner).await;
    assert!(checked >= 50, "{checked}");
    assert_eq!(
        snapshot(&world, &pat, &owner).await,
        before,
        "nothing changed"
    );

    let base = world.issuer.strip_suffix("/realms/photoz").unwrap();
    for (path, says) in [
        ("/admin/realms/photoz/users", "admin REST API"),
        ("/admin", "admin REST API"),
        (
            "/realms/other/protocol/openid-connect/token",
            "no such endpoint",
        ),
        ("/", "no such endpoint"),
    ] {
        let response = reqwest::get(format!("{base}{path}")).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not_found", "{path}: {body}");
        assert!(
            body["error_description"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn a_bearer_token_and_posted_credentials_together_are_invalid_request() {
    let world = World::start().await;
    let bob = world.token("bob").await;
    let ticket = support::ticket(&world).await;
    let response = reqwest::Client::new()
        .post(world.url("/token"))
        .bearer_auth(bob.as_str())
        .form(&[
            ("grant_type", uma_client::UMA_TICKET_GRANT_TYPE),
            ("ticket", ticket.as_str()),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn dropping_the_handle_stops_the_server() {
    let world = World::start().await;
    let discovery = world.url("/.well-known/uma2-configuration");
    assert!(
        reqwest::get(&discovery)
            .await
            .unwrap()
            .status()
            .is_success()
    );
    world.authorization_server.shutdown().await;
    assert!(reqwest::get(&discovery).await.is_err());
}
