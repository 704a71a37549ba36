//! Credentials minted without a sign-in, for tests and demos: only with the `testing` feature.
//! A production build leaves this out, so that nothing in it can issue a token that no user or
//! client asked for.

use uma_types::{AccessToken, UMA_PROTECTION_SCOPE};

use crate::error::Error;
use crate::secret;
use crate::server::AuthorizationServer;
use crate::store::{Policy, TokenKind};
use crate::time::now;

impl AuthorizationServer {
    /// Issues an access token (scope `openid`) for a configured user, as if they had signed in at
    /// `client_id`. The client presents it as `Authorization: Bearer` in the UMA grant to act for
    /// the user. It does not open the owner API: see [`owner_token`](Self::owner_token).
    pub async fn access_token(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<AccessToken, Error> {
        self.user_token(username, client_id, "openid").await
    }

    /// Issues a user's owner token for the owner API (policies, pending requests, decisions):
    /// an access token with scope `uma_protection`, as if she had consented to it at
    /// `client_id` through the authorization code grant. For tests and demos; real owners get it
    /// by signing in.
    pub async fn owner_token(&self, username: &str, client_id: &str) -> Result<AccessToken, Error> {
        self.user_token(username, client_id, UMA_PROTECTION_SCOPE)
            .await
    }

    async fn user_token(
        &self,
        username: &str,
        client_id: &str,
        scope: &str,
    ) -> Result<AccessToken, Error> {
        if !self.state.registry.is_user(username) {
            return Err(Error::UnknownParty(username.to_owned()));
        }
        if !self.state.registry.clients.contains_key(client_id) {
            return Err(Error::UnknownParty(client_id.to_owned()));
        }
        let kind = TokenKind::Access {
            scopes: vec![scope.to_owned()],
        };
        let (token, _) = self
            .state
            .issue_token(
                kind,
                client_id,
                username,
                self.state.issuance.lifetimes.access_token,
            )
            .await?;
        Ok(AccessToken::new(token))
    }

    /// Records the owner's decision to let `party` use `scopes` on a resource: a policy on it.
    /// Returns the policy's id.
    pub async fn share<S: Into<String>>(
        &self,
        resource_id: &str,
        party: &str,
        scopes: impl IntoIterator<Item = S>,
    ) -> Result<String, Error> {
        let resource = self
            .state
            .store
            .resource(resource_id)
            .await?
            .ok_or_else(|| Error::UnknownResource(resource_id.to_owned()))?;
        if !self.state.registry.is_user(party) && !self.state.registry.clients.contains_key(party) {
            return Err(Error::UnknownParty(party.to_owned()));
        }
        let policy = Policy {
            id: secret::new_id(),
            resource_id: resource.id,
            owner: resource.owner,
            scopes: scopes.into_iter().map(Into::into).collect(),
            users: vec![party.to_owned()],
            created_at: Some(now()),
            ..Policy::default()
        };
        let id = policy.id.clone();
        self.state.store.put_policy(policy).await?;
        Ok(id)
    }

    /// Issues an OpenID Connect ID token for a configured user, audience `client_id`: what a
    /// client pushes as a claim token (`claim_token_format` =
    /// `http://openid.net/specs/openid-connect-core-1_0.html#IDToken`).
    pub async fn id_token(&self, username: &str, client_id: &str) -> Result<String, Error> {
        if !self.state.registry.clients.contains_key(client_id) {
            return Err(Error::UnknownParty(client_id.to_owned()));
        }
        crate::id_token::id_token(&self.state, username, client_id, None, None)
            .map_err(|_| Error::UnknownParty(username.to_owned()))
    }

    /// A PAT of a configured client, as `client_credentials` with scope `uma_protection` gives.
    pub async fn pat(&self, client_id: &str) -> Result<AccessToken, Error> {
        if !self.state.registry.clients.contains_key(client_id) {
            return Err(Error::UnknownParty(client_id.to_owned()));
        }
        let kind = TokenKind::Access {
            scopes: vec![UMA_PROTECTION_SCOPE.to_owned()],
        };
        let (token, _) = self
            .state
            .issue_token(
                kind,
                client_id,
                client_id,
                self.state.issuance.lifetimes.access_token,
            )
            .await?;
        Ok(AccessToken::new(token))
    }
}
