//! The server's background upkeep, off the request path: every tick it reloads the signing keys
//! (so that a key another replica published is known before it signs), rotates the key when due,
//! drops keys no live token can need, and purges expired and retired rows in bounded batches.

use std::sync::Weak;
use std::time::Duration;

use crate::server::Inner;
use crate::store::StoreError;
use crate::time::now;

/// Rows of each kind deleted per batch: few, because on SQLite a batch is one commit that a
/// request's write may wait behind (a first soak with batches of 1,000 tripled the p99 of grants
/// once purging began; whether 32 beats 128 is not measured: at 500 grants a second purges
/// cost 2% of the server's CPU and the machine's noise hid any difference).
const BATCH: usize = 32;

/// Batches per tick at most (128,000 rows of each kind, ten times what 1,000 grants a second
/// expire in a 10-s tick), so that a backlog (a first start on an old file) is worked off over
/// several ticks rather than in one long burst.
const MAX_BATCHES: usize = 4_000;

/// Runs until the server is dropped.
pub(crate) async fn run(server: Weak<Inner>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await; // the first tick is immediate; the keys were just loaded
    loop {
        ticks.tick().await;
        let Some(server) = server.upgrade() else {
            return;
        };
        if let Err(error) = tick(&server).await {
            // The next tick tries again; requests are not affected by a failed upkeep.
            tracing::warn!(%error, "maintenance failed");
        }
    }
}

/// One round of upkeep.
pub(crate) async fn tick(server: &Inner) -> Result<(), StoreError> {
    let store = server.store.as_ref();
    server.issuance.keys.reload(store).await?;
    if let Some(every) = server.issuance.key_rotation {
        server
            .issuance
            .keys
            .rotate_if_due(store, every, server.issuance.key_publication)
            .await?;
    }
    let now = now();
    let keep_published = server.issuance.lifetimes.longest_signed();
    let expired = server.issuance.keys.expired(keep_published, now);
    if !expired.is_empty() {
        store.delete_signing_keys(&expired).await?;
        server.issuance.keys.reload(store).await?;
    }
    let kept_since = now.saturating_sub(server.approvals.decision_retention.as_secs());
    for _ in 0..MAX_BATCHES {
        if store.purge(now, kept_since, BATCH).await? == 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::AuthorizationServer;
    use crate::secret::TokenHash;
    use crate::store::{MemoryStore, Store};

    /// One round of upkeep drops what expired and the key no live token needs, and keeps the
    /// rest.
    #[tokio::test]
    async fn a_tick_purges_the_expired_and_deletes_keys_no_token_needs() {
        let store = Arc::new(MemoryStore::new());
        let server = AuthorizationServer::builder()
            .issuer("http://as.test")
            .store(store.clone())
            .signing_key_publication(Duration::ZERO)
            // Signed tokens live no time at all: a replaced key is needed by none.
            .rpt_lifetime(Duration::ZERO)
            .access_token_lifetime(Duration::ZERO)
            .build()
            .await
            .unwrap();
        let token = crate::store::tests::pct_until;
        store
            .put_token(TokenHash::of("expired"), token(now() - 1))
            .await
            .unwrap();
        store
            .put_token(TokenHash::of("live"), token(now() + 60))
            .await
            .unwrap();
        let new_kid = server.rotate_signing_key().await.unwrap();
        assert_eq!(store.signing_keys().await.unwrap().len(), 2);

        tick(&server.state).await.unwrap();

        assert_eq!(store.token(&TokenHash::of("expired")).await.unwrap(), None);
        assert!(store.token(&TokenHash::of("live")).await.unwrap().is_some());
        let kids: Vec<String> = store
            .signing_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(kids, [new_kid]);
    }
}
