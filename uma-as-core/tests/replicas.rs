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
use support::process::{Server, TempDir};

const CALLBACK: &str = "https://doctor-app.example/claims-callback";

/// Two replicas behind an imaginary load balancer: one issuer, one database.
struct Replicas {
    a: Server,
    b: Server,
    http: reqwest::Client,
    _dir: TempDir,
}

async fn replicas() -> Option<Replicas> {
    let database = support::postgres::fresh_database().await?;
    let dir = TempDir::new();
    let config = dir.0.join("uma-as.toml");
    std::fs::write(
        &config,
        format!(
            r#"
issuer = "http://uma.test"
password_grant = true
approval_poll_interval = 0
[[clients]]
client_id = "photoz"
client_secret = "photoz-secret"
[[clients]]
client_id = "doctor-app"
client_secret = "doctor-secret"
claims_redirect_uris = ["{CALLBACK}"]
[[users]]
username = "alice"
password = "alice-password"
[[users]]
username = "bob"
password = "bob-password"
"#
        ),
    )
    .unwrap();
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
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Some(Replicas {
        a,
        b,
        http,
        _dir: dir,
    })
}

impl Replicas {
    /// Replica `a` for even `n`, `b` for odd: requests spread as a round-robin balancer would.
    fn nth(&self, n: usize) -> &Server {
        if n % 2 == 0 { &self.a } else { &self.b }
    }

    async fn token(&self, on: &Server, client: (&str, &str), form: &[(&str, &str)]) -> Value {
        self.http
            .post(on.url("/token"))
            .basic_auth(client.0, Some(client.1))
            .form(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn pat(&self, on: &Server) -> String {
        let body = self
            .token(
                on,
                ("photoz", "photoz-secret"),
                &[("grant_type", "client_credentials")],
            )
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A user's tokens through a client, by the password grant.
    async fn sign_in(&self, on: &Server, user: &str, client: (&str, &str), scope: &str) -> Value {
        let password = format!("{user}-password");
        self.token(
            on,
            client,
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", &password),
                ("scope", scope),
            ],
        )
        .await
    }

    async fn owner_token(&self, on: &Server) -> String {
        let body = self
            .sign_in(on, "alice", ("photoz", "photoz-secret"), "uma_protection")
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Alice's album, registered through `on`.
    async fn album(&self, on: &Server, owner_managed: bool) -> String {
        let body: Value = self
            .http
            .post(on.url("/resource_set"))
            .bearer_auth(self.pat(on).await)
            .json(&json!({
                "name": "album", "owner": "alice", "resource_scopes": ["view"],
                "ownerManagedAccess": owner_managed,
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["_id"].as_str().unwrap().to_owned()
    }

    /// Alice shares the album with Bob through `on`; the policy's id.
    async fn share(&self, on: &Server, album: &str) -> String {
        let body: Value = self
            .http
            .post(on.url(&format!("/policy/{album}")))
            .bearer_auth(self.owner_token(on).await)
            .json(&json!({"scopes": ["view"], "users": ["bob"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["id"].as_str().unwrap().to_owned()
    }

    async fn ticket(&self, on: &Server, album: &str) -> String {
        let body: Value = self
            .http
            .post(on.url("/permission"))
            .bearer_auth(self.pat(on).await)
            .json(&json!({"resource_id": album, "resource_scopes": ["view"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["ticket"].as_str().unwrap().to_owned()
    }

    /// The UMA grant on `on`, as `auth` (Bob's access token, or the client's credentials).
    async fn grant(&self, on: &Server, auth: &Auth, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let mut form = form.to_vec();
        form.push(("grant_type", "urn:ietf:params:oauth:grant-type:uma-ticket"));
        let request = self.http.post(on.url("/token")).form(&form);
        let request = match auth {
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Client => request.basic_auth("doctor-app", Some("doctor-secret")),
        };
        let response = request.send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn introspect(&self, on: &Server, token: &str) -> Value {
        self.http
            .post(on.url("/introspect"))
            .bearer_auth(self.pat(on).await)
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn bob(&self, on: &Server) -> Auth {
        let body = self
            .sign_in(on, "bob", ("doctor-app", "doctor-secret"), "openid")
            .await;
        Auth::Bearer(body["access_token"].as_str().unwrap().to_owned())
    }
}

enum Auth {
    Bearer(String),
    Client,
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
