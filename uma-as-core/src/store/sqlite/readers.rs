//! Read-only connections: WAL mode lets them read beside the writer.
//!
//! A read runs on the caller's own thread, on the first free connection of a small set, when it
//! can do so without waiting; only otherwise does it go to a thread of its own. Every read here
//! is a lookup by key or a bounded page, a few microseconds against pages the OS already holds,
//! while a hand-off to a reader thread and back costs two context switches: on the one core the
//! flow benchmark gives the server, the readers' kernel time (switches, wake-ups) was half their
//! whole share, and reading on the caller's thread served 1.05× the whole flows at 0.92× the CPU (BENCHMARKS.md).
//! What could make a read wait — every inline connection in use, or a lock that SQLite would
//! sleep on (`SQLITE_BUSY`) — sends it to the threads instead, so an async worker never sleeps.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::oneshot;

use super::failed;
use crate::store::StoreError;

/// Reads waiting for a reader thread, at most; a caller beyond that waits to queue.
const QUEUE: usize = 1024;

type Read = Box<dyn FnOnce(&Connection) + Send>;

/// The read-only connections: some for reads on the caller's thread, the rest each on a thread
/// of its own taking reads from one queue.
#[derive(Debug, Clone)]
pub(super) struct Readers {
    inline: Arc<[Mutex<Connection>]>,
    queue: flume::Sender<Read>,
}

impl Readers {
    /// Opens `count` read-only connections for reads on the caller's thread and `count` more,
    /// each on its own thread, to the database at `path`; the threads end when the last clone
    /// of the returned handle is dropped.
    pub(super) fn open(path: &Path, count: usize, busy: Duration) -> Result<Self, StoreError> {
        // An inline read never sleeps on a lock: it goes to the threads, which may.
        let inline = (0..count)
            .map(|_| connect(path, Duration::ZERO).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()?
            .into();
        let (queue, reads) = flume::bounded::<Read>(QUEUE);
        for n in 0..count {
            let connection = connect(path, busy)?;
            let reads = reads.clone();
            std::thread::Builder::new()
                .name(format!("uma-sqlite-reader-{n}"))
                .spawn(move || {
                    for read in reads.iter() {
                        read(&connection);
                    }
                })
                .map_err(|e| StoreError::new(format!("cannot start a database reader: {e}")))?;
        }
        Ok(Self { inline, queue })
    }

    /// Runs `read` on the caller's thread if a connection is free and no lock is in the way,
    /// otherwise on the first free reader thread, and returns what it found.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        read: impl Fn(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        if let Some(found) = self.run_inline(&read) {
            return found.map_err(failed);
        }
        let (answer, answered) = oneshot::channel();
        let job: Read = Box::new(move |connection| {
            let _ = answer.send(read(connection));
        });
        self.queue
            .send_async(job)
            .await
            .map_err(|_| StoreError::new("the database readers stopped".to_owned()))?;
        answered
            .await
            .map_err(|_| StoreError::new("a database reader stopped".to_owned()))?
            .map_err(failed)
    }

    /// What `read` found on a free inline connection, or `None` if it would have had to wait.
    fn run_inline<T>(
        &self,
        read: &impl Fn(&Connection) -> rusqlite::Result<T>,
    ) -> Option<rusqlite::Result<T>> {
        // A poisoned connection is skipped: a read that panicked may have left it mid-statement.
        let connection = self.inline.iter().find_map(|c| c.try_lock().ok())?;
        match read(&connection) {
            Err(rusqlite::Error::SqliteFailure(error, _))
                if matches!(
                    error.code,
                    ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked
                ) =>
            {
                None
            }
            found => Some(found),
        }
    }
}

fn connect(path: &Path, busy: Duration) -> Result<Connection, StoreError> {
    let connection = super::open_connection(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(busy).map_err(failed)?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::TempDb;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn readers(db: &TempDb) -> Readers {
        Connection::open(&db.path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER)")
            .unwrap();
        Readers::open(&db.path, 2, Duration::from_secs(5)).unwrap()
    }

    fn thread_name() -> String {
        std::thread::current().name().unwrap_or("").to_owned()
    }

    #[tokio::test]
    async fn a_read_runs_on_the_callers_thread_when_a_connection_is_free() {
        let db = TempDb::new();
        let readers = readers(&db);
        let caller = thread_name();
        let ran_on = readers.run(|_| Ok(thread_name())).await.unwrap();
        assert_eq!(ran_on, caller);
    }

    #[tokio::test]
    async fn a_read_goes_to_a_reader_thread_when_every_inline_connection_is_taken() {
        let db = TempDb::new();
        let readers = readers(&db);
        let _held: Vec<_> = readers.inline.iter().map(|c| c.lock().unwrap()).collect();
        let ran_on = readers.run(|_| Ok(thread_name())).await.unwrap();
        assert!(ran_on.starts_with("uma-sqlite-reader-"), "ran on {ran_on}");
    }

    #[tokio::test]
    async fn a_read_that_meets_a_lock_is_retried_on_a_reader_thread_not_failed() {
        let db = TempDb::new();
        let readers = readers(&db);
        let tries = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&tries);
        let ran_on = readers
            .run(move |_| {
                if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        None,
                    ))
                } else {
                    Ok(thread_name())
                }
            })
            .await
            .unwrap();
        assert!(ran_on.starts_with("uma-sqlite-reader-"), "ran on {ran_on}");
        assert_eq!(tries.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn any_other_error_of_an_inline_read_is_the_answer() {
        let db = TempDb::new();
        let readers = readers(&db);
        let error = readers
            .run(|connection| connection.query_row("SELECT nope FROM t", [], |_| Ok(())))
            .await
            .unwrap_err();
        assert!(error.to_string().contains("nope"), "{error}");
    }
}
