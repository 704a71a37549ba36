//! Read-only connections, each on a thread of its own, taking reads from one queue: WAL mode lets
//! them read beside the writer, and a read costs one hand-off to a thread and one back.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use super::failed;
use crate::store::StoreError;

/// Reads waiting for a connection, at most; a caller beyond that waits to queue.
const QUEUE: usize = 1024;

type Read = Box<dyn FnOnce(&Connection) + Send>;

/// The read-only connections' queue.
#[derive(Debug, Clone)]
pub(super) struct Readers {
    queue: flume::Sender<Read>,
}

impl Readers {
    /// Opens `count` read-only connections to the database at `path`, each on its own thread;
    /// the threads end when the last clone of the returned handle is dropped.
    pub(super) fn open(path: &Path, count: usize, busy: Duration) -> Result<Self, StoreError> {
        let (queue, reads) = flume::bounded::<Read>(QUEUE);
        for n in 0..count {
            let connection = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| StoreError::new(format!("cannot open the database: {e}")))?;
            connection.busy_timeout(busy).map_err(failed)?;
            connection.set_prepared_statement_cache_capacity(64);
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
        Ok(Self { queue })
    }

    /// Runs `read` on the first free connection and returns what it found.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
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
}
