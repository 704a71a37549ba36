//! SQLite storage: one file that survives restarts, in WAL mode, every write durable before it is
//! acknowledged.
//!
//! Connections are rusqlite's: one writer committing in groups on a thread of its own
//! ([`writer`]), readers beside it, most reads on the caller's own thread ([`readers`]), and a
//! checkpointer copying the log into the database file off the writer's commits
//! ([`checkpointer`]). Schema migrations run through sqlx's migrator once, at open.

mod checkpointer;
mod owner_index;
mod readers;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, params_from_iter};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Connection as _;
use sqlx::sqlite::{SqliteAutoVacuum, SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use tokio::sync::{mpsc, oneshot};

use super::{
    Decision, DecisionCursor, PendingRequest, Policy, Resource, RptStored, SigningKey, Store,
    StoreError, Ticket, TokenRecord,
};
use crate::secret::TokenHash;
use owner_index::OwnerIndex;
use readers::Readers;
use writer::{Bind, Job, MAX_BATCH, Outcome, Write};

/// How long a connection waits for another process's lock before it gives up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read-only connections beside the writer.
const READERS: usize = 4;

/// Keeps the server's state in one SQLite database file.
///
/// ```no_run
/// # async fn run() -> Result<(), uma_as_core::store::StoreError> {
/// let store = uma_as_core::store::SqliteStore::open("uma-as.db").await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SqliteStore {
    // SQLite admits one writer at a time and makes the others sleep and retry. Here one thread
    // owns the only writing connection: writes queue for it, and it commits whatever has queued
    // in one transaction (group commit), so that one fsync acknowledges many writes. Reads run
    // beside it on their own connections, as WAL mode allows.
    writer: mpsc::Sender<Job>,
    // The background upkeep's writes (purges, vacuum) queue apart and yield to the requests'.
    upkeep: mpsc::Sender<Job>,
    readers: Readers,
    owner_index: Arc<OwnerIndex>,
}

/// Free pages (of 4 KiB) kept for reuse, whatever the file's size.
const VACUUM_ABOVE_PAGES: i64 = 256;

fn failed(error: impl std::fmt::Display) -> StoreError {
    StoreError::new(error.to_string())
}

fn to_json(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(failed)
}

fn from_json<T: DeserializeOwned>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::new(format!("corrupt record: {e}")))
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        migrate(path).await?;
        let connection = open_connection(path, OpenFlags::default())?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(failed)?;
        // The writer reads first, so that its lock is this process's before any other
        // connection of it opens the log: see `open_connection`.
        connection
            .query_row("PRAGMA schema_version", [], |_| Ok(()))
            .map_err(failed)?;
        connection.set_prepared_statement_cache_capacity(64);
        // FULL: a commit is on disk before it returns, so an acknowledged write survives a power
        // cut (NORMAL in WAL mode can lose the last commits).
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(failed)?;
        connection
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(failed)?;
        let readers = Readers::open(path, READERS, BUSY_TIMEOUT)?;
        let (writer, jobs) = mpsc::channel(4 * MAX_BATCH);
        let (upkeep, upkeep_jobs) = mpsc::channel(1);
        let checkpointer = checkpointer::spawn(path)?;
        writer::spawn(connection, jobs, upkeep_jobs, checkpointer)?;
        Ok(Self {
            writer,
            upkeep,
            readers,
            owner_index: Arc::default(),
        })
    }

    /// Queues a write and waits until it is durable.
    async fn write(
        &self,
        sql: &'static str,
        binds: Vec<Bind>,
        returning: bool,
    ) -> Result<Outcome, StoreError> {
        let write = Write {
            sql,
            binds,
            returning,
        };
        let mut outcomes = self.write_all(vec![write]).await?;
        outcomes
            .pop()
            .ok_or_else(|| StoreError::new("the database writer answered nothing".to_owned()))
    }

    /// Queues writes that must commit together and waits until they are durable.
    async fn write_all(&self, writes: Vec<Write>) -> Result<Vec<Outcome>, StoreError> {
        queue(&self.writer, writes).await
    }

    /// The rows a query finds, each read by `row`.
    async fn rows<T: Send + 'static>(
        &self,
        sql: &'static str,
        binds: Vec<Bind>,
        row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        self.readers
            .run(move |connection| {
                let mut statement = connection.prepare_cached(sql)?;
                let rows = statement.query_map(params_from_iter(&binds), row)?;
                rows.collect()
            })
            .await
    }

    /// The records a query finds, each row's first column being a record's JSON `body`.
    async fn all<T: DeserializeOwned>(
        &self,
        sql: &'static str,
        binds: Vec<Bind>,
    ) -> Result<Vec<T>, StoreError> {
        let bodies: Vec<String> = self.rows(sql, binds, |row| row.get(0)).await?;
        bodies.iter().map(|body| from_json(body)).collect()
    }

    /// The one record a query by a unique key finds, if any.
    async fn one<T: DeserializeOwned>(
        &self,
        sql: &'static str,
        key: Bind,
    ) -> Result<Option<T>, StoreError> {
        Ok(self.all(sql, vec![key]).await?.into_iter().next())
    }

    /// A pragma's value, read on a reader.
    async fn pragma(&self, sql: &'static str) -> Result<i64, StoreError> {
        let values = self.rows(sql, vec![], |row| row.get(0)).await?;
        values
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::new(format!("{sql} answered nothing")))
    }
}

/// Creates the file if needed, in WAL mode with incremental auto-vacuum, and brings its schema up
/// to date with the migrations' own runner (which keeps its record in the file).
async fn migrate(path: &Path) -> Result<(), StoreError> {
    // Pages freed by purges go back to the file system (see `purge`), so that the file shrinks
    // after a peak.
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT)
        .auto_vacuum(SqliteAutoVacuum::Incremental);
    let mut connection = SqliteConnection::connect_with(&options)
        .await
        .map_err(cannot_open)?;
    // A file made before auto-vacuum was set keeps its old mode until rewritten once.
    let (mode,): (i64,) = sqlx::query_as("PRAGMA auto_vacuum")
        .fetch_one(&mut connection)
        .await
        .map_err(failed)?;
    if mode != 2 {
        sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
            .execute(&mut connection)
            .await
            .map_err(failed)?;
        sqlx::query("VACUUM")
            .execute(&mut connection)
            .await
            .map_err(failed)?;
    }
    sqlx::migrate!("./migrations/sqlite")
        .run(&mut connection)
        .await
        .map_err(|e| StoreError::new(format!("cannot migrate the database: {e}")))?;
    connection.close().await.map_err(failed)
}

/// Queues writes on `lane` and waits until they are durable.
async fn queue(lane: &mpsc::Sender<Job>, writes: Vec<Write>) -> Result<Vec<Outcome>, StoreError> {
    let (reply, outcomes) = oneshot::channel();
    lane.send(Job { writes, reply })
        .await
        .map_err(|_| StoreError::new("the database writer stopped".to_owned()))?;
    outcomes
        .await
        .map_err(|_| StoreError::new("the database writer stopped".to_owned()))?
}

/// Why the database could not be opened, in words an operator can act on.
fn cannot_open(error: sqlx::Error) -> StoreError {
    // SQLITE_BUSY past the busy timeout at open: the file is another process's (see
    // `open_connection`).
    let busy = error
        .as_database_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "5");
    if busy {
        StoreError::new(
            "cannot open the database: another process has it open (a SQLite database serves \
             one server at a time; several replicas need PostgreSQL)"
                .to_owned(),
        )
    } else {
        StoreError::new(format!("cannot open the database: {error}"))
    }
}

/// Opens one of the store's own connections to the database at `path`.
///
/// Through SQLite's `unix-excl` VFS: the first read-write connection locks the file for this
/// process alone, and the connections of this process then coordinate in memory, with the log's
/// index on the heap rather than in a shared `-shm` file, so a read takes no `fcntl` lock (10.5
/// such calls per whole UMA flow before, none now; server CPU per flow ×0.96 over 18 paired
/// rounds, BENCHMARKS.md). SQLite serves one process here anyway (README: several replicas need
/// PostgreSQL); this makes a second server on the same file fail at start rather than run beside
/// the first, and a `sqlite3` shell wait for the server to stop.
fn open_connection(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    #[cfg(unix)]
    let opened = Connection::open_with_flags_and_vfs(path, flags, "unix-excl");
    #[cfg(not(unix))]
    let opened = Connection::open_with_flags(path, flags);
    opened.map_err(|e| StoreError::new(format!("cannot open the database: {e}")))
}

fn text(value: &str) -> Bind {
    Bind::Text(value.to_owned())
}

fn hash(hash: &TokenHash) -> Bind {
    Bind::Blob(hash.as_bytes().to_vec())
}

#[async_trait]
impl Store for SqliteStore {
    async fn put_resource(&self, resource: Resource) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO resources (id, resource_server, owner, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET resource_server = excluded.resource_server,
                 owner = excluded.owner, body = excluded.body",
            vec![
                text(&resource.id),
                text(&resource.resource_server),
                text(&resource.owner),
                Bind::Text(to_json(&resource)?),
            ],
            false,
        )
        .await
        .map(drop)
    }

    async fn resource(&self, id: &str) -> Result<Option<Resource>, StoreError> {
        self.one("SELECT body FROM resources WHERE id = ?1", text(id))
            .await
    }

    async fn delete_resource(&self, id: &str) -> Result<bool, StoreError> {
        // Policies go with it (ON DELETE CASCADE).
        let outcome = self
            .write("DELETE FROM resources WHERE id = ?1", vec![text(id)], false)
            .await?;
        Ok(outcome.rows_affected > 0)
    }

    async fn resources(
        &self,
        resource_server: &str,
        owner: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // No cursor is the cursor before every id, so that each page is one index range.
        let after = after.unwrap_or("");
        match owner {
            Some(owner) => {
                self.all(
                    "SELECT body FROM resources
                     WHERE resource_server = ?1 AND owner = ?2 AND id > ?3
                     ORDER BY id LIMIT ?4",
                    vec![
                        text(resource_server),
                        text(owner),
                        text(after),
                        Bind::Int(limit),
                    ],
                )
                .await
            }
            None => {
                self.all(
                    "SELECT body FROM resources WHERE resource_server = ?1 AND id > ?2
                     ORDER BY id LIMIT ?3",
                    vec![text(resource_server), text(after), Bind::Int(limit)],
                )
                .await
            }
        }
    }

    async fn resources_named(
        &self,
        resource_server: &str,
        name: &str,
    ) -> Result<Vec<Resource>, StoreError> {
        self.all(
            "SELECT body FROM resources WHERE resource_server = ?1 AND name = ?2
             ORDER BY id LIMIT 2",
            vec![text(resource_server), text(name)],
        )
        .await
    }

    async fn resources_of(
        &self,
        owner: &str,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        // No cursor is the cursor before every resource, so that each page is one index range.
        let (server, id) = after.unwrap_or(("", ""));
        self.all(
            "SELECT body FROM resources
             WHERE owner = ?1 AND (resource_server, id) > (?2, ?3)
             ORDER BY resource_server, id LIMIT ?4",
            vec![
                text(owner),
                text(server),
                text(id),
                Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )
        .await
    }

    async fn put_policy(&self, policy: Policy) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO policies (id, resource_id, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            vec![
                text(&policy.id),
                text(&policy.resource_id),
                Bind::Text(to_json(&policy)?),
            ],
            false,
        )
        .await
        .map(drop)
    }

    async fn policy(&self, id: &str) -> Result<Option<Policy>, StoreError> {
        self.one("SELECT body FROM policies WHERE id = ?1", text(id))
            .await
    }

    async fn delete_policy(&self, id: &str) -> Result<bool, StoreError> {
        let outcome = self
            .write("DELETE FROM policies WHERE id = ?1", vec![text(id)], false)
            .await?;
        Ok(outcome.rows_affected > 0)
    }

    async fn policies_for(&self, resource_id: &str) -> Result<Vec<Policy>, StoreError> {
        self.all(
            "SELECT body FROM policies WHERE resource_id = ?1",
            vec![text(resource_id)],
        )
        .await
    }

    async fn policies_naming(
        &self,
        user: &str,
        groups: &[String],
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Policy>, StoreError> {
        let grantees = super::grantees(user, groups);
        self.all(
            "SELECT body FROM policies
             WHERE id IN (SELECT policy_id FROM policy_grantees
                          WHERE grantee IN (SELECT value FROM json_each(?1)))
               AND json_extract(body, '$.owner') <> ?2 AND (?3 IS NULL OR id > ?3)
             ORDER BY id LIMIT ?4",
            vec![
                Bind::Text(to_json(&grantees)?),
                text(user),
                after.map_or(Bind::Null, text),
                Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
        )
        .await
    }

    async fn put_ticket(&self, key: TokenHash, ticket: Ticket) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO tickets (hash, expires_at, body) VALUES (?1, ?2, ?3)",
            vec![
                hash(&key),
                Bind::Int(ticket.expires_at as i64),
                Bind::Text(to_json(&ticket)?),
            ],
            false,
        )
        .await
        .map(drop)
    }

    async fn take_ticket(&self, key: &TokenHash) -> Result<Option<Ticket>, StoreError> {
        // One statement, through the one writer: of concurrent redemptions exactly one deletes
        // the row and gets it back.
        let outcome = self
            .write(
                "DELETE FROM tickets WHERE hash = ?1 RETURNING body",
                vec![hash(key)],
                true,
            )
            .await?;
        outcome.body.as_deref().map(from_json).transpose()
    }

    async fn ticket(&self, key: &TokenHash) -> Result<Option<Ticket>, StoreError> {
        self.one("SELECT body FROM tickets WHERE hash = ?1", hash(key))
            .await
    }

    async fn put_token(&self, key: TokenHash, token: TokenRecord) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO tokens (hash, expires_at, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (hash) DO UPDATE SET expires_at = excluded.expires_at,
                 body = excluded.body",
            vec![
                hash(&key),
                Bind::Int(token.expires_at as i64),
                Bind::Text(to_json(&token)?),
            ],
            false,
        )
        .await
        .map(drop)
    }

    async fn put_rpt(
        &self,
        (rpt_key, rpt): (TokenHash, TokenRecord),
        refresh: Option<(TokenHash, TokenRecord)>,
        decision: Option<Decision>,
        ticket: Option<&TokenHash>,
    ) -> Result<RptStored, StoreError> {
        let relied_on = to_json(&rpt.kind.policies())?;
        // The RPT goes in only if every policy it relies on is still at its revision and its
        // ticket is unspent; whatever follows in this transaction goes in only if the RPT did.
        // The one writer runs each job's statements in a row, so no other redemption of the
        // ticket comes between the check and the spending.
        let mut writes = vec![Write {
            sql: "INSERT INTO tokens (hash, expires_at, body)
                  SELECT ?1, ?2, ?3
                  WHERE (SELECT COUNT(*) FROM json_each(?4) AS relied
                         JOIN policies ON policies.id = json_extract(relied.value, '$.id')
                          AND IFNULL(json_extract(policies.body, '$.revision'), 0)
                              = json_extract(relied.value, '$.revision'))
                        = json_array_length(?4)
                    AND (?5 IS NULL OR EXISTS (SELECT 1 FROM tickets WHERE hash = ?5))",
            binds: vec![
                hash(&rpt_key),
                Bind::Int(rpt.expires_at as i64),
                Bind::Text(to_json(&rpt)?),
                Bind::Text(relied_on),
                ticket.map_or(Bind::Null, hash),
            ],
            returning: false,
        }];
        if let Some((key, record)) = &refresh {
            writes.push(Write {
                sql: "INSERT INTO tokens (hash, expires_at, body)
                      SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM tokens WHERE hash = ?4)",
                binds: vec![
                    hash(key),
                    Bind::Int(record.expires_at as i64),
                    Bind::Text(to_json(record)?),
                    hash(&rpt_key),
                ],
                returning: false,
            });
        }
        if let Some(decision) = &decision {
            // In the RPT's own commit: one log sync less on every grant than a write of its own.
            writes.push(Write {
                sql: "INSERT INTO decisions (owner, at, body)
                      SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM tokens WHERE hash = ?4)",
                binds: vec![
                    text(&decision.owner),
                    Bind::Int(i64::try_from(decision.at).unwrap_or(i64::MAX)),
                    Bind::Text(super::compact::encode_decision(decision)?),
                    hash(&rpt_key),
                ],
                returning: false,
            });
        }
        if let Some(ticket) = ticket {
            writes.push(Write {
                sql: "DELETE FROM tickets
                      WHERE hash = ?1 AND EXISTS (SELECT 1 FROM tokens WHERE hash = ?2)",
                binds: vec![hash(ticket), hash(&rpt_key)],
                returning: false,
            });
        }
        let outcomes = self.write_all(writes).await?;
        if outcomes.first().is_some_and(|o| o.rows_affected == 1) {
            if decision.is_some() {
                // Detached: the catch-up, if this starts one, runs on its own.
                let _ = self.owner_index.appended(&self.readers, &self.upkeep);
            }
            return Ok(RptStored::Stored);
        }
        // Nothing went in: why is asked only now, off the commit every grant waits for. A ticket
        // gone now was gone then (nothing puts one back); one still there means a policy changed.
        Ok(match ticket {
            Some(ticket) if self.ticket(ticket).await?.is_none() => RptStored::TicketSpent,
            _ => RptStored::PolicyChanged,
        })
    }

    async fn stored_token(&self, key: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.one("SELECT body FROM tokens WHERE hash = ?1", hash(key))
            .await
    }

    async fn delete_token(&self, key: &TokenHash) -> Result<bool, StoreError> {
        let outcome = self
            .write("DELETE FROM tokens WHERE hash = ?1", vec![hash(key)], false)
            .await?;
        Ok(outcome.rows_affected > 0)
    }

    async fn put_request_if_absent(
        &self,
        request: PendingRequest,
    ) -> Result<PendingRequest, StoreError> {
        let scopes_key = request.scopes.join(" ");
        // The unique key makes the insert a no-op for a request already asked: one row, whatever
        // the number of replicas racing.
        self.write(
            "INSERT INTO pending_requests
                 (id, owner, resource_id, party, client_id, scopes_key, created_at, body)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (resource_id, party, client_id, scopes_key) DO NOTHING",
            vec![
                text(&request.id),
                text(&request.owner),
                text(&request.resource_id),
                text(&request.party),
                text(&request.client_id),
                text(&scopes_key),
                Bind::Int(request.created_at as i64),
                Bind::Text(to_json(&request)?),
            ],
            false,
        )
        .await?;
        self.all(
            "SELECT body FROM pending_requests
             WHERE resource_id = ?1 AND party = ?2 AND client_id = ?3 AND scopes_key = ?4",
            vec![
                text(&request.resource_id),
                text(&request.party),
                text(&request.client_id),
                Bind::Text(scopes_key),
            ],
        )
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| StoreError::new("a pending request vanished".to_owned()))
    }

    async fn decide_request(&self, request: PendingRequest) -> Result<bool, StoreError> {
        let outcome = self
            .write(
                "UPDATE pending_requests SET body = ?2
                 WHERE id = ?1 AND json_extract(body, '$.status') = 'pending'",
                vec![text(&request.id), Bind::Text(to_json(&request)?)],
                false,
            )
            .await?;
        Ok(outcome.rows_affected > 0)
    }

    async fn request(&self, id: &str) -> Result<Option<PendingRequest>, StoreError> {
        self.one("SELECT body FROM pending_requests WHERE id = ?1", text(id))
            .await
    }

    async fn requests_of(&self, owner: &str) -> Result<Vec<PendingRequest>, StoreError> {
        self.all(
            "SELECT body FROM pending_requests WHERE owner = ?1 ORDER BY created_at, id",
            vec![text(owner)],
        )
        .await
    }

    async fn put_decision(&self, decision: Decision) -> Result<(), StoreError> {
        let body = super::compact::encode_decision(&decision)?;
        self.write(
            "INSERT INTO decisions (owner, at, body) VALUES (?1, ?2, ?3)",
            vec![
                text(&decision.owner),
                Bind::Int(i64::try_from(decision.at).unwrap_or(i64::MAX)),
                Bind::Text(body),
            ],
            false,
        )
        .await?;
        let _ = self.owner_index.appended(&self.readers, &self.upkeep);
        Ok(())
    }

    async fn decisions_of(
        &self,
        owner: &str,
        resource: Option<&str>,
        from: Option<DecisionCursor>,
        limit: usize,
    ) -> Result<Vec<Decision>, StoreError> {
        // Newest first, stopping at `limit`, without reading the whole log: see the query.
        let rows = self
            .rows(
                owner_index::OWNERS_PAGE,
                vec![
                    text(owner),
                    resource.map_or(Bind::Null, text),
                    Bind::Int(i64::try_from(limit).unwrap_or(i64::MAX)),
                    // No cursor is the cursor past every decision: each page is one index range.
                    Bind::Int(from.map_or(i64::MAX, |f| i64::try_from(f.at).unwrap_or(i64::MAX))),
                    Bind::Int(from.map_or(0, |f| i64::try_from(f.skip).unwrap_or(i64::MAX))),
                ],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .await?;
        super::compact::decode_decisions(rows)
    }

    async fn purge(&self, now: u64, kept_since: u64, batch: usize) -> Result<u64, StoreError> {
        let limit = i64::try_from(batch).unwrap_or(i64::MAX);
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let up_to = |sql: &'static str, horizon: i64| Write {
            sql,
            binds: vec![Bind::Int(horizon), Bind::Int(limit)],
            returning: false,
        };
        let kept_since = i64::try_from(kept_since).unwrap_or(i64::MAX);
        let writes = vec![
            up_to(
                "DELETE FROM tokens WHERE rowid IN (SELECT rowid FROM tokens
                 WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
                now,
            ),
            up_to(
                "DELETE FROM tickets WHERE rowid IN (SELECT rowid FROM tickets
                 WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)",
                now,
            ),
            // Each takes its row of the owner's index with it (a trigger, migration 0013).
            up_to(
                "DELETE FROM decisions WHERE id IN (SELECT id FROM decisions
                 WHERE at < ?1 ORDER BY at LIMIT ?2)",
                kept_since,
            ),
            up_to(
                "DELETE FROM pending_requests WHERE rowid IN (SELECT rowid FROM pending_requests
                 WHERE created_at < ?1 ORDER BY created_at LIMIT ?2)",
                kept_since,
            ),
        ];
        // One transaction through the writer.
        let purged: u64 = queue(&self.upkeep, writes)
            .await?
            .iter()
            .map(|outcome| outcome.rows_affected)
            .sum();
        // Give freed pages back to the file system, a few at a time (each moves pages), once
        // there are more than new rows will soon reuse: at a steady state the file keeps its
        // size and no page is moved; after a peak it shrinks back.
        let free = self.pragma("PRAGMA freelist_count").await?;
        let pages = self.pragma("PRAGMA page_count").await?;
        if free > VACUUM_ABOVE_PAGES && free > pages / 10 {
            let vacuum = Write {
                sql: "PRAGMA incremental_vacuum(32)",
                binds: vec![],
                returning: false,
            };
            queue(&self.upkeep, vec![vacuum]).await?;
        }
        Ok(purged)
    }

    async fn put_signing_key(&self, key: SigningKey) -> Result<(), StoreError> {
        self.write(
            "INSERT INTO signing_keys (kid, body) VALUES (?1, ?2)
             ON CONFLICT (kid) DO UPDATE SET body = excluded.body",
            vec![text(&key.kid), Bind::Text(to_json(&key)?)],
            false,
        )
        .await
        .map(drop)
    }

    async fn add_signing_key(
        &self,
        key: SigningKey,
        unless_made_after: u64,
    ) -> Result<bool, StoreError> {
        // One statement through the one writer: the check and the insert cannot interleave.
        let outcome = self
            .write(
                "INSERT INTO signing_keys (kid, body) SELECT ?1, ?2
                 WHERE NOT EXISTS (SELECT 1 FROM signing_keys
                                   WHERE json_extract(body, '$.created_at') > ?3)",
                vec![
                    text(&key.kid),
                    Bind::Text(to_json(&key)?),
                    Bind::Int(i64::try_from(unless_made_after).unwrap_or(i64::MAX)),
                ],
                false,
            )
            .await?;
        Ok(outcome.rows_affected == 1)
    }

    async fn delete_signing_keys(&self, kids: &[String]) -> Result<u64, StoreError> {
        let outcome = self
            .write(
                "DELETE FROM signing_keys WHERE kid IN (SELECT value FROM json_each(?1))",
                vec![Bind::Text(to_json(&kids)?)],
                false,
            )
            .await?;
        Ok(outcome.rows_affected)
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKey>, StoreError> {
        self.all("SELECT body FROM signing_keys", vec![]).await
    }
}
