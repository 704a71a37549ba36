//! Slowing password guessing down (TM-20): failed sign-ins are counted per account and per
//! client (the OAuth client of the password grant, the network peer of a sign-in page); past a
//! few failures each further one locks the key for twice as long as the last, up to a cap, and
//! a locked key is answered `429` with `Retry-After` before any password is checked.

use std::time::{Duration, Instant};

use moka::sync::Cache;

/// Failures of an account allowed before it is locked.
const ACCOUNT_FREE_FAILURES: u32 = 5;
/// Failures of a client or peer allowed before it is locked: higher, since one client signs in
/// many people, each of whom mistypes now and then.
const CLIENT_FREE_FAILURES: u32 = 20;
/// The first lock; each further failure doubles it.
const FIRST_LOCK: Duration = Duration::from_secs(1);
/// The longest lock.
const LONGEST_LOCK: Duration = Duration::from_secs(15 * 60);
/// Keys remembered at most: an attacker cycling through names cannot grow memory past this.
const MAX_KEYS: u64 = 100_000;

/// Who failed to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// The account whose password was tried (known or not, so that locking tells nothing).
    Account(String),
    /// The OAuth client, or the network peer, that tried it.
    Client(String),
}

impl Key {
    fn free_failures(&self) -> u32 {
        match self {
            Self::Account(_) => ACCOUNT_FREE_FAILURES,
            Self::Client(_) => CLIENT_FREE_FAILURES,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

/// The failure counts, bounded in number and forgotten 15 minutes after the last failure.
pub(crate) struct Throttle {
    failures: Cache<Key, Failures>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

impl Default for Throttle {
    fn default() -> Self {
        Self {
            failures: Cache::builder()
                .max_capacity(MAX_KEYS)
                .time_to_idle(LONGEST_LOCK)
                .build(),
        }
    }
}

impl Throttle {
    /// How long the caller must wait before any of `keys` may try again; `None` if none is
    /// locked.
    pub(crate) fn locked(&self, keys: &[Key]) -> Option<Duration> {
        let now = Instant::now();
        keys.iter()
            .filter_map(|key| self.failures.get(key)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max()
    }

    /// Counts a failure of each key, locking those past their free failures.
    pub(crate) fn failed(&self, keys: &[Key]) {
        for key in keys {
            let free = key.free_failures();
            self.failures.entry(key.clone()).and_upsert_with(|entry| {
                let count = entry.map_or(0, |e| e.into_value().count).saturating_add(1);
                let locked_until = count
                    .checked_sub(free)
                    .filter(|over| *over > 0)
                    .map(|over| {
                        let lock = FIRST_LOCK
                            .checked_mul(2u32.saturating_pow(over - 1))
                            .map_or(LONGEST_LOCK, |lock| lock.min(LONGEST_LOCK));
                        Instant::now() + lock
                    });
                Failures {
                    count,
                    locked_until,
                }
            });
        }
    }

    /// Forgets an account's failures after it signed in.
    pub(crate) fn succeeded(&self, account: &str) {
        self.failures.invalidate(&Key::Account(account.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_is_locked_after_its_free_failures_for_longer_each_time() {
        let throttle = Throttle::default();
        let alice = [Key::Account("alice".into())];
        for _ in 0..ACCOUNT_FREE_FAILURES {
            assert_eq!(throttle.locked(&alice), None);
            throttle.failed(&alice);
        }
        assert_eq!(throttle.locked(&alice), None, "five mistakes are free");
        throttle.failed(&alice);
        let first = throttle.locked(&alice).unwrap();
        assert!(first <= FIRST_LOCK);
        throttle.failed(&alice);
        assert!(throttle.locked(&alice).unwrap() > first);
        for _ in 0..40 {
            throttle.failed(&alice);
        }
        assert!(throttle.locked(&alice).unwrap() <= LONGEST_LOCK);
        // Another account, and the same name as a client, are untouched.
        assert_eq!(throttle.locked(&[Key::Account("bob".into())]), None);
        assert_eq!(throttle.locked(&[Key::Client("alice".into())]), None);
        throttle.succeeded("alice");
        assert_eq!(throttle.locked(&alice), None);
    }

    #[test]
    fn a_client_has_more_free_failures_than_an_account() {
        let throttle = Throttle::default();
        let app = [Key::Client("app".into())];
        for _ in 0..CLIENT_FREE_FAILURES {
            throttle.failed(&app);
        }
        assert_eq!(throttle.locked(&app), None);
        throttle.failed(&app);
        assert!(throttle.locked(&app).is_some());
    }
}
