//! The discovery document (Grant §2, FedAuthz §2), served at both well-known locations.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uma_types::{DiscoveryDocument, UMA_PROTECTION_SCOPE, UMA_TICKET_GRANT_TYPE};

use crate::keycloak::paths as keycloak;
use crate::server::{AppState, Issuance, paths};

/// The JWKS: the public keys of every token that may still be alive.
pub(crate) async fn jwks(State(issuance): State<Arc<Issuance>>) -> Response {
    let body = issuance.keys.jwks(issuance.lifetimes.longest_signed());
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            // Short enough that a rotation is seen soon, long enough to spare the server.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("max-age=60"),
            ),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn document(State(state): State<AppState>) -> Json<DiscoveryDocument> {
    // In Keycloak's realm mode, Keycloak's paths for what it names differently.
    let kc = state.keycloak_paths;
    let path = |spec: &'static str, keycloak: &'static str| {
        state.issuer.endpoint(if kc { keycloak } else { spec })
    };
    Json(DiscoveryDocument {
        issuer: state.issuer.as_str().to_owned(),
        token_endpoint: path(paths::TOKEN, keycloak::TOKEN),
        introspection_endpoint: Some(path(paths::INTROSPECTION, keycloak::INTROSPECTION)),
        resource_registration_endpoint: Some(path(
            paths::RESOURCE_REGISTRATION,
            keycloak::RESOURCE_REGISTRATION,
        )),
        permission_endpoint: Some(path(paths::PERMISSION, keycloak::PERMISSION)),
        jwks_uri: Some(path(paths::JWKS, keycloak::JWKS)),
        authorization_endpoint: Some(path(paths::AUTHORIZE, keycloak::AUTHORIZE)),
        response_types_supported: vec!["code".to_owned()],
        code_challenge_methods_supported: vec!["S256".to_owned()],
        claims_interaction_endpoint: Some(state.issuer.endpoint(paths::CLAIMS)),
        revocation_endpoint: Some(path(paths::REVOCATION, keycloak::REVOCATION)),
        policy_endpoint: Some(path(paths::POLICY, keycloak::UMA_POLICY)),
        grant_types_supported: grant_types(&state),
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic".to_owned(),
            "client_secret_post".to_owned(),
        ],
        scopes_supported: vec![
            UMA_PROTECTION_SCOPE.to_owned(),
            "openid".to_owned(),
            "profile".to_owned(),
            "email".to_owned(),
        ],
        ..DiscoveryDocument::default()
    })
}

/// `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §3): the server issues ID
/// tokens, so generic OpenID clients find it as a provider: the UMA document's members and the
/// provider's own.
pub(crate) async fn openid_document(State(state): State<AppState>) -> Json<Value> {
    let Json(document) = document(State(state.clone())).await;
    let mut value = serde_json::to_value(document).unwrap_or_else(|_| json!({}));
    if let Some(members) = value.as_object_mut() {
        members.insert(
            "userinfo_endpoint".into(),
            json!(state.issuer.endpoint(paths::USERINFO)),
        );
        members.insert("subject_types_supported".into(), json!(["public"]));
        if state.keycloak_paths {
            members.insert(
                "end_session_endpoint".into(),
                json!(state.issuer.endpoint(keycloak::LOGOUT)),
            );
        }
        members.insert(
            "id_token_signing_alg_values_supported".into(),
            json!([state.issuance.keys.alg().as_str()]),
        );
        members.insert(
            "claims_supported".into(),
            json!([
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "nonce",
                "preferred_username"
            ]),
        );
    }
    Json(value)
}

fn grant_types(state: &AppState) -> Vec<String> {
    let mut grants = vec![
        "authorization_code",
        "client_credentials",
        "refresh_token",
        UMA_TICKET_GRANT_TYPE,
    ];
    if state.sign_in.password_grant {
        grants.insert(2, "password");
    }
    grants.into_iter().map(str::to_owned).collect()
}
