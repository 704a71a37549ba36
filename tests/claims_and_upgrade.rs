//! need_info answered with a pushed ID token, PCTs, and RPT upgrade: the authorization server
//! and uma-client end to end over loopback.

mod support;

use http::StatusCode;
use serde_json::Value;
use support::{CLIENT_ID, CLIENT_SECRET, OTHER_RS_ID, OTHER_RS_SECRET, World};
use uma_client::{
    ClientCredentials, GrantAuth, NeedInfo, PermissionRequest, PushedClaims, UmaClient,
    UmaGrantRequest,
};

/// doctor-app acting with its own credentials: the AS cannot tell who the person is.
fn client_only(world: &World) -> UmaClient {
    UmaClient::builder()
        .resource_server(support::origin(&world.album_url), &world.issuer)
        .auth(GrantAuth::Client(ClientCredentials::new(
            CLIENT_ID,
            CLIENT_SECRET,
        )))
        .build()
        .unwrap()
}

#[tokio::test]
async fn need_info_then_a_pushed_id_token_then_the_pct() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();

    // Without claims: need_info, asking for an ID token of this AS, with a new ticket.
    let uma = client_only(&world);
    let sent = support::ticket(&world).await;
    let needed = uma
        .redeem(&world.issuer, &UmaGrantRequest::new(sent.clone()))
        .await
        .unwrap_err()
        .into_need_info()
        .unwrap();
    assert_ne!(needed.ticket, sent);
    let claim = &needed.required_claims[0];
    assert_eq!(
        claim.claim_token_format,
        [uma_client::token::ID_TOKEN_FORMAT]
    );
    assert_eq!(claim.issuer, vec![world.issuer.clone()]);

    // Pushing Bob's ID token with the new ticket: an RPT for Bob, and a PCT.
    let id_token = world
        .authorization_server
        .id_token("bob", CLIENT_ID)
        .await
        .unwrap();
    let mut pushed = UmaGrantRequest::new(needed.ticket.clone());
    pushed.claim_token = Some(id_token.as_str().into());
    pushed.claim_token_format = Some(uma_client::token::ID_TOKEN_FORMAT.into());
    let token = uma.redeem(&world.issuer, &pushed).await.unwrap();
    let pct = token.pct.clone().expect("a PCT with the RPT");
    let introspection = world.protection.introspect(&token.rpt()).await.unwrap();
    assert_eq!(introspection.sub.as_deref(), Some("bob"));

    // The next grant needs no claims: the client sends its PCT (remembered by UmaClient).
    let again = uma
        .redeem(
            &world.issuer,
            &UmaGrantRequest::new(support::ticket(&world).await),
        )
        .await
        .unwrap();
    assert!(again.pct.is_none(), "no new claims, no new PCT");

    // Another client cannot use Bob's PCT: need_info again.
    world
        .authorization_server
        .share(&world.resource_id, "carol", ["view"])
        .await
        .unwrap();
    let other = UmaClient::builder()
        .resource_server(support::origin(&world.album_url), &world.issuer)
        .auth(GrantAuth::Client(ClientCredentials::new(
            OTHER_RS_ID,
            OTHER_RS_SECRET,
        )))
        .build()
        .unwrap();
    let mut stolen = UmaGrantRequest::new(support::ticket(&world).await);
    stolen.pct = Some(pct.clone());
    assert!(
        other
            .redeem(&world.issuer, &stolen)
            .await
            .is_err_and(|e| e.is_need_info())
    );

    // Revoked (token_type_hint=pct), it identifies no one any more.
    let revoked = reqwest::Client::new()
        .post(world.url("/revoke"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .form(&[("token", pct.as_str()), ("token_type_hint", "pct")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let mut after = UmaGrantRequest::new(support::ticket(&world).await);
    after.pct = Some(pct);
    assert!(
        uma.redeem(&world.issuer, &after)
            .await
            .is_err_and(|e| e.is_need_info())
    );
}

#[tokio::test]
async fn the_client_answers_need_info_by_itself_through_the_guard() {
    let world = World::start().await;
    world
        .authorization_server
        .share(&world.resource_id, "bob", ["view"])
        .await
        .unwrap();
    let id_token = world
        .authorization_server
        .id_token("bob", CLIENT_ID)
        .await
        .unwrap();
    let uma = UmaClient::builder()
        .resource_server(support::origin(&world.album_url), &world.issuer)
        .auth(GrantAuth::Client(ClientCredentials::new(
            CLIENT_ID,
            CLIENT_SECRET,
        )))
        .claim_token_source(move |_: &NeedInfo| {
            let id_token = id_token.clone();
            async move { Some(PushedClaims::id_token(id_token)) }
        })
        .build()
        .unwrap();
    let response = uma.get(&world.album_url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["viewer"], "bob");
}

#[tokio::test]
async fn an_rpt_is_upgraded_with_the_permissions_it_had() {
    let world = World::start().await;
    let second = world
        .protection
        .create_resource(
            &uma_client::ResourceDescription::new(["view"])
                .name("Second")
                .owner("alice"),
        )
        .await
        .unwrap();
    for resource in [&world.resource_id, &second] {
        world
            .authorization_server
            .share(resource, "bob", ["view"])
            .await
            .unwrap();
    }
    let uma = world.client_for("bob").await;
    let first = uma
        .redeem(
            &world.issuer,
            &UmaGrantRequest::new(support::ticket(&world).await),
        )
        .await
        .unwrap();
    assert_eq!(first.upgraded, None);

    let ticket = world
        .protection
        .request_permissions(vec![PermissionRequest::new(second.clone(), ["view"])])
        .await
        .unwrap();
    let mut upgrade = UmaGrantRequest::new(ticket);
    upgrade.rpt = Some(first.rpt());
    let upgraded = uma.redeem(&world.issuer, &upgrade).await.unwrap();
    assert_eq!(upgraded.upgraded, Some(true));

    let introspection = world.protection.introspect(&upgraded.rpt()).await.unwrap();
    let mut resources: Vec<String> = introspection
        .permissions
        .unwrap()
        .into_iter()
        .map(|p| p.resource_id)
        .collect();
    resources.sort();
    let mut expected = vec![world.resource_id.clone(), second];
    expected.sort();
    assert_eq!(resources, expected);
    // The old RPT is revoked.
    assert!(
        !world
            .protection
            .introspect(&first.rpt())
            .await
            .unwrap()
            .active
    );
}

#[tokio::test]
async fn an_rpt_of_someone_else_is_not_upgraded() {
    let world = World::start().await;
    for party in ["bob", "carol"] {
        world
            .authorization_server
            .share(&world.resource_id, party, ["view"])
            .await
            .unwrap();
    }
    let carols = world
        .client_for("carol")
        .await
        .redeem(
            &world.issuer,
            &UmaGrantRequest::new(support::ticket(&world).await),
        )
        .await
        .unwrap();
    let mut upgrade = UmaGrantRequest::new(support::ticket(&world).await);
    upgrade.rpt = Some(carols.rpt());
    let bobs = world
        .client_for("bob")
        .await
        .redeem(&world.issuer, &upgrade)
        .await
        .unwrap();
    assert_eq!(bobs.upgraded, None, "ignored, not an error");
    // Carol's RPT is untouched.
    assert!(
        world
            .protection
            .introspect(&carols.rpt())
            .await
            .unwrap()
            .active
    );
}

#[tokio::test]
async fn a_known_party_lacking_a_claim_is_asked_for_it_then_refused() {
    let server = uma_as_core::AuthorizationServer::builder()
        .client(uma_as_core::ClientConfig::new("photoz", "photoz-secret"))
        .client(uma_as_core::ClientConfig::new(CLIENT_ID, CLIENT_SECRET))
        .user("alice")
        .user(uma_as_core::UserConfig::new("bob").claim("email", "bob@gmail.example"))
        .user(uma_as_core::UserConfig::new("carol").claim("email", "carol@clinic.example"))
        .spawn()
        .await
        .unwrap();
    let protection = uma_client::ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new("photoz", "photoz-secret"))
        .build()
        .unwrap();
    let resource = protection
        .create_resource(&uma_client::ResourceDescription::new(["view"]).owner("alice"))
        .await
        .unwrap();
    // Alice shares with anyone whose e-mail is at the clinic.
    let alice = server.owner_token("alice", CLIENT_ID).await.unwrap();
    let created = reqwest::Client::new()
        .post(format!("{}/policy/{resource}", server.issuer()))
        .bearer_auth(alice.as_str())
        .json(&serde_json::json!({"scopes": ["view"], "claims": {"email": "*@clinic.example"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let ticket = || async {
        protection
            .request_permissions(vec![PermissionRequest::new(resource.clone(), ["view"])])
            .await
            .unwrap()
    };
    // A client that says nobody is asked who the party is, and for the claim the policy names.
    let anonymous = UmaClient::builder()
        .trust(server.issuer())
        .auth(GrantAuth::Client(ClientCredentials::new(
            CLIENT_ID,
            CLIENT_SECRET,
        )))
        .build()
        .unwrap();
    let needed = anonymous
        .redeem(server.issuer(), &UmaGrantRequest::new(ticket().await))
        .await
        .unwrap_err()
        .into_need_info()
        .unwrap();
    let names: Vec<Option<&str>> = needed
        .required_claims
        .iter()
        .map(|c| c.name.as_deref())
        .collect();
    assert_eq!(names, [Some("sub"), Some("email")]);
    let client_for = |user: &'static str| {
        let server = &server;
        async move {
            UmaClient::builder()
                .trust(server.issuer())
                .auth(GrantAuth::Bearer(
                    server.access_token(user, CLIENT_ID).await.unwrap(),
                ))
                .build()
                .unwrap()
        }
    };

    // Carol's e-mail matches.
    client_for("carol")
        .await
        .redeem(server.issuer(), &UmaGrantRequest::new(ticket().await))
        .await
        .unwrap();
    // Bob's does not: he is asked for the claim...
    let bob = client_for("bob").await;
    let needed = bob
        .redeem(server.issuer(), &UmaGrantRequest::new(ticket().await))
        .await
        .unwrap_err()
        .into_need_info()
        .unwrap();
    assert_eq!(needed.required_claims[0].name.as_deref(), Some("email"));
    // ...and pushing what he has does not make it match: a denial, not another need_info.
    let id_token = server.id_token("bob", CLIENT_ID).await.unwrap();
    let mut pushed = UmaGrantRequest::new(needed.ticket.clone());
    pushed.claim_token = Some(id_token.as_str().into());
    pushed.claim_token_format = Some(uma_client::token::ID_TOKEN_FORMAT.into());
    assert!(
        bob.redeem(server.issuer(), &pushed)
            .await
            .is_err_and(|e| e.is_request_denied())
    );
}

#[tokio::test]
async fn the_client_upgrades_its_rpt_through_the_guard() {
    use axum::Router;
    use axum::routing::get;
    use uma_rs_guard::{ResourceId, RouteResolver, UmaGuardLayer};

    let world = World::start().await;
    let second = world
        .protection
        .create_resource(
            &uma_client::ResourceDescription::new(["view"])
                .name("Second")
                .owner("alice"),
        )
        .await
        .unwrap();
    for resource in [&world.resource_id, &second] {
        world
            .authorization_server
            .share(resource, "bob", ["view"])
            .await
            .unwrap();
    }
    // One resource server, two albums.
    let guard = UmaGuardLayer::builder(&world.issuer)
        .protection_client(world.protection.clone())
        .resolver(
            RouteResolver::new()
                .route(
                    "/a",
                    ResourceId::fixed(&world.resource_id),
                    [(http::Method::GET, vec!["view"])],
                )
                .unwrap()
                .route(
                    "/b",
                    ResourceId::fixed(&second),
                    [(http::Method::GET, vec!["view"])],
                )
                .unwrap(),
        )
        .build()
        .unwrap();
    let app = Router::new()
        .route("/a", get(|| async { "a" }))
        .route("/b", get(|| async { "b" }))
        .layer(guard);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let uma = UmaClient::builder()
        .resource_server(&base, &world.issuer)
        .auth(GrantAuth::Bearer(world.token("bob").await))
        .build()
        .unwrap();
    assert_eq!(
        uma.get(format!("{base}/a"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "a"
    );
    // /b: the cached RPT is challenged, offered for upgrade, and replaced by one for both.
    assert_eq!(
        uma.get(format!("{base}/b"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "b"
    );
    // /a again: the upgraded RPT covers it; no third grant.
    assert_eq!(
        uma.get(format!("{base}/a"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "a"
    );
    let alice = world.owner_token("alice").await;
    let decisions: Value = reqwest::Client::new()
        .get(world.url("/decisions"))
        .bearer_auth(alice.as_str())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let decisions = decisions.as_array().unwrap();
    assert_eq!(decisions.len(), 2, "two grants for three requests");
    assert_eq!(
        decisions[0]["granted"].as_array().unwrap().len(),
        2,
        "the upgrade holds both"
    );
}
