//! The UserInfo endpoint (OIDC Core §5.3): what an access token with the `openid` scope says
//! about its user, the same claims as the ID token (`sub`, `preferred_username`, the configured
//! claims). Any other token is refused: a PAT, an RPT, a client's own token, a token without
//! `openid` (TM-1, TM-10).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::request::live_bearer_token;
use crate::server::{REALM, Registry};
use crate::store::{Store, TokenKind};

/// `GET` or `POST {issuer}/userinfo` with `Authorization: Bearer`.
pub(crate) async fn userinfo(
    State(store): State<Arc<dyn Store>>,
    State(registry): State<Arc<Registry>>,
    headers: HeaderMap,
) -> Result<Json<Map<String, Value>>, ApiError> {
    let record = live_bearer_token(&headers, &*store).await?;
    let user = match &record.kind {
        TokenKind::Access { scopes } if scopes.iter().any(|s| s == "openid") => {
            registry.users.get(&record.subject)
        }
        _ => None,
    };
    let Some(user) = user else {
        return Err(ApiError::insufficient_scope(REALM, "openid"));
    };
    let mut claims = Map::new();
    claims.insert("sub".to_owned(), Value::from(record.subject.as_str()));
    claims.insert(
        "preferred_username".to_owned(),
        Value::from(record.subject.as_str()),
    );
    for (name, value) in &user.claims {
        claims.insert(name.clone(), Value::from(value.as_str()));
    }
    Ok(Json(claims))
}
