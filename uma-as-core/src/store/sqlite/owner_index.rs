//! The owner's index of decisions, kept off the grant's commit.
//!
//! Every grant records a decision, and an owner reads theirs newest first. An index keyed by
//! owner puts a page of its own, at a random place, into every grant's commit: without it (an
//! upper bound) the whole flow's p99 was ×0.77 (BENCHMARKS.md), the largest item left. So a
//! grant only appends its decision, numbered, to `decisions`, and the index
//! (`decisions_by_owner`) catches up in the background once [`CATCH_UP_EVERY`] decisions have
//! been appended: a batch that large puts many of an owner's decisions into one page of theirs.
//! `decisions_indexed` holds the number up to which the index is complete; an owner's page of
//! decisions reads the index and the decisions past that number that are not yet in it.
//!
//! A catch-up goes through the upkeep lane in pieces, each for one range of owners (so one
//! range of the index's pages), so that no piece holds the writer long; the last piece moves
//! the mark. A crash in between leaves the mark where it was, and the next catch-up adds what is
//! missing (`INSERT OR IGNORE`). A decision deleted takes its index row with it (a trigger).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::queue;
use super::readers::Readers;
use super::writer::{Bind, Job, Write};
use crate::store::StoreError;

/// Decisions appended after which the index catches up.
pub(super) const CATCH_UP_EVERY: usize = 4096;

/// Commits a catch-up is cut into, each for a range of owners.
const PIECES: usize = 8;

/// The most decisions one catch-up takes.
const MOST_AT_ONCE: usize = 4 * CATCH_UP_EVERY;

/// Whether decision `d` asked for resource `?2` (any, if NULL).
macro_rules! asked_for_resource {
    () => {
        "(?2 IS NULL OR EXISTS (
             SELECT 1 FROM json_each(d.body, IIF(json_type(d.body, '$.q') IS NULL,
                                                '$.requested', '$.q')) AS asked
             WHERE COALESCE(json_extract(asked.value, '$.resource_id'),
                            json_extract(asked.value, '$[0]')) = ?2))"
    };
}

/// A page of an owner's decisions (`?1` the owner, `?2` a resource or NULL, `?3` the limit,
/// `?4` the newest time, `?5` how many of that time to pass over), newest first: the index
/// merged with the decisions past the mark that are not in it, each side in `(at, id)` order so
/// that SQLite merges the two and stops at the limit. The side past the mark reads by number
/// (`NOT INDEXED`: never down the time index, which would walk the whole log). What was asked
/// is `[id, scopes]` pairs, or `{"resource_id": …}` objects in records of earlier versions.
pub(super) const OWNERS_PAGE: &str = concat!(
    "SELECT d.owner, o.at, d.body, o.id
     FROM decisions_by_owner AS o JOIN decisions AS d ON d.id = o.id
     WHERE o.owner = ?1 AND o.at <= ?4 AND ",
    asked_for_resource!(),
    "
     UNION ALL
     SELECT d.owner, d.at, d.body, d.id FROM decisions AS d NOT INDEXED
     WHERE d.id > (SELECT up_to FROM decisions_indexed) AND d.owner = ?1 AND d.at <= ?4
       AND NOT EXISTS (SELECT 1 FROM decisions_by_owner AS o
                       WHERE o.owner = d.owner AND o.at = d.at AND o.id = d.id)
       AND ",
    asked_for_resource!(),
    "
     ORDER BY 2 DESC, 4 DESC LIMIT ?3 OFFSET ?5"
);

/// Counts the decisions appended since the last catch-up, and whether one is running.
#[derive(Debug, Default)]
pub(super) struct OwnerIndex {
    appended: AtomicUsize,
    catching_up: AtomicBool,
}

impl OwnerIndex {
    /// Counts one decision appended; starts a catch-up in the background when it is time and
    /// none runs, and returns it. Needs a tokio runtime (the store's methods run on one).
    pub(super) fn appended(
        self: &Arc<Self>,
        readers: &Readers,
        upkeep: &mpsc::Sender<Job>,
    ) -> Option<JoinHandle<()>> {
        if self.appended.fetch_add(1, Ordering::Relaxed) + 1 < CATCH_UP_EVERY
            || self.catching_up.swap(true, Ordering::AcqRel)
        {
            return None;
        }
        self.appended.store(0, Ordering::Relaxed);
        let (index, readers, upkeep) = (Arc::clone(self), readers.clone(), upkeep.clone());
        Some(tokio::spawn(async move {
            if let Err(error) = catch_up(&readers, &upkeep, MOST_AT_ONCE).await {
                // The decisions stay readable past the mark; the next catch-up takes them.
                tracing::warn!(%error, "the owner's index of decisions did not catch up");
            }
            index.catching_up.store(false, Ordering::Release);
        }))
    }
}

/// Adds the decisions past the mark (the oldest `most` of them) to the owner's index, one
/// range of owners per commit, then moves the mark past them.
pub(super) async fn catch_up(
    readers: &Readers,
    upkeep: &mpsc::Sender<Job>,
    most: usize,
) -> Result<(), StoreError> {
    match next_batch(readers, most).await? {
        Some(batch) => index(upkeep, batch).await,
        None => Ok(()),
    }
}

/// Decisions past the mark, to be indexed together.
#[derive(Debug)]
struct Batch {
    /// The mark they are past.
    mark: i64,
    /// The last of them.
    last: i64,
    /// Their owners, sorted, one per decision.
    owners: Vec<String>,
}

/// The oldest `most` decisions past the mark, if any: a backlog (catch-ups that failed) is
/// taken a bounded batch at a time.
async fn next_batch(readers: &Readers, most: usize) -> Result<Option<Batch>, StoreError> {
    readers
        .run(move |connection| {
            let mark: i64 =
                connection
                    .query_row("SELECT up_to FROM decisions_indexed", [], |row| row.get(0))?;
            let mut statement = connection.prepare_cached(
                "SELECT owner, id FROM decisions WHERE id > ?1 ORDER BY id LIMIT ?2",
            )?;
            let limit = i64::try_from(most).unwrap_or(i64::MAX);
            let rows = statement
                .query_map([mark, limit], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let Some(&(_, last)) = rows.last() else {
                return Ok(None);
            };
            let mut owners: Vec<String> = rows.into_iter().map(|(owner, _)| owner).collect();
            owners.sort_unstable();
            Ok(Some(Batch { mark, last, owners }))
        })
        .await
}

/// Indexes `batch`, one range of owners per commit, and moves the mark past it in the last.
async fn index(upkeep: &mpsc::Sender<Job>, batch: Batch) -> Result<(), StoreError> {
    let ranges = owner_ranges(&batch.owners, PIECES);
    let pieces = ranges.len();
    for (n, (from, to)) in ranges.into_iter().enumerate() {
        let mut writes = vec![Write {
            sql: "INSERT OR IGNORE INTO decisions_by_owner (owner, at, id)
                  SELECT owner, at, id FROM decisions
                  WHERE id > ?1 AND id <= ?2 AND (?3 IS NULL OR owner >= ?3)
                    AND (?4 IS NULL OR owner < ?4)",
            binds: vec![
                Bind::Int(batch.mark),
                Bind::Int(batch.last),
                from.map_or(Bind::Null, Bind::Text),
                to.map_or(Bind::Null, Bind::Text),
            ],
            returning: false,
        }];
        if n + 1 == pieces {
            writes.push(Write {
                // Never back: a batch read before another was indexed may end after it (a
                // store opened twice in one process catches up twice).
                sql: "UPDATE decisions_indexed SET up_to = MAX(up_to, ?1)",
                binds: vec![Bind::Int(batch.last)],
                returning: false,
            });
        }
        queue(upkeep, writes).await?;
    }
    Ok(())
}

/// Cuts `owners` (sorted, with repeats) into at most `pieces` ranges `[from, to)` of about as
/// many decisions each, never splitting one owner; `None` is open-ended.
fn owner_ranges(owners: &[String], pieces: usize) -> Vec<(Option<String>, Option<String>)> {
    let step = owners.len().div_ceil(pieces).max(1);
    // A bound at the first owner would open an empty range.
    let mut bounds: Vec<&String> = owners
        .iter()
        .step_by(step)
        .skip(1)
        .filter(|bound| Some(*bound) != owners.first())
        .collect();
    bounds.dedup();
    let mut ranges = Vec::with_capacity(bounds.len() + 1);
    let mut from = None;
    for bound in bounds {
        ranges.push((from, Some(bound.clone())));
        from = Some(bound.clone());
    }
    ranges.push((from, None));
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::store::tests::TempDb;
    use crate::store::{Decision, DecisionCursor, Store};

    /// Every page of `owner`'s decisions, two at a time, as ids.
    async fn pages(store: &SqliteStore, owner: &str, resource: Option<&str>) -> Vec<String> {
        let (mut all, mut from) = (Vec::new(), None::<DecisionCursor>);
        loop {
            let page = store.decisions_of(owner, resource, from, 2).await.unwrap();
            if page.is_empty() {
                return all;
            }
            from = DecisionCursor::next(from, &page);
            all.extend(page.into_iter().map(|d| d.id));
        }
    }

    /// The number a query of one row and one column answers.
    async fn number(store: &SqliteStore, sql: &'static str) -> i64 {
        store
            .readers
            .run(move |c| c.query_row(sql, [], |r| r.get(0)))
            .await
            .unwrap()
    }

    async fn indexed_rows(store: &SqliteStore) -> i64 {
        number(store, "SELECT count(*) FROM decisions_by_owner").await
    }

    async fn mark(store: &SqliteStore) -> i64 {
        number(store, "SELECT up_to FROM decisions_indexed").await
    }

    /// Puts the mark back to the start, as if no catch-up had finished.
    async fn forget_the_mark(store: &SqliteStore) {
        let reset = Write {
            sql: "UPDATE decisions_indexed SET up_to = 0",
            binds: vec![],
            returning: false,
        };
        queue(&store.upkeep, vec![reset]).await.unwrap();
    }

    /// An owner's pages are the same whether their decisions are in the index, past it, or
    /// both (a catch-up cut short between its pieces), ties of one second included.
    #[tokio::test]
    async fn an_owners_pages_read_the_index_and_what_is_past_it_once_each() {
        let db = TempDb::new();
        let store = SqliteStore::open(&db.path).await.unwrap();
        for (id, owner, at, resource) in [
            ("a1", "alice", 10, "r1"),
            ("b1", "bob", 10, "r1"),
            ("a2", "alice", 20, "r2"),
            ("a3", "alice", 20, "r1"),
        ] {
            store
                .put_decision(Decision::denied(id, owner, at, resource))
                .await
                .unwrap();
        }
        catch_up(&store.readers, &store.upkeep, MOST_AT_ONCE)
            .await
            .unwrap();
        assert_eq!(indexed_rows(&store).await, 4);
        for (id, at, resource) in [("a4", 20, "r1"), ("a5", 30, "r2")] {
            store
                .put_decision(Decision::denied(id, "alice", at, resource))
                .await
                .unwrap();
        }
        let newest_first = ["a5", "a4", "a3", "a2", "a1"];
        assert_eq!(pages(&store, "alice", None).await, newest_first);
        assert_eq!(pages(&store, "alice", Some("r1")).await, ["a4", "a3", "a1"]);
        assert_eq!(pages(&store, "bob", None).await, ["b1"]);

        // Cut short: every decision in the index and past the mark as well.
        forget_the_mark(&store).await;
        catch_up(&store.readers, &store.upkeep, MOST_AT_ONCE)
            .await
            .unwrap();
        forget_the_mark(&store).await;
        assert_eq!(indexed_rows(&store).await, 6);
        assert_eq!(pages(&store, "alice", None).await, newest_first);
        assert_eq!(pages(&store, "alice", Some("r2")).await, ["a5", "a2"]);
    }

    /// The purge takes a decision's index row with it, and numbers are never reused: a decision
    /// made after everything was purged is past the mark, so it is read.
    #[tokio::test]
    async fn purged_decisions_leave_the_index_and_new_ones_are_read() {
        let db = TempDb::new();
        let store = SqliteStore::open(&db.path).await.unwrap();
        store
            .put_decision(Decision::denied("a1", "alice", 10, "r1"))
            .await
            .unwrap();
        store
            .put_decision(Decision::denied("a2", "alice", 20, "r1"))
            .await
            .unwrap();
        catch_up(&store.readers, &store.upkeep, MOST_AT_ONCE)
            .await
            .unwrap();
        assert_eq!(
            store.purge(0, 15, 100).await.unwrap(),
            1,
            "index rows are not counted"
        );
        assert_eq!(indexed_rows(&store).await, 1);
        assert_eq!(store.purge(0, 25, 100).await.unwrap(), 1);
        assert_eq!(indexed_rows(&store).await, 0);
        store
            .put_decision(Decision::denied("a3", "alice", 30, "r1"))
            .await
            .unwrap();
        assert_eq!(pages(&store, "alice", None).await, ["a3"]);
    }

    /// A backlog is taken the oldest first, a bounded batch at a time, and the mark never goes
    /// back (a second catch-up that read an older mark ends after the first).
    #[tokio::test]
    async fn a_catch_up_takes_a_bounded_batch_and_the_mark_never_goes_back() {
        let db = TempDb::new();
        let store = SqliteStore::open(&db.path).await.unwrap();
        for n in 1..=5 {
            let owner = if n % 2 == 0 { "alice" } else { "bob" };
            store
                .put_decision(Decision::denied(&format!("d{n}"), owner, n, "r1"))
                .await
                .unwrap();
        }
        catch_up(&store.readers, &store.upkeep, 2).await.unwrap();
        assert_eq!((mark(&store).await, indexed_rows(&store).await), (2, 2));
        let older = next_batch(&store.readers, 1).await.unwrap().unwrap();
        catch_up(&store.readers, &store.upkeep, 2).await.unwrap();
        assert_eq!((mark(&store).await, indexed_rows(&store).await), (4, 4));
        index(&store.upkeep, older).await.unwrap();
        assert_eq!((mark(&store).await, indexed_rows(&store).await), (4, 4));
        assert_eq!(pages(&store, "alice", None).await, ["d4", "d2"]);
        assert_eq!(pages(&store, "bob", None).await, ["d5", "d3", "d1"]);
    }

    /// Each decision stored counts toward a catch-up, a grant's as well as one stored alone, and
    /// the [`CATCH_UP_EVERY`]th starts one that indexes them all.
    #[tokio::test]
    async fn enough_decisions_start_a_catch_up() {
        let db = TempDb::new();
        let store = SqliteStore::open(&db.path).await.unwrap();
        let rpt = crate::store::TokenRecord::rpt_relying_on(vec![], crate::time::now() + 60);
        let stored = store
            .put_rpt(
                (crate::secret::TokenHash::of("rpt"), rpt),
                None,
                Some(Decision::denied("d0", "alice", 10, "r1")),
                None,
            )
            .await
            .unwrap();
        assert_eq!(stored, crate::store::RptStored::Stored);
        for n in 1..CATCH_UP_EVERY - 1 {
            let owner = if n % 2 == 0 { "alice" } else { "bob" };
            store
                .put_decision(Decision::denied(&format!("d{n}"), owner, 10, "r1"))
                .await
                .unwrap();
        }
        assert_eq!(
            store.owner_index.appended.load(Ordering::Relaxed),
            CATCH_UP_EVERY - 1
        );
        assert_eq!(indexed_rows(&store).await, 0);

        let last = CATCH_UP_EVERY - 1;
        queue(
            &store.upkeep,
            vec![Write {
                sql: "INSERT INTO decisions (owner, at, body) VALUES ('bob', 10, '{}')",
                binds: vec![],
                returning: false,
            }],
        )
        .await
        .unwrap();
        let catching_up = store.owner_index.appended(&store.readers, &store.upkeep);
        catching_up.expect("the count reached").await.unwrap();
        let mark = mark(&store).await;
        assert_eq!(mark, i64::try_from(last + 1).unwrap());
        assert_eq!(indexed_rows(&store).await, mark);
        assert_eq!(store.owner_index.appended.load(Ordering::Relaxed), 0);
    }

    /// The plan SQLite makes for a page: each side by its key, neither a walk of the log.
    #[tokio::test]
    async fn an_owners_page_reads_by_key() {
        let db = TempDb::new();
        let store = SqliteStore::open(&db.path).await.unwrap();
        let plan: Vec<String> = store
            .readers
            .run(|c| {
                let mut statement = c.prepare(&format!("EXPLAIN QUERY PLAN {OWNERS_PAGE}"))?;
                let rows = statement.query_map(
                    rusqlite::params!["alice", Option::<String>::None, 10, i64::MAX, 0],
                    |row| row.get::<_, String>(3),
                )?;
                rows.collect()
            })
            .await
            .unwrap();
        let has = |step: &str| plan.iter().any(|s| s == step);
        assert!(
            has("SEARCH o USING PRIMARY KEY (owner=? AND at<?)"),
            "{plan:?}"
        );
        assert!(
            has("SEARCH d USING INTEGER PRIMARY KEY (rowid>?)"),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|s| s == "SCAN d"
                || s.starts_with("SCAN d ")
                || s.contains("decisions_by_time")),
            "{plan:?}"
        );
    }

    fn names(owners: &[&str]) -> Vec<String> {
        owners.iter().map(|o| (*o).to_owned()).collect()
    }

    #[test]
    fn owner_ranges_cover_everyone_once_and_never_split_an_owner() {
        let owners = names(&["a", "a", "a", "b", "c", "c", "d", "e"]);
        let ranges = owner_ranges(&owners, 3);
        assert_eq!(ranges.first().unwrap().0, None);
        assert_eq!(ranges.last().unwrap().1, None);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "contiguous");
        }
        for owner in &owners {
            let holding = ranges
                .iter()
                .filter(|(from, to)| {
                    from.as_ref().is_none_or(|f| owner >= f)
                        && to.as_ref().is_none_or(|t| owner < t)
                })
                .count();
            assert_eq!(holding, 1, "{owner}");
        }
        assert_eq!(ranges.len(), 3);
    }

    #[test]
    fn one_owner_or_none_is_one_range() {
        assert_eq!(
            owner_ranges(&names(&["a", "a", "a"]), 8),
            vec![(None, None)]
        );
        assert_eq!(owner_ranges(&[], 8), vec![(None, None)]);
    }
}
