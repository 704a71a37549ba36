//! Two `uma-as` processes on one PostgreSQL database behave as one server: whatever replica a
//! request lands on, single-use things are used once, revocations and policy changes are seen at
//! once, and sign-in sessions, PCTs and owner approvals carry over.
//!
//! Needs `UMA_TEST_POSTGRES_URL` (see README, Development); without it each test says
//! `skipped: …` once and passes.

mod support;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use support::api::{Api, Auth, CALLBACK};
use support::process::{Server, TempDir};

/// Two replicas behind an imaginary load balancer: one issuer, one database.
struct Replicas {
    a: Server,
    b: Server,
    api: Api,
    _dir: TempDir,
}

impl std::ops::Deref for Replicas {
    type Target = Api;

    fn deref(&self) -> &Api {
        &self.api
    }
}

async fn replicas() -> Option<Replicas> {
    replicas_with("").await
}

/// Two replicas whose configuration starts with `settings`.
async fn replicas_with(settings: &str) -> Option<Replicas> {
    let database = support::postgres::fresh_database().await?;
    let dir = TempDir::new();
    let config = support::api::write_config(&dir);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{settings}\n{text}")).unwrap();
    let start = || {
        Server::start(&[
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--storage",
            &database,
        ])
    };
    // Both start (and migrate) together, as replicas of a deployment do.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(start);
        let b = s.spawn(start);
        (a.join().unwrap(), b.join().unwrap())
    });
    Some(Replicas {
        a,
        b,
        api: Api::new(),
        _dir: dir,
    })
}

impl Replicas {
    /// Replica `a` for even `n`, `b` for odd: requests spread as a round-robin balancer would.
    fn nth(&self, n: usize) -> &Server {
        if n % 2 == 0 { &self.a } else { &self.b }
    }
}

#[tokio::test]
async fn a_ticket_is_redeemed_once_across_replicas() {
    let Some(r) = replicas().await else { return };
    let album = r.album(&r.a, false).await;
    r.share(&r.b, &album).await;
    let ticket = r.ticket(&r.a, &album).await;
    let bob = r.bob(&r.b).await;
    let form = [("ticket", ticket.as_str())];
    let attempts = (0..50).map(|n| r.grant(r.nth(n), &bob, &form));
    let answers = futures_util::future::join_all(attempts).await;
    let granted = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(granted, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_eq!(
            (*status, body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_grant"))
        );
    }
}

#[tokio::test]
async fn a_refresh_token_is_used_once_across_replicas() {
    let Some(r) = replicas().await else { return };
    let signed_in = r
        .sign_in(&r.a, "bob", ("doctor-app", "doctor-secret"), "openid")
        .await;
    let refresh = signed_in["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let attempts = (0..50).map(|n| {
        let request = r
            .http
            .post(r.nth(n).url("/token"))
            .basic_auth("doctor-app", Some("doctor-secret"))
            .form(&form)
            .send();
        async move { request.await.unwrap().status() }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST)
    );
}

#[tokio::test]
async fn revocation_and_policy_changes_on_one_replica_are_seen_on_the_other_at_once() {
    let Some(r) = replicas().await else { return };
    let album = r.album(&r.a, false).await;
    let policy = r.share(&r.a, &album).await;
    let bob = r.bob(&r.a).await;

    // Revoked on a: inactive on b.
    let (_, first) = r
        .grant(&r.a, &bob, &[("ticket", &r.ticket(&r.a, &album).await)])
        .await;
    let first = first["access_token"].as_str().unwrap();
    assert_eq!(r.introspect(&r.b, first).await["active"], true);
    let revoked = r
        .http
        .post(r.a.url("/revoke"))
        .basic_auth("doctor-app", Some("doctor-secret"))
        .form(&[("token", first)])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(r.introspect(&r.b, first).await["active"], false);

    // The policy withdrawn on a: b's RPT inactive on b, and b's next grant refused.
    let (_, second) = r
        .grant(&r.b, &bob, &[("ticket", &r.ticket(&r.b, &album).await)])
        .await;
    let second = second["access_token"].as_str().unwrap();
    assert_eq!(r.introspect(&r.b, second).await["active"], true);
    let deleted = r
        .http
        .delete(r.a.url(&format!("/policy/{policy}")))
        .bearer_auth(r.owner_token(&r.a).await)
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    assert_eq!(r.introspect(&r.b, second).await["active"], false);
    let (status, body) = r
        .grant(&r.b, &bob, &[("ticket", &r.ticket(&r.b, &album).await)])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("request_denied"))
    );
}

#[tokio::test]
async fn a_sign_in_begun_on_one_replica_ends_on_the_other_and_its_pct_works_on_both() {
    let Some(r) = replicas().await else { return };
    let album = r.album(&r.a, false).await;
    r.share(&r.a, &album).await;

    // The client alone: need_info, sending Bob to the claims endpoint.
    let ticket = r.ticket(&r.a, &album).await;
    let (status, needed) = r.grant(&r.a, &Auth::Client, &[("ticket", &ticket)]).await;
    assert_eq!(
        (status, needed["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("need_info"))
    );
    let ticket = needed["ticket"].as_str().unwrap();

    // Bob opens the page on a and signs in on b.
    let page = r
        .http
        .get(r.a.url("/claims"))
        .query(&[
            ("client_id", "doctor-app"),
            ("ticket", ticket),
            ("claims_redirect_uri", CALLBACK),
            ("state", "s1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = page.headers()[SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let back = r
        .http
        .post(r.b.url("/claims"))
        .header(COOKIE, &cookie)
        .form(&[
            ("username", "bob"),
            ("password", "bob-password"),
            ("csrf", csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    let location = url::Url::parse(back.headers()[LOCATION].to_str().unwrap()).unwrap();
    let ticket = location
        .query_pairs()
        .find(|(k, _)| k == "ticket")
        .map(|(_, v)| v.into_owned())
        .unwrap();

    // The ticket from b redeemed on a: an RPT for Bob and a PCT.
    let (status, token) = r.grant(&r.a, &Auth::Client, &[("ticket", &ticket)]).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let pct = token["pct"].as_str().unwrap().to_owned();
    assert_eq!(
        r.introspect(&r.b, token["access_token"].as_str().unwrap())
            .await["sub"],
        "bob"
    );

    // The PCT from a, presented on b with a ticket from b: Bob again, with no sign-in.
    let ticket = r.ticket(&r.b, &album).await;
    let (status, token) = r
        .grant(&r.b, &Auth::Client, &[("ticket", &ticket), ("pct", &pct)])
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(
        r.introspect(&r.a, token["access_token"].as_str().unwrap())
            .await["sub"],
        "bob"
    );
}

#[tokio::test]
async fn a_request_put_to_the_owner_on_one_replica_is_approved_on_the_other() {
    let Some(r) = replicas().await else { return };
    let album = r.album(&r.a, true).await;
    let bob = r.bob(&r.a).await;
    let (status, body) = r
        .grant(&r.a, &bob, &[("ticket", &r.ticket(&r.a, &album).await)])
        .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("request_submitted"))
    );
    let next_ticket = body["ticket"].as_str().unwrap().to_owned();

    let owner = r.owner_token(&r.b).await;
    let requests: Value = r
        .http
        .get(r.b.url("/requests"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let requests = requests.as_array().unwrap();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0]["party"], "bob");
    let id = requests[0]["id"].as_str().unwrap();
    let approved = r
        .http
        .post(r.b.url(&format!("/requests/{id}/approve")))
        .bearer_auth(&owner)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::OK);

    // Bob's client polls a with the ticket it was given: approved.
    let (status, body) = r.grant(&r.a, &bob, &[("ticket", &next_ticket)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_replicas_publish_the_same_keys_and_accept_each_others_tokens() {
    let Some(r) = replicas().await else { return };
    let jwks = |on: &Server| {
        let request = r.http.get(on.url("/jwks")).send();
        async move { request.await.unwrap().json::<Value>().await.unwrap() }
    };
    let (a, b) = (jwks(&r.a).await, jwks(&r.b).await);
    assert_eq!(a, b);
    assert_eq!(a["keys"].as_array().unwrap().len(), 1, "one key, made once");
    // A PAT from a is a PAT on b.
    let pat = r.pat(&r.a).await;
    let registered = r
        .http
        .post(r.b.url("/resource_set"))
        .bearer_auth(&pat)
        .json(&json!({"name": "x", "resource_scopes": ["view"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::CREATED);
}

/// The `kid` in a JWT's header.
fn kid_of(jwt: &str) -> String {
    use base64::Engine as _;
    let header = jwt.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The `kid`s in a replica's JWKS.
async fn published(api: &Api, on: &Server) -> Vec<String> {
    let jwks: Value = api
        .http
        .get(on.url("/jwks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// The `kid` a replica signs with now (of Bob's ID token).
async fn signing(api: &Api, on: &Server) -> String {
    let signed_in = api
        .sign_in(on, "bob", ("doctor-app", "doctor-secret"), "openid")
        .await;
    kid_of(signed_in["id_token"].as_str().unwrap())
}

#[tokio::test]
async fn a_rotation_happens_once_and_every_replica_publishes_the_key_before_any_signs_with_it() {
    // A rotation every 5 s, each new key published 2 s ahead, upkeep every second.
    let settings =
        "signing_key_rotation = 5\nsigning_key_publication = 2\nmaintenance_interval = 1";
    let Some(r) = replicas_with(settings).await else {
        return;
    };
    let first = signing(&r, &r.a).await;
    assert_eq!(signing(&r, &r.b).await, first);
    // Watch both replicas until each signs with a new key. Polling, because the rotation is
    // driven by the clock; the deadline only bounds a failure.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut seen_published = false;
    let (mut new_on_a, mut new_on_b) = (None, None);
    while new_on_a.is_none() || new_on_b.is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "no rotation within 30 s"
        );
        let (jwks_a, jwks_b) = (published(&r, &r.a).await, published(&r, &r.b).await);
        let (kid_a, kid_b) = (signing(&r, &r.a).await, signing(&r, &r.b).await);
        for kid in [&kid_a, &kid_b] {
            assert!(
                jwks_a.contains(kid) && jwks_b.contains(kid),
                "a replica signed with {kid}, which a replica's JWKS ({jwks_a:?}, {jwks_b:?}) lacks"
            );
        }
        if jwks_a.len() > 1 && kid_a == first && kid_b == first {
            seen_published = true; // published by both, signing with it by neither yet
        }
        new_on_a = new_on_a.or((kid_a != first).then_some(kid_a));
        new_on_b = new_on_b.or((kid_b != first).then_some(kid_b));
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        seen_published,
        "the new key was seen in the JWKS before it signed"
    );
    assert_eq!(
        new_on_a, new_on_b,
        "both replicas sign with the same new key"
    );
    assert_eq!(
        published(&r, &r.a).await.len(),
        2,
        "one rotation: the old key and the new one"
    );
}
