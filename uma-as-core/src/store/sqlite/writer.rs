//! The one writing connection: a thread of its own that commits whatever writes have queued in one
//! transaction (group commit), so that one log sync acknowledges many writes.
//!
//! The whole batch runs on the connection's thread in one go: a write costs no thread switch of
//! its own, only its statement (a driver that hops threads per statement spent more switching
//! than SQLite spent writing).

use rusqlite::types::{ToSql, ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, params_from_iter};
use tokio::sync::{mpsc, oneshot};

use super::checkpointer::Wake;
use super::failed;
use crate::store::StoreError;

/// The most writes committed together in one transaction.
pub(super) const MAX_BATCH: usize = 256;

/// Request commits after which a waiting upkeep job runs even though requests still queue: a
/// saturated server still purges, a little at a time.
pub(super) const UPKEEP_EVERY: usize = 8;

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
    checkpointer: Wake,
) -> Result<(), StoreError> {
    // A runtime of the thread's own only to wait on two lanes at once; the commits themselves
    // block it, which is the point: nothing else runs there.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| StoreError::new(format!("cannot start the database writer: {e}")))?;
    std::thread::Builder::new()
        .name("uma-sqlite-writer".to_owned())
        .spawn(move || runtime.block_on(write_loop(connection, jobs, upkeep, checkpointer)))
        .map_err(|e| StoreError::new(format!("cannot start the database writer: {e}")))?;
    Ok(())
}

/// Takes what has queued (up to [`MAX_BATCH`]), commits it in one transaction, and answers each
/// job only after the commit is durable. If the batch fails, each job is retried alone, so that
/// one bad write cannot fail the others.
///
/// Upkeep jobs commit alone, never in a request's transaction, and only when no request is
/// waiting or after [`UPKEEP_EVERY`] request commits: a request waits behind one small purge at
/// most. (Letting each purge ride in the next request commit instead, to save its log sync, was
/// measured worse: in the open-loop soak at 300 grants a second the p99 once purging began was
/// 23–36 ms against 10–17 ms, every small request batch then carrying a purge's deletes.)
pub(super) async fn write_loop(
    mut connection: Connection,
    mut jobs: mpsc::Receiver<Job>,
    mut upkeep: mpsc::Receiver<Job>,
    checkpointer: Wake,
) {
    let mut commits_since_upkeep = 0;
    loop {
        let overdue = if commits_since_upkeep >= UPKEEP_EVERY {
            upkeep.try_recv().ok()
        } else {
            None
        };
        let first = match overdue {
            Some(job) => Err(job),
            None => tokio::select! {
                biased;
                job = jobs.recv() => match job {
                    Some(job) => Ok(job),
                    None => return,
                },
                Some(job) = upkeep.recv() => Err(job),
            },
        };
        let first = match first {
            Ok(request) => request,
            Err(upkeep_job) => {
                commits_since_upkeep = 0;
                let result = commit(&mut connection, upkeep_job.writes.iter());
                checkpointer.committed();
                let _ = upkeep_job.reply.send(result);
                continue;
            }
        };
        commits_since_upkeep += 1;
        // Let the threads that queue writes run once before taking the batch: on a busy core
        // they queue more meanwhile and one log sync acknowledges them all (measured: batches
        // of ~4 writes became dozens, the server's CPU per whole UMA flow fell by a fifth); on
        // an idle machine nobody else is runnable and this returns at once.
        std::thread::yield_now();
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = commit(&mut connection, batch.iter().flat_map(|j| &j.writes));
        checkpointer.committed();
        match committed {
            Ok(outcomes) => {
                let mut outcomes = outcomes.into_iter();
                for job in batch {
                    let mine: Vec<Outcome> = outcomes.by_ref().take(job.writes.len()).collect();
                    let _ = job.reply.send(Ok(mine));
                }
            }
            Err(_) if batch.len() > 1 => {
                for job in batch {
                    let result = commit(&mut connection, job.writes.iter());
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

    /// With requests queued without end, a waiting upkeep job still commits after exactly
    /// [`UPKEEP_EVERY`] full request commits, not after the queue drains.
    #[tokio::test]
    async fn upkeep_gets_a_turn_while_requests_keep_queueing() {
        let db = TempDb::new();
        let connection = Connection::open(&db.path).unwrap();
        connection
            .execute("CREATE TABLE log (value INTEGER NOT NULL)", [])
            .unwrap();
        let requests = (UPKEEP_EVERY + 2) * MAX_BATCH;
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
        write_loop(connection, jobs, upkeep_jobs, Wake::nobody()).await;
        assert!(upkept.await.unwrap().is_ok());
        for answer in answers {
            assert!(answer.await.unwrap().is_ok());
        }

        let connection = Connection::open(&db.path).unwrap();
        let order: Vec<i64> = connection
            .prepare("SELECT value FROM log ORDER BY rowid")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let upkeep_at = order.iter().position(|v| *v == -1).unwrap();
        assert_eq!(upkeep_at, UPKEEP_EVERY * MAX_BATCH);
        assert_eq!(order.len(), requests + 1);
    }

    /// Every commit wakes the checkpointer, so that the log is copied off the writer's path.
    #[tokio::test]
    async fn a_commit_wakes_the_checkpointer() {
        let db = TempDb::new();
        let connection = Connection::open(&db.path).unwrap();
        connection
            .execute("CREATE TABLE log (value INTEGER NOT NULL)", [])
            .unwrap();
        let (writer, jobs) = mpsc::channel(1);
        let (upkeep, upkeep_jobs) = mpsc::channel(1);
        let (wake, wake_ups) = Wake::watched();
        assert!(wake_ups.try_recv().is_err(), "nothing committed yet");
        let (job, answer) = insert(1);
        writer.try_send(job).unwrap();
        drop((writer, upkeep));
        write_loop(connection, jobs, upkeep_jobs, wake).await;
        assert!(answer.await.unwrap().is_ok());
        assert!(
            wake_ups.try_recv().is_ok(),
            "the commit woke the checkpointer"
        );
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
        write_loop(connection, jobs, upkeep_jobs, Wake::nobody()).await;
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
