//! Wall-clock time in the seconds-since-epoch form every token carries.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        // A clock before 1970 is a broken host; treating it as the epoch makes every token look
        // expired, which fails closed.
        .unwrap_or(0)
}
