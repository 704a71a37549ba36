//! The one writing connection: a thread of its own that commits whatever writes have queued in one
//! transaction (group commit), so that one log sync acknowledges many writes.
//!
//! The whole batch runs on the connection's thread in one go: a write costs no thread switch of
//! its own, only its statement (a driver that hops threads per statement spent more switching
//! than SQLite spent writing).

use rusqlite::types::{ToSql, ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, params_from_iter};
use tokio::sync::{mpsc, oneshot};

use super::failed;
use crate::store::StoreError;

/// The most writes committed together in one transaction.
pub(super) const MAX_BATCH: usize = 256;

/// How long an upkeep job that finds no request waits for one to commit with. A commit of its
/// own costs a log sync, which the requests that arrive meanwhile wait behind: under a steady
/// load a purge alone added a sync to the tail of the grants' latency (BENCHMARKS.md, the soak).
/// Idle, upkeep commits alone after this wait.
pub(super) const RIDE_WAIT: std::time::Duration = std::time::Duration::from_millis(5);

/// A value bound to a statement parameter.
#[derive(Debug)]
pub(super) enum Bind {
    Text(String),
    Blob(Vec<u8>),
    Int(i64),
    Null,
}

impl ToSql for Bind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Bind::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Bind::Blob(blob) => ToSqlOutput::Borrowed(ValueRef::Blob(blob)),
            Bind::Int(int) => ToSqlOutput::Owned(Value::Integer(*int)),
            Bind::Null => ToSqlOutput::Owned(Value::Null),
        })
    }
}

/// One write: a statement, and whether it returns the `body` of a row.
#[derive(Debug)]
pub(super) struct Write {
    pub(super) sql: &'static str,
    pub(super) binds: Vec<Bind>,
    pub(super) returning: bool,
}

/// What a write did.
#[derive(Debug)]
pub(super) struct Outcome {
    pub(super) rows_affected: u64,
    pub(super) body: Option<String>,
}

/// Writes that belong together (committed in the same transaction), and where to answer.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) writes: Vec<Write>,
    pub(super) reply: oneshot::Sender<Result<Vec<Outcome>, StoreError>>,
}

/// Starts the writer on a thread of its own, which owns `connection` until both lanes close.
pub(super) fn spawn(
    connection: Connection,
    jobs: mpsc::Receiver<Job>,
    upkeep: mpsc::Receiver<Job>,
) -> Result<(), StoreError> {
    // A runtime of the thread's own only to wait on two lanes at once; the commits themselves
    // block it, which is the point: nothing else runs there.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| StoreError::new(format!("cannot start the database writer: {e}")))?;
    std::thread::Builder::new()
        .name("uma-sqlite-writer".to_owned())
        .spawn(move || runtime.block_on(write_loop(connection, jobs, upkeep)))
        .map_err(|e| StoreError::new(format!("cannot start the database writer: {e}")))?;
    Ok(())
}

/// Takes what has queued (up to [`MAX_BATCH`]), commits it in one transaction, and answers each
/// job only after the commit is durable. If the batch fails, each job is retried alone, so that
/// one bad write cannot fail the others.
///
/// An upkeep job (a small purge) rides in the next request commit: it adds its statements to
/// that transaction and no log sync of its own, and requests still go first. With no request
/// within [`RIDE_WAIT`], it commits alone.
pub(super) async fn write_loop(
    mut connection: Connection,
    mut jobs: mpsc::Receiver<Job>,
    mut upkeep: mpsc::Receiver<Job>,
) {
    loop {
        let first = tokio::select! {
            biased;
            job = jobs.recv() => match job {
                Some(job) => job,
                None => return,
            },
            Some(upkeep_job) = upkeep.recv() => {
                match tokio::time::timeout(RIDE_WAIT, jobs.recv()).await {
                    Ok(Some(request)) => {
                        commit_batch(&mut connection, request, &mut jobs, Some(upkeep_job));
                        continue;
                    }
                    Ok(None) | Err(_) => {
                        let result = commit(&mut connection, upkeep_job.writes.iter());
                        let _ = upkeep_job.reply.send(result);
                        continue;
                    }
                }
            }
        };
        let riding = upkeep.try_recv().ok();
        commit_batch(&mut connection, first, &mut jobs, riding);
    }
}

/// Commits `first` with whatever requests have queued behind it, and `upkeep` last.
fn commit_batch(
    connection: &mut Connection,
    first: Job,
    jobs: &mut mpsc::Receiver<Job>,
    upkeep: Option<Job>,
) {
    // Let the threads that queue writes run once before taking the batch: on a busy core they
    // queue more meanwhile and one log sync acknowledges them all (measured: batches of ~4
    // writes became dozens, the server's CPU per whole UMA flow fell by a fifth); on an idle
    // machine nobody else is runnable and this returns at once.
    std::thread::yield_now();
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH {
        match jobs.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch.extend(upkeep);
    match commit(connection, batch.iter().flat_map(|j| &j.writes)) {
        Ok(outcomes) => {
            let mut outcomes = outcomes.into_iter();
            for job in batch {
                let mine: Vec<Outcome> = outcomes.by_ref().take(job.writes.len()).collect();
                let _ = job.reply.send(Ok(mine));
            }
        }
        Err(_) if batch.len() > 1 => {
            for job in batch {
                let result = commit(connection, job.writes.iter());
                let _ = job.reply.send(result);
            }
        }
        Err(error) => {
            for job in batch {
                let _ = job.reply.send(Err(StoreError::new(error.message.clone())));
            }
        }
    }
}

/// Runs `writes` in one transaction; on any error nothing of them stays.
fn commit<'a>(
    connection: &mut Connection,
    writes: impl Iterator<Item = &'a Write>,
) -> Result<Vec<Outcome>, StoreError> {
    let transaction = connection.transaction().map_err(failed)?;
    let mut outcomes = Vec::new();
    for write in writes {
        let mut statement = transaction.prepare_cached(write.sql).map_err(failed)?;
        let binds = params_from_iter(&write.binds);
        let outcome = if write.returning {
            let body: Option<String> = statement
                .query(binds)
                .and_then(|mut rows| rows.next()?.map(|row| row.get(0)).transpose())
                .map_err(failed)?;
            Outcome {
                rows_affected: u64::from(body.is_some()),
                body,
            }
        } else if write.sql.starts_with("PRAGMA") {
            // A pragma changes no rows but may step through some (incremental_vacuum does, a
            // page at a time): run it to the end.
            let mut rows = statement.query(binds).map_err(failed)?;
            while rows.next().map_err(failed)?.is_some() {}
            Outcome {
                rows_affected: 0,
                body: None,
            }
        } else {
            let changed = statement.execute(binds).map_err(failed)?;
            Outcome {
                rows_affected: changed as u64,
                body: None,
            }
        };
        outcomes.push(outcome);
    }
    // Dropped without a commit, the transaction rolls back.
    transaction.commit().map_err(failed)?;
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::TempDb;

    fn insert(value: i64) -> (Job, oneshot::Receiver<Result<Vec<Outcome>, StoreError>>) {
        let (reply, answer) = oneshot::channel();
        let write = Write {
            sql: "INSERT INTO log (value) VALUES (?1)",
            binds: vec![Bind::Int(value)],
            returning: false,
        };
        let job = Job {
            writes: vec![write],
            reply,
        };
        (job, answer)
    }

    /// The values in the log, in the order they were written.
    fn logged(db: &TempDb) -> Vec<i64> {
        let connection = Connection::open(&db.path).unwrap();
        connection
            .prepare("SELECT value FROM log ORDER BY rowid")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn log_table(db: &TempDb) -> Connection {
        let connection = Connection::open(&db.path).unwrap();
        connection
            .execute("CREATE TABLE log (value INTEGER NOT NULL)", [])
            .unwrap();
        connection
    }

    /// With requests queued without end, a waiting upkeep job rides in the first request
    /// commit, after its requests: it neither waits for the queue to drain nor commits alone.
    #[tokio::test]
    async fn upkeep_rides_in_the_next_request_commit() {
        let db = TempDb::new();
        let connection = log_table(&db);
        let requests = 3 * MAX_BATCH;
        let (writer, jobs) = mpsc::channel(requests);
        let (upkeep, upkeep_jobs) = mpsc::channel(1);
        let mut answers = Vec::new();
        for value in 0..requests {
            let (job, answer) = insert(i64::try_from(value).unwrap());
            writer.try_send(job).unwrap();
            answers.push(answer);
        }
        let (job, upkept) = insert(-1);
        upkeep.try_send(job).unwrap();
        drop((writer, upkeep));
        write_loop(connection, jobs, upkeep_jobs).await;
        assert!(upkept.await.unwrap().is_ok());
        for answer in answers {
            assert!(answer.await.unwrap().is_ok());
        }
        let order = logged(&db);
        assert_eq!(order.iter().position(|v| *v == -1), Some(MAX_BATCH));
        assert_eq!(order.len(), requests + 1);
    }

    /// With no request coming, an upkeep job commits alone (after [`RIDE_WAIT`]).
    #[tokio::test]
    async fn idle_upkeep_commits_alone() {
        let db = TempDb::new();
        let connection = log_table(&db);
        let (writer, jobs) = mpsc::channel(1);
        let (upkeep, upkeep_jobs) = mpsc::channel(1);
        let running = tokio::spawn(write_loop(connection, jobs, upkeep_jobs));
        let (job, upkept) = insert(-1);
        upkeep.try_send(job).unwrap();
        assert!(upkept.await.unwrap().is_ok());
        assert_eq!(logged(&db), [-1]);
        drop((writer, upkeep));
        running.await.unwrap();
    }

    /// A write that fails in a batch fails alone: the others in its batch still commit. Unlike
    /// the store-level test, which races writes into shared transactions, these three are queued
    /// before the loop runs, so that they are certainly one batch.
    #[tokio::test]
    async fn one_failing_write_does_not_fail_its_batch() {
        let db = TempDb::new();
        let connection = Connection::open(&db.path).unwrap();
        connection
            .execute(
                "CREATE TABLE log (value INTEGER NOT NULL CHECK (value >= 0))",
                [],
            )
            .unwrap();
        let (writer, jobs) = mpsc::channel(8);
        let (upkeep, upkeep_jobs) = mpsc::channel(1);
        let (good, good_answer) = insert(1);
        let (bad, bad_answer) = insert(-5);
        let (also_good, also_good_answer) = insert(2);
        for job in [good, bad, also_good] {
            writer.try_send(job).unwrap();
        }
        drop((writer, upkeep));
        write_loop(connection, jobs, upkeep_jobs).await;
        assert!(good_answer.await.unwrap().is_ok());
        assert!(bad_answer.await.unwrap().is_err());
        assert!(also_good_answer.await.unwrap().is_ok());
        let connection = Connection::open(&db.path).unwrap();
        let count: i64 = connection
            .query_row("SELECT count(*) FROM log", [], |row| row.get(0))
            .unwrap();
        assert_eq!(count, 2);
    }
}
