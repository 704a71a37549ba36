//! PostgreSQL storage: one database shared by any number of `uma-as` processes.
//!
//! Every [`Store`] operation is one statement or one transaction, so that replicas behave as one
//! server: a ticket, code or refresh token is taken by one `DELETE … RETURNING` or one counted
//! `DELETE`, which PostgreSQL's row locks let exactly one of any number of concurrent callers win;
//! an RPT is stored only after the policies it relies on are locked and found at their revision.

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Postgres, Transaction};

use super::{
    Decision, DecisionCursor, PendingRequest, Policy, Resource, RptStored, SigningKey, Store,
    StoreError, Ticket, TokenRecord,
};
use crate::secret::TokenHash;

/// Keeps the server's state in a PostgreSQL database.
///
/// ```no_run
/// # async fn run() -> Result<(), uma_as_core::store::StoreError> {
/// let store = uma_as_core::store::PostgresStore::connect("postgres://uma@db.internal/uma").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    timeout: Duration,
}

/// How long an operation may wait for a connection and its statements before the store answers
/// that the database is unavailable (and the server `503`).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connection idle longer than this is pinged before it serves an operation.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

impl PostgresStore {
    /// Connections in the pool unless told otherwise: enough for two cores' worth of concurrent
    /// requests, few enough that several replicas stay well inside PostgreSQL's default
    /// `max_connections` of 100.
    pub const DEFAULT_CONNECTIONS: u32 = 16;

    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, with any
    /// parameter libpq's URLs take) and brings its schema up to date.
    ///
    /// Replicas starting together migrate once: the migrator holds an advisory lock.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, Self::DEFAULT_CONNECTIONS, DEFAULT_TIMEOUT).await
    }

    /// [`PostgresStore::connect`] with a pool of at most `connections`, and `timeout` for each
    /// operation (waiting for a connection included).
    pub async fn connect_with(
        url: &str,
        connections: u32,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e| StoreError::new(format!("invalid PostgreSQL URL: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(timeout)
            // sqlx pings a connection on release (in the background) and, by default, again on
            // acquire: a round trip before every operation, a third of a grant's. Only a
            // connection idle long enough for the database to have gone away meanwhile is
            // pinged before use; a broken one is then dropped and another taken.
            .test_before_acquire(false)
            .before_acquire(|connection, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_BEFORE_PING {
                        connection.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::new(format!("cannot migrate the database: {e}")))?;
        Ok(Self { pool, timeout })
    }

    /// Runs one operation under the store's timeout.
    async fn run<T>(
        &self,
        operation: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, operation).await {
            Ok(result) => result.map_err(failed),
            Err(_) => Err(StoreError::unavailable(format!(
                "PostgreSQL did not answer within {:?}",
                self.timeout
            ))),
        }
    }

    async fn one<T: DeserializeOwned>(
        &self,
        sql: &'static str,
        key: impl for<'q> sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres> + Send,
    ) -> Result<Option<T>, StoreError> {
        let row: Option<(String,)> = self
            .run(sqlx::query_as(sql).bind(key).fetch_optional(&self.pool))
            .await?;
        row.map(|(body,)| from_json(&body)).transpose()
    }

    async fn execute(
        &self,
        query: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<u64, StoreError> {
        Ok(self.run(query.execute(&self.pool)).await?.rows_affected())
    }
}

/// Connection failures, pool timeouts and a database shutting down are worth retrying; the rest
/// (a constraint, a bad statement) are not.
fn failed(error: sqlx::Error) -> StoreError {
    let unavailable = match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        // Class 08 (connection exception), 57P (operator intervention: shutdown, crash
        // recovery), 53300 (too many connections).
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "53300"),
        _ => false,
    };
    if unavailable {
        StoreError::unavailable(error.to_string())
    } else {
        StoreError::new(error.to_string())
    }
}

fn to_json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::new(e.to_string()))
}

fn from_json<T: DeserializeOwned>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::new(format!("corrupt record: {e}")))
}

/// Seconds since the epoch as PostgreSQL's `BIGINT`; instants past its range are the end of time.
fn seconds(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Stores a token inside `transaction`.
async fn insert_token(
    transaction: &mut Transaction<'_, Postgres>,
    key: &TokenHash,
    token: &TokenRecord,
    replace: bool,
) -> Result<bool, sqlx::Error> {
    let body = serde_json::to_string(token).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let sql = if replace {
        "INSERT INTO tokens (hash, expires_at, body) VALUES ($1, $2, $3)
         ON CONFLICT (hash) DO UPDATE SET expires_at = excluded.expires_at, body = excluded.body"
    } else {
        "INSERT INTO tokens (hash, expires_at, body) VALUES ($1, $2, $3)"
    };
    let stored = sqlx::query(sql)
        .bind(&key.as_bytes()[..])
        .bind(seconds(token.expires_at))
        .bind(body)
        .execute(&mut **transaction)
        .await?
        .rows_affected()
        == 1;
    Ok(stored)
}

#[async_trait]
impl Store for PostgresStore {
    async fn put_resource(&self, resource: Resource) -> Result<(), StoreError> {
        let body = to_json(&resource)?;
        self.execute(
            sqlx::query(
                "INSERT INTO resources (id, resource_server, owner, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET resource_server = excluded.resource_server,
                     owner = excluded.owner, body = excluded.body",
            )
            .bind(&resource.id)
            .bind(&resource.resource_server)
            .bind(&resource.owner)
            .bind(body),
        )
        .await
        .map(drop)
    }

    async fn resource(&self, id: &str) -> Result<Option<Resource>, StoreError> {
        self.one("SELECT body FROM resources WHERE id = $1", id.to_owned())
            .await
    }

    async fn delete_resource(&self, id: &str) -> Result<bool, StoreError> {
        // Policies go with it (ON DELETE CASCADE).
        let deleted = self
            .execute(sqlx::query("DELETE FROM resources WHERE id = $1").bind(id))
            .await?;
        Ok(deleted > 0)
    }

    async fn resources(
        &self,
        resource_server: &str,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let rows: Vec<(String,)> = self
            .run(
                sqlx::query_as(
                    "SELECT body FROM resources
                     WHERE resource_server = $1 AND ($2::text IS NULL OR owner = $2) AND id > $3
                     ORDER BY id LIMIT $4",
                )
                .bind(resource_server)
                .bind(owner)
                .bind(after.unwrap_or(""))
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.pool),
            )
            .await?;
        rows.iter().map(|(body,)| from_json(body)).collect()
    }

    async fn resources_named(
        &self,
        resource_server: &str,
        name: &str,
    ) -> Result<Vec<Resource>, StoreError> {
        let rows: Vec<(String,)> = self
            .run(
                sqlx::query_as(
                    "SELECT body FROM resources
                     WHERE resource_server = $1
                       AND ((body::jsonb) -> 'description' ->> 'name') = $2
                     ORDER BY id LIMIT 2",
                )
                .bind(resource_server)
                .bind(name)
                .fetch_all(&self.pool),
            )
            .await?;
        rows.iter().map(|(body,)| from_json(body)).collect()
    }

    async fn resources_of(
        &self,
        owner: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        // No cursor is the cursor before every resource, so that each page is one index range.
        let (server, id) = after.unwrap_or(("", ""));
        let rows: Vec<(String,)> = self
            .run(
                sqlx::query_as(
                    "SELECT body FROM resources
                     WHERE owner = $1 AND (resource_server, id) > ($2, $3)
                     ORDER BY resource_server, id LIMIT $4",
                )
                .bind(owner)
                .bind(server)
                .bind(id)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.pool),
            )
            .await?;
        rows.iter().map(|(body,)| from_json(body)).collect()
    }

    async fn put_policy(&self, policy: Policy) -> Result<(), StoreError> {
        let body = to_json(&policy)?;
        self.execute(
            sqlx::query(
                "INSERT INTO policies (id, resource_id, revision, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, body = excluded.body",
            )
            .bind(&policy.id)
            .bind(&policy.resource_id)
            .bind(seconds(policy.revision))
            .bind(body),
        )
        .await
        .map(drop)
    }

    async fn policy(&self, id: &str) -> Result<Option<Policy>, StoreError> {
        self.one("SELECT body FROM policies WHERE id = $1", id.to_owned())
            .await
    }

    async fn delete_policy(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self
            .execute(sqlx::query("DELETE FROM policies WHERE id = $1").bind(id))
            .await?;
        Ok(deleted > 0)
    }

    async fn policies_for(&self, resource_id: &str) -> Result<Vec<Policy>, StoreError> {
        let rows: Vec<(String,)> = self
            .run(
                sqlx::query_as("SELECT body FROM policies WHERE resource_id = $1 ORDER BY id")
                    .bind(resource_id)
                    .fetch_all(&self.pool),
            )
            .await?;
        rows.iter().map(|(body,)| from_json(body)).collect()
    }

    async fn policies_naming(
        &self,
        user: &str,
        groups: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Policy>, StoreError> {
        // Each condition as the GIN indexes on `users` and `groups` are written.
        let rows: Vec<(String,)> = self
            .run(
                sqlx::query_as(
                    "SELECT body FROM policies
                     WHERE (((body::jsonb) -> 'users') ? $1 OR ((body::jsonb) -> 'groups') ?| $2)
                       AND (body::jsonb) ->> 'owner' <> $1 AND ($3::text IS NULL OR id > $3)
                     ORDER BY id LIMIT $4",
                )
                .bind(user)
                .bind(groups)
                .bind(after)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                .fetch_all(&self.pool),
            )
            .await?;
        rows.iter().map(|(body,)| from_json(body)).collect()
    }

    async fn put_ticket(&self, key: TokenHash, ticket: Ticket) -> Result<(), StoreError> {
        let body = to_json(&ticket)?;
        self.execute(
            sqlx::query("INSERT INTO tickets (hash, expires_at, body) VALUES ($1, $2, $3)")
                .bind(&key.as_bytes()[..])
                .bind(seconds(ticket.expires_at))
                .bind(body),
        )
        .await
        .map(drop)
    }

    async fn take_ticket(&self, key: &TokenHash) -> Result<Option<Ticket>, StoreError> {
        // Of concurrent deletes of one row, on any replicas, one returns it; the others wait for
        // its commit and find nothing.
        let row: Option<(String,)> = self
            .run(
                sqlx::query_as("DELETE FROM tickets WHERE hash = $1 RETURNING body")
                    .bind(&key.as_bytes()[..])
                    .fetch_optional(&self.pool),
            )
            .await?;
        row.map(|(body,)| from_json(&body)).transpose()
    }

    async fn ticket(&self, key: &TokenHash) -> Result<Option<Ticket>, StoreError> {
        let row: Option<(String,)> = self
            .run(
                sqlx::query_as("SELECT body FROM tickets WHERE hash = $1")
                    .bind(&key.as_bytes()[..])
                    .fetch_optional(&self.pool),
            )
            .await?;
        row.map(|(body,)| from_json(&body)).transpose()
    }

    async fn put_token(&self, key: TokenHash, token: TokenRecord) -> Result<(), StoreError> {
        self.run(async {
            let mut transaction = self.pool.begin().await?;
            insert_token(&mut transaction, &key, &token, true).await?;
            transaction.commit().await
        })
        .await
    }

    async fn put_rpt(
        &self,
        rpt: (TokenHash, TokenRecord),
        refresh: Option<(TokenHash, TokenRecord)>,
        decision: Option<Decision>,
        ticket: Option<&TokenHash>,
    ) -> Result<RptStored, StoreError> {
        let relied = rpt.1.kind.policies();
        let ids: Vec<&str> = relied.iter().map(|p| p.id.as_str()).collect();
        let revisions: Vec<i64> = relied.iter().map(|p| seconds(p.revision)).collect();
        let tokens: Vec<&(TokenHash, TokenRecord)> =
            std::iter::once(&rpt).chain(&refresh).collect();
        let mut hashes = Vec::with_capacity(tokens.len());
        let mut expiries = Vec::with_capacity(tokens.len());
        let mut bodies = Vec::with_capacity(tokens.len());
        for (key, token) in &tokens {
            hashes.push(key.as_bytes().to_vec());
            expiries.push(seconds(token.expires_at));
            bodies.push(to_json(token)?);
        }
        let decided = decision
            .as_ref()
            .map(super::compact::encode_decision)
            .transpose()?;
        let decided_resources: Vec<&str> = decision
            .iter()
            .flat_map(|d| d.requested.iter().map(|p| p.resource_id.as_str()))
            .collect();
        // One statement, so one round trip and its own transaction. FOR SHARE holds off a
        // concurrent change or deletion of these policies until it ends, and makes the read see
        // the last committed revision: either the change came first and the revisions differ
        // (nothing is inserted), or it waits, and this RPT reads as revoked once it commits. The
        // ticket is spent only then: of concurrent deletes of its row, on any replicas, one
        // deletes it and the others wait for that commit and find nothing, so insert nothing.
        // The decision goes in with the RPT or not at all.
        let (inserted, current): (i64, bool) = self
            .run(
                sqlx::query_as(
                    "WITH locked AS (
                         SELECT count(*) AS n FROM (
                             SELECT 1 FROM policies
                             JOIN unnest($1::text[], $2::bigint[]) AS relied (id, revision)
                               ON policies.id = relied.id AND policies.revision = relied.revision
                             FOR SHARE OF policies
                         ) AS current
                     ),
                     spent AS (
                         DELETE FROM tickets
                         WHERE $10::bytea IS NOT NULL AND hash = $10::bytea
                           AND (SELECT n FROM locked) = cardinality($1::text[])
                         RETURNING 1
                     ),
                     stored AS (
                         INSERT INTO tokens (hash, expires_at, body)
                         SELECT * FROM unnest($3::bytea[], $4::bigint[], $5::text[])
                         WHERE (SELECT n FROM locked) = cardinality($1::text[])
                           AND ($10::bytea IS NULL OR EXISTS (SELECT 1 FROM spent))
                         RETURNING hash
                     ),
                     decided AS (
                         INSERT INTO decisions (owner, at, resource_ids, body)
                         SELECT $6::text, $7::bigint, $8::text[], $9::text
                         WHERE $6::text IS NOT NULL AND EXISTS (SELECT 1 FROM stored)
                     )
                     SELECT (SELECT count(*) FROM stored),
                            (SELECT n FROM locked) = cardinality($1::text[])",
                )
                .bind(&ids)
                .bind(&revisions)
                .bind(&hashes)
                .bind(&expiries)
                .bind(&bodies)
                .bind(decision.as_ref().map(|d| d.owner.as_str()))
                .bind(decision.as_ref().map(|d| seconds(d.at)))
                .bind(&decided_resources)
                .bind(decided)
                .bind(ticket.map(|t| t.as_bytes().to_vec()))
                .fetch_one(&self.pool),
            )
            .await?;
        Ok(if usize::try_from(inserted).ok() == Some(tokens.len()) {
            RptStored::Stored
        } else if current {
            RptStored::TicketSpent
        } else {
            RptStored::PolicyChanged
        })
    }

    async fn stored_token(&self, key: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.one(
            "SELECT body FROM tokens WHERE hash = $1",
            key.as_bytes().to_vec(),
        )
        .await
    }

    async fn delete_token(&self, key: &TokenHash) -> Result<bool, StoreError> {
        let deleted = self
            .execute(sqlx::query("DELETE FROM tokens WHERE hash = $1").bind(&key.as_bytes()[..]))
            .await?;
        Ok(deleted > 0)
    }

    async fn put_request_if_absent(
        &self,
        request: PendingRequest,
    ) -> Result<PendingRequest, StoreError> {
        let scopes_key = request.scopes.join(" ");
        let body = to_json(&request)?;
        // The no-op update makes RETURNING give the row that won, new or already there.
        let row: (String,) = self
            .run(
                sqlx::query_as(
                    "INSERT INTO pending_requests
                         (id, owner, resource_id, party, client_id, scopes_key, created_at, body)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                     ON CONFLICT (resource_id, party, client_id, scopes_key)
                         DO UPDATE SET id = pending_requests.id
                     RETURNING body",
                )
                .bind(&request.id)
                .bind(&request.owner)
                .bind(&request.resource_id)
                .bind(&request.party)
                .bind(&request.client_id)
                .bind(&scopes_key)
                .bind(seconds(request.created_at))
                .bind(body)
                .fetch_one(&self.pool),
            )
            .await?;
        from_json(&row.0)
    }

    async fn decide_request(&self, request: PendingRequest) -> Result<bool, StoreError> {
        let body = to_json(&request)?;
        // Of two answers at once, the second waits for the first's row lock, then finds the
        // request no longer pending.
        let updated = self
            .execute(
                sqlx::query(
                    "UPDATE pending_requests SET body = $2
                     WHERE id = $1 AND (body::jsonb) ->> 'status' = 'pending'",
                )
                .bind(&request.id)
                .bind(body),
            )
            .await?;
        Ok(updated > 0)
    }

    async fn request(&self, id: &str) -> Result<Option<PendingRequest>, StoreError> {
        self.one(
            "SELECT body FROM pending_requests WHERE id = $1",
            id.to_owned(),
        )
        .await
    }

    async fn requests_of(&self, owner: &str) -> Result<Vec<PendingRequest>, StoreError> {
        let rows: Vec<(String,)> = self
            .run(
                sqlx::query_as(
                    "SELECT body FROM pending_requests WHERE owner = $1 ORDER BY created_at, id",
                )
                .bind(owner)
                .fetch_all(&self.pool),
            )
            .await?;
        rows.iter().map(|(body,)| from_json(body)).collect()
    }

    async fn put_decision(&self, decision: Decision) -> Result<(), StoreError> {
        let body = super::compact::encode_decision(&decision)?;
        let resources: Vec<&str> = decision
            .requested
            .iter()
            .map(|p| p.resource_id.as_str())
            .collect();
        self.execute(
            sqlx::query(
                "INSERT INTO decisions (owner, at, resource_ids, body) VALUES ($1, $2, $3, $4)",
            )
            .bind(&decision.owner)
            .bind(seconds(decision.at))
            .bind(&resources)
            .bind(body),
        )
        .await
        .map(drop)
    }

    async fn decisions_of(
        &self,
        owner: &str,
        resource: Option<&str>,
        from: Option<DecisionCursor>,
        limit: usize,
    ) -> Result<Vec<Decision>, StoreError> {
        let rows: Vec<(String, i64, String)> = self
            .run(
                sqlx::query_as(
                    "SELECT owner, at, body FROM decisions
                     WHERE owner = $1 AND ($2::text IS NULL OR $2 = ANY (resource_ids))
                       AND at <= $4
                     ORDER BY at DESC, seq DESC LIMIT $3 OFFSET $5",
                )
                .bind(owner)
                .bind(resource)
                .bind(i64::try_from(limit).unwrap_or(i64::MAX))
                // No cursor is the cursor past every decision: each page is one index range.
                .bind(from.map_or(i64::MAX, |f| seconds(f.at)))
                .bind(from.map_or(0, |f| i64::try_from(f.skip).unwrap_or(i64::MAX)))
                .fetch_all(&self.pool),
            )
            .await?;
        super::compact::decode_decisions(rows)
    }

    async fn purge(&self, now: u64, kept_since: u64, batch: usize) -> Result<u64, StoreError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        let mut purged = 0;
        // Each a short statement of its own through an index, so that no purge holds locks long.
        for sql in [
            "DELETE FROM tickets WHERE hash IN
                 (SELECT hash FROM tickets WHERE expires_at <= $1 LIMIT $2)",
            "DELETE FROM tokens WHERE hash IN
                 (SELECT hash FROM tokens WHERE expires_at <= $1 LIMIT $2)",
        ] {
            purged += self
                .execute(sqlx::query(sql).bind(seconds(now)).bind(batch))
                .await?;
        }
        for sql in [
            "DELETE FROM decisions WHERE seq IN
                 (SELECT seq FROM decisions WHERE at < $1 LIMIT $2)",
            "DELETE FROM pending_requests WHERE id IN
                 (SELECT id FROM pending_requests WHERE created_at < $1 LIMIT $2)",
        ] {
            purged += self
                .execute(sqlx::query(sql).bind(seconds(kept_since)).bind(batch))
                .await?;
        }
        Ok(purged)
    }

    async fn put_signing_key(&self, key: SigningKey) -> Result<(), StoreError> {
        let body = to_json(&key)?;
        self.execute(
            sqlx::query(
                "INSERT INTO signing_keys (kid, created_at, body) VALUES ($1, $2, $3)
                 ON CONFLICT (kid) DO UPDATE SET created_at = excluded.created_at,
                     body = excluded.body",
            )
            .bind(&key.kid)
            .bind(seconds(key.created_at))
            .bind(body),
        )
        .await
        .map(drop)
    }

    async fn add_signing_key(
        &self,
        key: SigningKey,
        unless_made_after: u64,
    ) -> Result<bool, StoreError> {
        let body = to_json(&key)?;
        self.run(async {
            let mut transaction = self.pool.begin().await?;
            // Two replicas checking at once would both find no newer key: the lock makes one
            // check (and insert) after the other has committed.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext('uma-as signing key rotation'))")
                .execute(&mut *transaction)
                .await?;
            let added = sqlx::query(
                "INSERT INTO signing_keys (kid, created_at, body) SELECT $1, $2, $3
                 WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE created_at > $4)",
            )
            .bind(&key.kid)
            .bind(seconds(key.created_at))
            .bind(body)
            .bind(seconds(unless_made_after))
            .execute(&mut *transaction)
            .await?
            .rows_affected()
                == 1;
            transaction.commit().await?;
            Ok(added)
        })
        .await
    }

    async fn delete_signing_keys(&self, kids: &[String]) -> Result<u64, StoreError> {
        self.execute(sqlx::query("DELETE FROM signing_keys WHERE kid = ANY ($1)").bind(kids))
            .await
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        let rows: Vec<(String,)> = self
            .run(sqlx::query_as("SELECT body FROM signing_keys ORDER BY kid").fetch_all(&self.pool))
            .await?;
        rows.iter().map(|(body,)| from_json(body)).collect()
    }
}
