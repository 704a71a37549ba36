//! Round trips of every JSON body in the UMA 2.0 specs' examples (`spec-checklist.md` §T), with
//! the fixes its §15 lists: each verbatim body is read, written back, and compared as JSON.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uma_client::{
    DiscoveryDocument, ErrorCode, ErrorResponse, Introspection, PermissionRequest,
    PermissionTicket, RegisteredResource, ResourceDescription, ResourceRegistration,
    TicketResponse, TokenResponse, UmaChallenge, UmaGrantRequest,
    permission::PermissionRequestBody,
};

/// Reads `body` as `T` and writes it back; the result must equal the input exactly.
fn round_trip<T: DeserializeOwned + Serialize>(body: &str) -> T {
    let value: T = serde_json::from_str(body).expect("the spec's body parses");
    let original: Value = serde_json::from_str(body).unwrap();
    assert_eq!(serde_json::to_value(&value).unwrap(), original);
    value
}

#[test]
fn g08_success() {
    let token: TokenResponse = round_trip(
        r#"{  
   "access_token":"sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv",
   "token_type":"Bearer"
}"#,
    );
    assert_eq!(token.rpt().as_str(), "sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv");
    assert_eq!(token.scope, None);
}

#[test]
fn g09_success_with_pct() {
    let token: TokenResponse = round_trip(
        r#"{  
   "access_token":"sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv",
   "token_type":"Bearer",
   "pct":"c2F2ZWRjb25zZW50"
}"#,
    );
    assert_eq!(token.pct.unwrap().as_str(), "c2F2ZWRjb25zZW50");
}

#[test]
fn g10_upgraded() {
    let token: TokenResponse = round_trip(
        r#"{  
   "access_token":"sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv",
   "token_type":"Bearer",
   "upgraded":true
}"#,
    );
    assert_eq!(token.upgraded, Some(true));
}

#[test]
fn g11_invalid_grant() {
    let error: ErrorResponse = round_trip(
        r#"{  
   "error":"invalid_grant"
}"#,
    );
    assert_eq!(error.error, ErrorCode::InvalidGrant);
    assert_eq!(error.ticket, None);
}

#[test]
fn g12_need_info_with_required_claims() {
    let error: ErrorResponse = round_trip(
        r#"{  
   "error":"need_info",
   "ticket":"ZXJyb3JfZGV0YWlscw==",
   "required_claims":[  
      {  
         "claim_token_format":[  
            "http://openid.net/specs/openid-connect-core-1_0.html#IDToken"
         ],
         "claim_type":"urn:oid:0.9.2342.19200300.100.1.3",
         "friendly_name":"email",
         "issuer":[  
            "https://example.com/idp"
         ],
         "name":"email23423453ou453"
      }
   ]
}"#,
    );
    assert_eq!(error.error, ErrorCode::NeedInfo);
    assert_eq!(error.ticket.unwrap().as_str(), "ZXJyb3JfZGV0YWlscw==");
    let claim = &error.required_claims.unwrap()[0];
    assert_eq!(claim.issuer, ["https://example.com/idp"]);
    assert_eq!(claim.friendly_name.as_deref(), Some("email"));
}

#[test]
fn g13_need_info_with_redirect_user() {
    let error: ErrorResponse = round_trip(
        r#"{  
   "error":"need_info",
   "ticket":"ZXJyb3JfZGV0YWlscw==",
   "redirect_user":"https://as.example.com/rqp_claims?id=2346576421"
}"#,
    );
    assert_eq!(
        error.redirect_user.as_deref(),
        Some("https://as.example.com/rqp_claims?id=2346576421")
    );
}

#[test]
fn g14_request_denied() {
    let error: ErrorResponse = round_trip(
        r#"{  
   "error":"request_denied"
}"#,
    );
    assert_eq!(error.error, ErrorCode::RequestDenied);
}

#[test]
fn g15_request_submitted_corrected() {
    // §15.1: the Rec prints `"ticket?:?ZXJyb3JfZGV0YWlscw==",`; this is the intended body.
    let error: ErrorResponse =
        round_trip(r#"{"error":"request_submitted","ticket":"ZXJyb3JfZGV0YWlscw==","interval":5}"#);
    assert_eq!(error.error, ErrorCode::RequestSubmitted);
    assert_eq!(error.interval, Some(5));
    // The verbatim text is not JSON; a parser must say so rather than guess.
    assert!(
        serde_json::from_str::<ErrorResponse>(
            "{\"error\":\"request_submitted\",\"ticket?:?ZXJyb3JfZGV0YWlscw==\",\"interval\": 5}"
        )
        .is_err()
    );
}

#[test]
fn g02_challenge_and_g04_g05_grant_requests() {
    let challenge = UmaChallenge::parse(
        r#"UMA realm="example", as_uri="https://as.example.com", ticket="016f84e8-f9b9-11e0-bd6f-0021cc6004de""#,
    )
    .unwrap();
    let grant = UmaGrantRequest::new(challenge.ticket);
    let body = form(&grant.to_form());
    assert_eq!(
        body,
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket&ticket=016f84e8-f9b9-11e0-bd6f-0021cc6004de"
    );

    let mut upgrade = UmaGrantRequest::new(PermissionTicket::new(
        "016f84e8-f9b9-11e0-bd6f-0021cc6004de",
    ));
    upgrade.claim_token = Some("eyj0...".into());
    upgrade.claim_token_format = Some(uma_client::token::ID_TOKEN_FORMAT.into());
    upgrade.pct = Some("c2F2ZWRjb25zZW50".into());
    upgrade.rpt = Some("sbjsbhs(/SSJHBSUSSJHVhjsgvhsgvshgsv".into());
    upgrade.scope = Some("read".into());
    // §15.4: on the wire the RPT is percent-encoded.
    assert_eq!(
        form(&upgrade.to_form()),
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Auma-ticket\
         &ticket=016f84e8-f9b9-11e0-bd6f-0021cc6004de\
         &claim_token=eyj0...\
         &claim_token_format=http%3A%2F%2Fopenid.net%2Fspecs%2Fopenid-connect-core-1_0.html%23IDToken\
         &pct=c2F2ZWRjb25zZW50\
         &rpt=sbjsbhs%28%2FSSJHBSUSSJHVhjsgvhsgvshgsv\
         &scope=read"
    );
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    serializer.extend_pairs(pairs);
    serializer.finish()
}

#[test]
fn f01_resource_description() {
    let description: ResourceDescription = round_trip(
        r#"{  
   "resource_scopes":[  
      "view",
      "http://photoz.example.com/dev/scopes/print"
   ],
   "description":"Collection of digital photographs",
   "icon_uri":"http://www.example.com/icons/flower.png",
   "name":"Photo Album",
   "type":"http://www.example.com/rsrcs/photoalbum"
}"#,
    );
    assert_eq!(
        description.resource_type.as_deref(),
        Some("http://www.example.com/rsrcs/photoalbum")
    );
}

#[test]
fn f03_f07_create_and_update_bodies() {
    round_trip::<ResourceDescription>(
        r#"{  
   "resource_scopes":[  
      "read-public",
      "post-updates",
      "read-private",
      "http://www.example.com/scopes/all"
   ],
   "icon_uri":"http://www.example.com/icons/sharesocial.png",
   "name":"Tweedl Social Service",
   "type":"http://www.example.com/rsrcs/socialstream/140-compatible"
}"#,
    );
    round_trip::<ResourceDescription>(
        r#"{  
   "resource_scopes":[  
      "http://photoz.example.com/dev/scopes/view",
      "public-read"
   ],
   "description":"Collection of digital photographs",
   "icon_uri":"http://www.example.com/icons/sky.png",
   "name":"Photo Album",
   "type":"http://www.example.com/rsrcs/photoalbum"
}"#,
    );
}

#[test]
fn f04_f08_registration_responses() {
    let created: ResourceRegistration = round_trip(
        r#"{  
   "_id":"KX3A-39WE",
   "user_access_policy_uri":"http://as.example.com/rs/222/resource/KX3A-39WE/policy"
}"#,
    );
    assert_eq!(created.id, "KX3A-39WE");
    round_trip::<ResourceRegistration>(
        r#"{  
   "_id":"9UQU-DUWW"
}"#,
    );
}

#[test]
fn f06_read_response() {
    let read: RegisteredResource = round_trip(
        r#"{  
   "_id":"KX3A-39WE",
   "resource_scopes":[  
      "read-public",
      "post-updates",
      "read-private",
      "http://www.example.com/scopes/all"
   ],
   "icon_uri":"http://www.example.com/icons/sharesocial.png",
   "name":"Tweedl Social Service",
   "type":"http://www.example.com/rsrcs/socialstream/140-compatible"
}"#,
    );
    assert_eq!(read.description.resource_scopes.len(), 4);
}

#[test]
fn f12_list_response() {
    let ids: Vec<String> = round_trip(
        r#"[  
   "KX3A-39WE",
   "9UQU-DUWW"
]"#,
    );
    assert_eq!(ids, ["KX3A-39WE", "9UQU-DUWW"]);
}

#[test]
fn f13_f14_permission_requests() {
    let one: PermissionRequestBody = round_trip(
        r#"{  
   "resource_id":"112210f47de98100",
   "resource_scopes":[  
      "view",
      "http://photoz.example.com/dev/actions/print"
   ]
}"#,
    );
    assert_eq!(one.into_permissions().len(), 1);
    let many: PermissionRequestBody = round_trip(
        r#"[  
   {  
      "resource_id":"7b727369647d",
      "resource_scopes":[  
         "view",
         "crop",
         "lightbox"
      ]
   },
   {  
      "resource_id":"7b72736964327d",
      "resource_scopes":[  
         "view",
         "layout",
         "print"
      ]
   },
   {  
      "resource_id":"7b72736964337d",
      "resource_scopes":[  
         "http://www.example.com/scopes/all"
      ]
   }
]"#,
    );
    let permissions = many.into_permissions();
    assert_eq!(permissions.len(), 3);
    assert_eq!(
        permissions[2],
        PermissionRequest::new("7b72736964337d", ["http://www.example.com/scopes/all"])
    );
}

#[test]
fn f15_ticket_response() {
    let response: TicketResponse = round_trip(
        r#"{  
   "ticket":"016f84e8-f9b9-11e0-bd6f-0021cc6004de"
}"#,
    );
    assert_eq!(
        response.ticket.as_str(),
        "016f84e8-f9b9-11e0-bd6f-0021cc6004de"
    );
}

#[test]
fn f17_introspection_keeps_spec_members_and_adds_keycloaks() {
    let body = r#"{  
   "active":true,
   "exp":1256953732,
   "iat":1256912345,
   "permissions":[  
      {  
         "resource_id":"112210f47de98100",
         "resource_scopes":[  
            "view",
            "http://photoz.example.com/dev/actions/print"
         ],
         "exp":1256953732
      }
   ]
}"#;
    let introspection: Introspection = serde_json::from_str(body).unwrap();
    let permissions = introspection.permissions.as_ref().unwrap();
    assert_eq!(permissions[0].resource_id, "112210f47de98100");
    assert!(permissions[0].has_scope("view"));
    let written = serde_json::to_value(&introspection).unwrap();
    assert_eq!(
        written,
        json!({
            "active": true, "exp": 1256953732u64, "iat": 1256912345u64,
            "permissions": [{
                "resource_id": "112210f47de98100",
                "resource_scopes": ["view", "http://photoz.example.com/dev/actions/print"],
                "rsid": "112210f47de98100",
                "scopes": ["view", "http://photoz.example.com/dev/actions/print"],
                "exp": 1256953732u64
            }]
        })
    );
    assert!(written.get("scope").is_none());
}

#[test]
fn keycloak_introspection_dialect() {
    let introspection: Introspection = serde_json::from_value(json!({
        "active": true,
        "permissions": [{"rsid": "r1", "rsname": "Album", "scopes": ["view"]}]
    }))
    .unwrap();
    let permission = &introspection.permissions.unwrap()[0];
    assert_eq!(permission.resource_id, "r1");
    assert_eq!(permission.resource_name.as_deref(), Some("Album"));
    assert!(permission.has_scope("view"));
}

#[test]
fn keycloak_resource_dialect() {
    let read: RegisteredResource = serde_json::from_value(json!({
        "_id": "r1",
        "name": "Album",
        "owner": {"id": "5f1c", "name": "alice"},
        "ownerManagedAccess": true,
        "resource_scopes": [{"id": "s1", "name": "view"}, {"name": "edit"}],
        "uris": ["/albums/1"]
    }))
    .unwrap();
    assert_eq!(read.description.owner.as_deref(), Some("alice"));
    assert_eq!(read.description.resource_scopes, ["view", "edit"]);
}

#[test]
fn f18_and_r05() {
    let error: ErrorResponse = round_trip(
        r#"{
  "error": "invalid_resource_id",
  "error_description": "Permission request failed with bad resource ID.",
  "error_uri": "https://as.example.com/uma_errors/invalid_resource_id"
}"#,
    );
    assert_eq!(error.error, ErrorCode::InvalidResourceId);
    let inactive: Introspection = round_trip(
        r#"{
  "active": false
}"#,
    );
    assert_eq!(inactive, Introspection::inactive());
}

#[test]
fn discovery_document_of_checklist_2_2() {
    let document: DiscoveryDocument = round_trip(
        r#"{
  "issuer": "https://as.example.com",
  "authorization_endpoint": "https://as.example.com/authorize",
  "token_endpoint": "https://as.example.com/token",
  "jwks_uri": "https://as.example.com/jwks",
  "registration_endpoint": "https://as.example.com/register",
  "response_types_supported": ["code"],
  "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token",
                            "urn:ietf:params:oauth:grant-type:uma-ticket"],
  "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
  "scopes_supported": ["uma_protection"],
  "introspection_endpoint": "https://as.example.com/introspect",
  "revocation_endpoint": "https://as.example.com/revoke",
  "claims_interaction_endpoint": "https://as.example.com/rqp_claims",
  "permission_endpoint": "https://as.example.com/perm",
  "resource_registration_endpoint": "https://as.example.com/rreg/"
}"#,
    );
    assert_eq!(
        document.permission_endpoint.as_deref(),
        Some("https://as.example.com/perm")
    );
    // Empty arrays are never written (RFC 8414 §3.2).
    let bare = DiscoveryDocument {
        issuer: "https://as".into(),
        token_endpoint: "https://as/token".into(),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_value(&bare).unwrap(),
        json!({"issuer": "https://as", "token_endpoint": "https://as/token"})
    );
}
