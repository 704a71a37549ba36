//! SQLite storage: one file that survives restarts, in WAL mode, every write durable before it is
//! acknowledged.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::{Policy, Resource, SigningKey, Store, StoreError, Ticket, TokenRecord};
use crate::secret::TokenHash;
use crate::time::now;

/// Expired tickets and tokens are deleted once every this many inserts.
const PURGE_EVERY: usize = 1024;

/// Keeps the server's state in one SQLite database file.
///
/// ```no_run
/// # async fn run() -> Result<(), uma_as_core::store::StoreError> {
/// let store = uma_as_core::store::SqliteStore::open("uma-as.db").await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    inserts: AtomicUsize,
}

fn failed(error: impl std::fmt::Display) -> StoreError {
    StoreError(error.to_string())
}

fn to_json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(failed)
}

fn from_json<T: DeserializeOwned>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError(format!("corrupt record: {e}")))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before it returns, so an acknowledged write survives a
            // power cut (NORMAL in WAL mode can lose the last commits).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|e| StoreError(format!("cannot open the database: {e}")))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError(format!("cannot migrate the database: {e}")))?;
        Ok(Self {
            pool,
            inserts: AtomicUsize::new(0),
        })
    }

    async fn purge_now_and_then(&self) -> Result<(), StoreError> {
        if self.inserts.fetch_add(1, Ordering::Relaxed) % PURGE_EVERY != PURGE_EVERY - 1 {
            return Ok(());
        }
        let now = now() as i64;
        for table in ["tickets", "tokens"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= ?1"))
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(failed)?;
        }
        Ok(())
    }

    async fn one<'q, T, K>(&self, sql: &'q str, key: K) -> Result<Option<T>, StoreError>
    where
        T: DeserializeOwned,
        K: 'q + sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send,
    {
        let row: Option<(String,)> = sqlx::query_as(sql)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(failed)?;
        row.map(|(body,)| from_json(&body)).transpose()
    }

    async fn all<'q, T: DeserializeOwned>(
        &self,
        query: sqlx::query::QueryAs<'q, sqlx::Sqlite, (String,), sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Result<Vec<T>, StoreError> {
        query
            .fetch_all(&self.pool)
            .await
            .map_err(failed)?
            .iter()
            .map(|(body,)| from_json(body))
            .collect()
    }

    async fn delete<'q, K>(&self, sql: &'q str, key: K) -> Result<bool, StoreError>
    where
        K: 'q + sqlx::Encode<'q, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + Send,
    {
        let result = sqlx::query(sql)
            .bind(key)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        Ok(result.rows_affected() > 0)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn put_resource(&self, resource: Resource) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO resources (id, resource_server, owner, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET resource_server = excluded.resource_server,
                 owner = excluded.owner, body = excluded.body",
        )
        .bind(&resource.id)
        .bind(&resource.resource_server)
        .bind(&resource.owner)
        .bind(to_json(&resource)?)
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn resource(&self, id: &str) -> Result<Option<Resource>, StoreError> {
        self.one("SELECT body FROM resources WHERE id = ?1", id)
            .await
    }

    async fn delete_resource(&self, id: &str) -> Result<bool, StoreError> {
        // Policies go with it (ON DELETE CASCADE).
        self.delete("DELETE FROM resources WHERE id = ?1", id).await
    }

    async fn resources(
        &self,
        resource_server: &str,
        owner: Option<&str>,
    ) -> Result<Vec<Resource>, StoreError> {
        let query = match owner {
            Some(owner) => sqlx::query_as(
                "SELECT body FROM resources WHERE resource_server = ?1 AND owner = ?2 ORDER BY id",
            )
            .bind(resource_server)
            .bind(owner),
            None => {
                sqlx::query_as("SELECT body FROM resources WHERE resource_server = ?1 ORDER BY id")
                    .bind(resource_server)
            }
        };
        self.all(query).await
    }

    async fn put_policy(&self, policy: Policy) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO policies (id, resource_id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
        )
        .bind(&policy.id)
        .bind(&policy.resource_id)
        .bind(to_json(&policy)?)
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn policy(&self, id: &str) -> Result<Option<Policy>, StoreError> {
        self.one("SELECT body FROM policies WHERE id = ?1", id)
            .await
    }

    async fn delete_policy(&self, id: &str) -> Result<bool, StoreError> {
        self.delete("DELETE FROM policies WHERE id = ?1", id).await
    }

    async fn policies_for(&self, resource_id: &str) -> Result<Vec<Policy>, StoreError> {
        self.all(
            sqlx::query_as("SELECT body FROM policies WHERE resource_id = ?1").bind(resource_id),
        )
        .await
    }

    async fn put_ticket(&self, hash: TokenHash, ticket: Ticket) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tickets (hash, expires_at, body) VALUES (?1, ?2, ?3)")
            .bind(&hash.as_bytes()[..])
            .bind(ticket.expires_at as i64)
            .bind(to_json(&ticket)?)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        self.purge_now_and_then().await
    }

    async fn take_ticket(&self, hash: &TokenHash) -> Result<Option<Ticket>, StoreError> {
        // One statement: of concurrent redemptions exactly one deletes the row and gets it back.
        self.one(
            "DELETE FROM tickets WHERE hash = ?1 RETURNING body",
            &hash.as_bytes()[..],
        )
        .await
    }

    async fn put_token(&self, hash: TokenHash, token: TokenRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO tokens (hash, expires_at, body) VALUES (?1, ?2, ?3)")
            .bind(&hash.as_bytes()[..])
            .bind(token.expires_at as i64)
            .bind(to_json(&token)?)
            .execute(&self.pool)
            .await
            .map_err(failed)?;
        self.purge_now_and_then().await
    }

    async fn token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.one(
            "SELECT body FROM tokens WHERE hash = ?1",
            &hash.as_bytes()[..],
        )
        .await
    }

    async fn delete_token(&self, hash: &TokenHash) -> Result<bool, StoreError> {
        self.delete("DELETE FROM tokens WHERE hash = ?1", &hash.as_bytes()[..])
            .await
    }

    async fn put_signing_key(&self, key: SigningKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, body) VALUES (?1, ?2)
             ON CONFLICT (kid) DO UPDATE SET body = excluded.body",
        )
        .bind(&key.kid)
        .bind(to_json(&key)?)
        .execute(&self.pool)
        .await
        .map_err(failed)?;
        Ok(())
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        self.all(sqlx::query_as("SELECT body FROM signing_keys"))
            .await
    }
}
