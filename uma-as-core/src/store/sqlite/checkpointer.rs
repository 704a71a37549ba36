//! A connection and thread of its own that copies committed pages from the write-ahead log into
//! the database file while the writer goes on committing.
//!
//! SQLite's own checkpoint runs inside the commit that fills the log past 1,000 pages: it copies
//! them, syncs the database file, and every write queued meanwhile waits — at a few pages per
//! UMA flow, several times a second under load, and the whole flow's tail (BENCHMARKS.md: never
//! checkpointing, an upper bound, took a busy hour's p99 from 36 to 24 ms). Only the writer's checkpoint can
//! restart the log (under unbroken commits one from another connection never catches up with
//! its end), so it stays; this thread copies most pages first, so that what is left in the
//! writer's commit is a short copy and a small sync. Measured, a trade: p99 ×0.89 and p99.9
//! ×0.87, for p50 ×1.11 and CPU per flow ×1.05. Woken by commits, never by a timer: an idle
//! server does nothing.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::Duration;

use rusqlite::Connection;

use super::failed;
use crate::store::StoreError;

/// The least time between two checkpoints: commits meanwhile are copied together.
const PAUSE: Duration = Duration::from_millis(20);

/// Wakes the checkpointer after a commit; dropped, it lets the thread end.
#[derive(Debug)]
pub(super) struct Wake(SyncSender<()>);

impl Wake {
    /// Tells the checkpointer there is something to copy; never waits.
    pub(super) fn committed(&self) {
        // Full means a wake-up is already pending; disconnected, the checkpointer has stopped
        // and the writer's own checkpoint still bounds the log.
        let _ = self.0.try_send(());
    }

    /// A wake that wakes nobody, for a writer tested alone.
    #[cfg(test)]
    pub(super) fn nobody() -> Self {
        Self::watched().0
    }

    /// A wake and the wake-ups it sends, for a writer's test to look at.
    #[cfg(test)]
    pub(super) fn watched() -> (Self, Receiver<()>) {
        let (wake, commits) = mpsc::sync_channel(1);
        (Self(wake), commits)
    }
}

/// Starts the checkpointer on a connection of its own to the database at `path`.
pub(super) fn spawn(path: &Path) -> Result<Wake, StoreError> {
    let connection = super::open_connection(path, rusqlite::OpenFlags::default())?;
    // A checkpoint syncs the database file before it marks the log's pages copied: the writer
    // may then restart the log over them. SQLite's default already, said here so it stays.
    connection
        .pragma_update(None, "synchronous", "FULL")
        .map_err(failed)?;
    let (wake, commits) = mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("uma-sqlite-checkpointer".to_owned())
        .spawn(move || checkpoint_loop(&connection, &commits))
        .map_err(|e| StoreError::new(format!("cannot start the checkpointer: {e}")))?;
    Ok(Wake(wake))
}

/// Checkpoints after each wake-up, at most once every [`PAUSE`], until the writer is gone.
fn checkpoint_loop(connection: &Connection, commits: &Receiver<()>) {
    while commits.recv().is_ok() {
        checkpoint(connection);
        // Commits during the pause leave one wake-up pending: the next turn copies them all.
        std::thread::sleep(PAUSE);
    }
}

/// Copies what it can without waiting for anyone (`PASSIVE`); a failure is only logged, as the
/// writer's own checkpoint still bounds the log.
fn checkpoint(connection: &Connection) {
    if let Err(error) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(%error, "background checkpoint failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::TempDb;

    /// Rows committed to the log are in the database file itself after one wake-up: the file
    /// copied alone, without its log, holds them. The loop then ends with its writer.
    #[test]
    fn a_wake_up_copies_the_log_into_the_database_file() {
        let db = TempDb::new();
        let writer = Connection::open(&db.path).unwrap();
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;
                 CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1), (2), (3);",
            )
            .unwrap();
        let rows_in_file_alone = || {
            let copy = TempDb::new();
            std::fs::copy(&db.path, &copy.path).unwrap();
            Connection::open(&copy.path)
                .unwrap()
                .query_row("SELECT count(*) FROM t", [], |row| row.get::<_, i64>(0))
                .ok()
        };
        assert_eq!(
            rows_in_file_alone(),
            None,
            "the table is only in the log yet"
        );

        let (wake, commits) = mpsc::sync_channel(1);
        Wake(wake.clone()).committed();
        drop(wake);
        checkpoint_loop(&Connection::open(&db.path).unwrap(), &commits);
        assert_eq!(rows_in_file_alone(), Some(3));
    }

    #[test]
    fn waking_a_stopped_checkpointer_neither_waits_nor_fails() {
        let wake = Wake::nobody();
        wake.committed();
        wake.committed();
    }
}
