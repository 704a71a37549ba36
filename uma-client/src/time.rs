//! Lifetimes and waits from the wire, made safe to add to an instant.

use std::time::{Duration, Instant};

/// The longest lifetime or wait the client takes from a server: a year. Anything longer is
/// treated as a year, so that a hostile `expires_in: 18446744073709551615` can neither overflow
/// an instant (which panics) nor keep a token forever.
pub(crate) const LONGEST: Duration = Duration::from_secs(365 * 86_400);

/// `secs` from a server, clamped to [`LONGEST`].
pub(crate) fn clamped(secs: u64) -> Duration {
    Duration::from_secs(secs).min(LONGEST)
}

/// The instant `secs` (from a server, clamped) from now.
pub(crate) fn after(secs: u64) -> Instant {
    Instant::now() + clamped(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_values_do_not_overflow() {
        assert!(after(u64::MAX) > Instant::now());
        assert_eq!(clamped(u64::MAX), LONGEST);
        assert_eq!(clamped(5), Duration::from_secs(5));
    }
}
