//! Authorization of the protection API: every call carries a valid PAT (FedAuthz §1.3).

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::request::live_bearer_token;
use crate::server::{AppState, REALM, is_pat};

/// The PAT of a protection API call: who the resource server is and for which owner it acts.
#[derive(Debug)]
pub(crate) struct ProtectionAuth {
    /// The resource server's client id.
    pub(crate) resource_server: String,
    /// The resource owner the PAT represents; the client itself for a `client_credentials` PAT.
    pub(crate) owner: String,
}

impl ProtectionAuth {
    /// Whether the PAT is the resource server's own (from `client_credentials`), which acts for
    /// every owner it registers resources for.
    pub(crate) fn is_client_pat(&self) -> bool {
        self.owner == self.resource_server
    }

    /// A client authenticated with its own credentials: it acts as its `client_credentials` PAT
    /// would.
    pub(crate) fn client(client_id: String) -> Self {
        Self {
            owner: client_id.clone(),
            resource_server: client_id,
        }
    }

    /// The PAT in `Authorization: Bearer`, or the error to answer.
    pub(crate) async fn from_pat(headers: &HeaderMap, state: &AppState) -> Result<Self, ApiError> {
        let record = live_bearer_token(headers, &*state.store).await?;
        if !is_pat(&record) {
            return Err(ApiError::insufficient_scope(
                REALM,
                uma_types::UMA_PROTECTION_SCOPE,
            ));
        }
        Ok(Self {
            resource_server: record.client_id,
            owner: record.subject,
        })
    }

    /// Whether this PAT may see and change a resource: one its resource server registered, for
    /// its owner.
    pub(crate) fn may_manage(&self, resource: &crate::store::Resource) -> bool {
        resource.resource_server == self.resource_server
            && (self.is_client_pat() || resource.owner == self.owner)
    }
}

impl FromRequestParts<AppState> for ProtectionAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Self::from_pat(&parts.headers, state).await
    }
}
