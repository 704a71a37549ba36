//! uma-rs-guard end to end against the real authorization server over loopback.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Method, StatusCode};
use serde_json::{Value, json};
use uma_as_core::{AuthorizationServer, ClientConfig, RptFormat};
use uma_client::{
    ClientCredentials, GrantAuth, ProtectionClient, ResourceDescription, UmaChallenge, UmaClient,
};
use uma_rs_guard::{
    Mode, Rejection, RejectionKind, ResourceId, RouteResolver, RptValidation, UmaGuardLayer,
};

#[path = "support/counting.rs"]
mod counting;
use counting::{APP, CountingAs, RS, get_with, serve};

/// An AS issuing opaque RPTs, and the URL of `/album` behind a guard that introspects them.
async fn introspected() -> (CountingAs, String) {
    let world = CountingAs::start(|b| b.rpt_format(RptFormat::Opaque)).await;
    let guard = world.guard().validation(RptValidation::Introspection);
    let url = serve(guard.build().unwrap()).await;
    (world, url)
}

#[tokio::test]
async fn one_fresh_rpt_in_a_thousand_concurrent_requests_makes_one_introspection() {
    let (world, url) = introspected().await;
    let rpt = world.rpt().await;
    let http = reqwest::Client::new();
    let requests: Vec<_> = (0..1000)
        .map(|_| {
            let request = http.get(&url).bearer_auth(&rpt);
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(world.calls("/introspect"), 1);
}

#[tokio::test]
async fn jwt_rpts_are_checked_locally_without_calling_the_as() {
    let world = CountingAs::start(|b| b).await;
    let url = serve(world.guard().audience(RS.0).build().unwrap()).await;
    let rpt = world.rpt().await;
    for _ in 0..5 {
        let response = get_with(&url, Some(&rpt)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.json::<Value>().await.unwrap()["subject"], "bob");
    }
    assert_eq!(world.calls("/introspect"), 0);
    assert_eq!(world.calls("/jwks"), 1);

    // A JWT RPT for another audience is refused.
    let other = serve(world.guard().audience("other-rs").build().unwrap()).await;
    assert_eq!(
        get_with(&other, Some(&rpt)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn rotation_is_picked_up_through_the_unknown_kid() {
    let world = CountingAs::start(|b| b.signing_key_publication(Duration::ZERO)).await;
    let url = serve(
        world
            .guard()
            .jwks_refresh_interval(Duration::ZERO)
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(
        get_with(&url, Some(&world.rpt().await)).await.status(),
        StatusCode::OK
    );
    world.server.rotate_signing_key().await.unwrap();
    let after = world.rpt().await;
    assert_eq!(get_with(&url, Some(&after)).await.status(), StatusCode::OK);
    assert_eq!(world.calls("/jwks"), 2);
}

#[tokio::test]
async fn unsigned_and_algorithm_confused_tokens_are_refused() {
    let world = CountingAs::start(|b| b).await;
    let url = serve(world.guard().build().unwrap()).await;
    let good = world.rpt().await;
    assert_eq!(get_with(&url, Some(&good)).await.status(), StatusCode::OK);
    let parts: Vec<&str> = good.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap();

    // `alg: none`, with the real payload and kid.
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string()),
        parts[1]
    );
    // HS256 "signed" with the public key as the HMAC secret (the classic confusion attack).
    let jwks: Value = reqwest::get(format!("{}/jwks", world.server.issuer()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let mut confused_header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    confused_header.kid = Some(kid.to_owned());
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let hs256 = jsonwebtoken::encode(
        &confused_header,
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&public).unwrap(),
    )
    .unwrap();
    // The real signature on a changed payload.
    let mut forged_claims = claims.clone();
    forged_claims["authorization"]["permissions"][0]["scopes"] = json!(["view", "edit"]);
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged_claims.to_string()),
        parts[2]
    );
    for token in [&none, &hs256, &forged] {
        let response = get_with(&url, Some(token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token}");
        assert!(UmaChallenge::from_headers(response.headers()).is_some());
    }
    // The forged token shares the good one's signature, and so its place in the guard's cache:
    // neither is ever answered from the other's entry, in either order, nor from a cold cache.
    for token in [&good, &forged, &good, &forged] {
        let expected = if token == &good {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(get_with(&url, Some(token)).await.status(), expected);
    }
    let cold = serve(world.guard().build().unwrap()).await;
    assert_eq!(
        get_with(&cold, Some(&forged)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get_with(&cold, Some(&good)).await.status(), StatusCode::OK);
    assert_eq!(
        get_with(&cold, Some(&forged)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn an_expired_rpt_is_challenged() {
    for (format, validation) in [
        (RptFormat::Jwt, RptValidation::LocalJwt),
        (RptFormat::Opaque, RptValidation::Introspection),
    ] {
        let world = CountingAs::start(|b| b.rpt_format(format).rpt_lifetime(Duration::ZERO)).await;
        let url = serve(
            world
                .guard()
                .validation(validation)
                .leeway(Duration::ZERO)
                .build()
                .unwrap(),
        )
        .await;
        let response = get_with(&url, Some(&world.rpt().await)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{format:?}");
        assert!(UmaChallenge::from_headers(response.headers()).is_some());
    }
}

#[tokio::test]
async fn a_token_that_is_not_utf8_is_challenged_without_asking_the_as() {
    let (world, url) = introspected().await;
    for token in [&b"Bearer \xff\xfe"[..], b"Bearer abc\x80def"] {
        let response = reqwest::Client::new()
            .get(&url)
            .header(
                http::header::AUTHORIZATION,
                http::HeaderValue::from_bytes(token).unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(UmaChallenge::from_headers(response.headers()).is_some());
    }
    assert_eq!(world.calls("/introspect"), 0);
}

#[tokio::test]
async fn a_revoked_rpt_is_refused_once_its_cached_answer_expires() {
    let (world, cached) = introspected().await;
    let uncached = serve(
        world
            .guard()
            .validation(RptValidation::Introspection)
            .cache_ttl(Duration::ZERO)
            .build()
            .unwrap(),
    )
    .await;
    let rpt = world.rpt().await;
    assert_eq!(get_with(&cached, Some(&rpt)).await.status(), StatusCode::OK);
    assert_eq!(
        get_with(&uncached, Some(&rpt)).await.status(),
        StatusCode::OK
    );
    let revoked = reqwest::Client::new()
        .post(format!("{}/revoke", world.server.issuer()))
        .basic_auth(APP.0, Some(APP.1))
        .form(&[("token", rpt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    // Within its cache lifetime the revoked RPT is still honoured (the documented window)...
    assert_eq!(get_with(&cached, Some(&rpt)).await.status(), StatusCode::OK);
    // ...and refused as soon as the cached answer has expired.
    assert_eq!(
        get_with(&uncached, Some(&rpt)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_cache_stays_within_its_bound() {
    let world = CountingAs::start(|b| b).await;
    let guard = world.guard().cache_max_entries(5).build().unwrap();
    let url = serve(guard.clone()).await;
    for _ in 0..20 {
        assert_eq!(
            get_with(&url, Some(&world.rpt().await)).await.status(),
            StatusCode::OK
        );
    }
    let cached = guard.cached_rpts().await;
    assert!((1..=5).contains(&cached), "{cached}");
}

/// Long tokens sharing a cached RPT's signature are refused, whether the guard keeps their head
/// (up to 2 KiB) or hashes them whole, and the RPT's own answer is unharmed.
#[tokio::test]
async fn oversized_tokens_are_refused_and_judged_whole() {
    let world = CountingAs::start(|b| b).await;
    let url = serve(world.guard().build().unwrap()).await;
    let good = world.rpt().await;
    assert_eq!(get_with(&url, Some(&good)).await.status(), StatusCode::OK);
    let signature = good.rsplit('.').next().unwrap();
    for size in [2_047, 2_048, 60_000] {
        let token = format!("{}.{signature}", "a".repeat(size));
        let response = get_with(&url, Some(&token)).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{size}");
        assert!(UmaChallenge::from_headers(response.headers()).is_some());
        assert_eq!(get_with(&url, Some(&good)).await.status(), StatusCode::OK);
    }
}

/// An AS that answers discovery only after `delay`.
async fn slow_as(delay: Duration) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new().fallback(move || async move {
        tokio::time::sleep(delay).await;
        "too late"
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    issuer
}

#[tokio::test]
async fn an_as_slower_than_the_timeout_means_403_with_the_warning() {
    let issuer = slow_as(Duration::from_secs(30)).await;
    let guard = UmaGuardLayer::builder(&issuer)
        .client_credentials(ClientCredentials::new(RS.0, RS.1))
        .timeout(Duration::from_millis(200))
        .resolver(
            RouteResolver::new()
                .route(
                    "/album",
                    ResourceId::fixed("r"),
                    [(Method::GET, vec!["view"])],
                )
                .unwrap(),
        )
        .build()
        .unwrap();
    let url = serve(guard).await;
    for rpt in [None, Some("some-opaque-rpt")] {
        let response = get_with(&url, rpt).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.headers()["warning"],
            r#"199 - "UMA Authorization Server Unreachable""#
        );
    }
}

#[tokio::test]
async fn permissive_mode_lets_everything_through() {
    let world = CountingAs::start(|b| b).await;
    let url = serve(world.guard().mode(Mode::Permissive).build().unwrap()).await;
    let response = get_with(&url, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap()["subject"],
        Value::Null
    );
    let response = get_with(&url, Some(&world.rpt().await)).await;
    assert_eq!(response.json::<Value>().await.unwrap()["subject"], "bob");
    // It still decided: a ticket was asked for the token-less request.
    assert_eq!(
        world.calls("/permission"),
        2,
        "one by the test's grant, one by the guard"
    );
}

#[tokio::test]
async fn pass_through_mode_hands_the_decision_to_the_handler() {
    let world = CountingAs::start(|b| b).await;
    let url = serve(world.guard().mode(Mode::PassThrough).build().unwrap()).await;
    let refused = get_with(&url, None).await;
    assert_eq!(refused.status(), StatusCode::OK);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["outcome"],
        "refused: NoToken"
    );
    let granted = get_with(&url, Some(&world.rpt().await)).await;
    assert_eq!(granted.json::<Value>().await.unwrap()["outcome"], "granted");
}

#[tokio::test]
async fn a_cached_answer_hands_the_service_what_the_first_one_did() {
    // The first request is judged the long way (the RPT is not cached yet), the others at once
    // from the cache: the service must not be able to tell them apart, in any mode.
    let world = CountingAs::start(|b| b).await;
    let rpt = world.rpt().await;
    for (mode, outcome) in [
        (Mode::Enforcing, Value::Null),
        (Mode::Permissive, Value::Null),
        (Mode::PassThrough, json!("granted")),
    ] {
        let url = serve(world.guard().mode(mode).build().unwrap()).await;
        for _ in 0..3 {
            let response = get_with(&url, Some(&rpt)).await;
            assert_eq!(response.status(), StatusCode::OK, "{mode:?}");
            let body = response.json::<Value>().await.unwrap();
            assert_eq!(body["subject"], "bob", "{mode:?}");
            assert_eq!(body["outcome"], outcome, "{mode:?}");
        }
    }
    // Cached for GET, the RPT still lacks `edit`: a PUT is challenged, not waved through.
    let url = serve(world.guard().build().unwrap()).await;
    assert_eq!(get_with(&url, Some(&rpt)).await.status(), StatusCode::OK);
    let put = reqwest::Client::new()
        .put(&url)
        .bearer_auth(&rpt)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::UNAUTHORIZED);
    assert!(UmaChallenge::from_headers(put.headers()).is_some());
}

#[tokio::test]
async fn disabled_mode_checks_nothing_and_calls_no_one() {
    let world = CountingAs::start(|b| b).await;
    let url = serve(world.guard().mode(Mode::Disabled).build().unwrap()).await;
    let before: usize = world.calls.lock().unwrap().values().sum();
    assert_eq!(get_with(&url, None).await.status(), StatusCode::OK);
    let after: usize = world.calls.lock().unwrap().values().sum();
    assert_eq!(before, after, "no call to the authorization server");
}

#[tokio::test]
async fn custom_rejection_responses_keep_the_typed_reason() {
    let world = CountingAs::start(|b| b).await;
    let guard = world
        .guard()
        .build()
        .unwrap()
        .with_rejection_response(|rejection: &Rejection| {
            let mut response = rejection.default_response::<axum::body::Body>();
            *response.body_mut() =
                axum::body::Body::from(format!("refused: {:?}", rejection.kind()));
            response
        });
    let app = Router::new()
        .route("/album", get(|| async { "album" }))
        .layer(guard)
        .layer(axum::middleware::map_response(
            |response: axum::response::Response| async move {
                // An outer layer reads the reason from the extensions.
                let kind = response.extensions().get::<Rejection>().map(|r| r.kind());
                let mut response = response;
                if kind == Some(RejectionKind::NoToken) {
                    response
                        .headers_mut()
                        .insert("x-reason", "no-token".parse().unwrap());
                }
                response
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/album", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let response = get_with(&url, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(UmaChallenge::from_headers(response.headers()).is_some());
    assert_eq!(response.headers()["x-reason"], "no-token");
    assert_eq!(response.text().await.unwrap(), "refused: NoToken");
}

#[tokio::test]
async fn the_pat_is_renewed_when_it_expires() {
    // Counts the guard's token requests for three challenged requests.
    async fn pat_fetches(access_token_lifetime: Duration) -> usize {
        let world = CountingAs::start(|b| b.access_token_lifetime(access_token_lifetime)).await;
        let url = serve(world.guard().build().unwrap()).await;
        let before = world.calls("/token");
        for _ in 0..3 {
            assert_eq!(
                get_with(&url, None).await.status(),
                StatusCode::UNAUTHORIZED
            );
        }
        world.calls("/token") - before
    }
    // A PAT of an hour serves all three; one of a second is due for renewal at once (renewal
    // starts 30 s before expiry), so each ticket request gets a fresh PAT.
    assert_eq!(pat_fetches(Duration::from_secs(3600)).await, 1);
    assert_eq!(pat_fetches(Duration::from_secs(1)).await, 3);
}

#[tokio::test]
async fn resources_found_by_name_at_the_as() {
    let world = CountingAs::start(|b| b).await;
    let protection = ProtectionClient::builder(world.server.issuer())
        .credentials(ClientCredentials::new(RS.0, RS.1))
        .build()
        .unwrap();
    let guard = UmaGuardLayer::builder(world.server.issuer())
        .protection_client(protection.clone())
        .resolver(
            RouteResolver::new()
                .route(
                    "/albums/{name}",
                    ResourceId::by_name(protection, "name", "{name}"),
                    [(Method::GET, vec!["view"])],
                )
                .unwrap(),
        )
        .build()
        .unwrap();
    let app = Router::new()
        .route("/albums/{name}", get(|| async { "album" }))
        .layer(guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    // "album" is the registered name: the challenge carries a ticket for that resource.
    let response = get_with(&format!("{base}/albums/album"), Some(&world.rpt().await)).await;
    assert_eq!(response.status(), StatusCode::OK);
    // No resource of that name: not found, and nothing reaches the handler.
    assert_eq!(
        get_with(&format!("{base}/albums/nothing"), None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_pat_refused_by_the_as_is_replaced_once() {
    let world = CountingAs::start(|b| b).await;
    let guard = world.guard().build().unwrap();
    let url = serve(guard.clone()).await;
    assert_eq!(
        get_with(&url, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The AS forgets the guard's PAT (revoked); the next permission request gets a 401.
    let pat = guard.protection().pat().await.unwrap();
    let revoked = reqwest::Client::new()
        .post(format!("{}/revoke", world.server.issuer()))
        .basic_auth(RS.0, Some(RS.1))
        .form(&[("token", pat.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let before = world.calls("/token");
    let response = get_with(&url, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        UmaChallenge::from_headers(response.headers()).is_some(),
        "a ticket, with a new PAT"
    );
    assert_eq!(world.calls("/token") - before, 1);
}

#[tokio::test]
async fn jwks_is_refetched_at_most_once_per_interval() {
    let world = CountingAs::start(|b| b.signing_key_publication(Duration::ZERO)).await;
    let url = serve(
        world
            .guard()
            .jwks_refresh_interval(Duration::from_secs(3600))
            .build()
            .unwrap(),
    )
    .await;
    assert_eq!(
        get_with(&url, Some(&world.rpt().await)).await.status(),
        StatusCode::OK
    );
    assert_eq!(world.calls("/jwks"), 1);
    // After a rotation, tokens with the new kid cannot be checked until the interval has passed:
    // they are refused (a fresh challenge), and the JWKS is not hammered meanwhile.
    world.server.rotate_signing_key().await.unwrap();
    let rotated = world.rpt().await;
    for _ in 0..5 {
        assert_eq!(
            get_with(&url, Some(&rotated)).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(world.calls("/jwks"), 1);
}

#[tokio::test]
async fn unmatched_requests_are_denied_unless_allowed() {
    let world = CountingAs::start(|b| b).await;
    let app = |guard: UmaGuardLayer| {
        Router::new()
            .route("/album", get(|| async { "album" }))
            .route("/elsewhere", get(|| async { "elsewhere" }))
            .layer(guard)
    };
    for (allow, expected) in [(false, StatusCode::FORBIDDEN), (true, StatusCode::OK)] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/elsewhere", listener.local_addr().unwrap());
        let router = app(world.guard().allow_unmatched(allow).build().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        let response = get_with(&url, None).await;
        assert_eq!(response.status(), expected);
        assert!(response.headers().get("warning").is_none());
    }
}

#[tokio::test]
async fn known_keys_outlive_a_failed_jwks_refresh() {
    let server = AuthorizationServer::builder()
        .signing_key_publication(Duration::ZERO)
        .client(ClientConfig::new(RS.0, RS.1))
        .client(ClientConfig::new(APP.0, APP.1))
        .user("alice")
        .user("bob")
        .spawn()
        .await
        .unwrap();
    let issuer = server.issuer().to_owned();
    let protection = ProtectionClient::builder(&issuer)
        .credentials(ClientCredentials::new(RS.0, RS.1))
        .build()
        .unwrap();
    let resource = protection
        .create_resource(&ResourceDescription::new(["view"]).owner("alice"))
        .await
        .unwrap();
    server.share(&resource, "bob", ["view"]).await.unwrap();
    let rpt = || async {
        let ticket = protection
            .request_permissions(vec![uma_client::PermissionRequest::new(
                resource.clone(),
                ["view"],
            )])
            .await
            .unwrap();
        UmaClient::builder()
            .trust(&issuer)
            .auth(GrantAuth::Bearer(
                server.access_token("bob", APP.0).await.unwrap(),
            ))
            .build()
            .unwrap()
            .redeem(&issuer, &uma_client::UmaGrantRequest::new(ticket))
            .await
            .unwrap()
            .access_token
            .into_string()
    };
    let guard = UmaGuardLayer::builder(&issuer)
        .protection_client(protection.clone())
        .validation(RptValidation::LocalJwt)
        .cache_ttl(Duration::ZERO)
        .jwks_refresh_interval(Duration::ZERO)
        .resolver(
            RouteResolver::new()
                .route(
                    "/album",
                    ResourceId::fixed(&resource),
                    [(Method::GET, vec!["view"])],
                )
                .unwrap(),
        )
        .build()
        .unwrap();
    let url = serve(guard).await;
    let old = rpt().await;
    assert_eq!(get_with(&url, Some(&old)).await.status(), StatusCode::OK);
    server.rotate_signing_key().await.unwrap();
    let new = rpt().await;

    // The AS goes away: the old key still verifies locally, every time (no cache here)...
    server.shutdown().await;
    assert_eq!(get_with(&url, Some(&old)).await.status(), StatusCode::OK);
    // ...a token with an unknown kid cannot be checked (the refresh fails): fail closed...
    let refused = get_with(&url, Some(&new)).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        refused.headers()["warning"],
        r#"199 - "UMA Authorization Server Unreachable""#
    );
    // ...and the failed refresh did not drop the keys already known.
    assert_eq!(get_with(&url, Some(&old)).await.status(), StatusCode::OK);
}
