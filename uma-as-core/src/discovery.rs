//! The discovery document (Grant §2, FedAuthz §2), served at both well-known locations.

use axum::Json;
use axum::extract::State;
use uma_client::{DiscoveryDocument, UMA_PROTECTION_SCOPE, UMA_TICKET_GRANT_TYPE};

use crate::server::{AppState, paths};

pub(crate) async fn document(State(state): State<AppState>) -> Json<DiscoveryDocument> {
    Json(DiscoveryDocument {
        issuer: state.issuer.clone(),
        token_endpoint: state.endpoint(paths::TOKEN),
        introspection_endpoint: Some(state.endpoint(paths::INTROSPECTION)),
        resource_registration_endpoint: Some(state.endpoint(paths::RESOURCE_REGISTRATION)),
        permission_endpoint: Some(state.endpoint(paths::PERMISSION)),
        grant_types_supported: vec![
            "client_credentials".to_owned(),
            UMA_TICKET_GRANT_TYPE.to_owned(),
        ],
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic".to_owned(),
            "client_secret_post".to_owned(),
        ],
        scopes_supported: vec![UMA_PROTECTION_SCOPE.to_owned()],
        ..DiscoveryDocument::default()
    })
}
