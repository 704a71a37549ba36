//! Sign-in sessions: each is a store record under the hash of the id in the browser's cookie,
//! made by an unauthenticated request, so their number is capped (TM-15): past the cap a new
//! sign-in is refused until older ones expire, and nothing the caller sends grows the server.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::secret::TokenHash;
use crate::server::AppState;
use crate::store::{LoginSession, StoreError, TokenKind, TokenRecord};
use crate::time::now;

/// Admission of new sign-in sessions in this process: the expiry of each live one, oldest
/// first. Sessions all live as long, so the front is always the next to expire.
#[derive(Debug)]
pub(crate) struct SignInSessions {
    max: usize,
    expiries: Mutex<VecDeque<u64>>,
}

impl SignInSessions {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            expiries: Mutex::new(VecDeque::new()),
        }
    }

    /// Takes a place for a session ending at `expires_at`; `false` when all are taken.
    fn admit(&self, expires_at: u64) -> bool {
        // Every update is one call below; poisoning cannot leave the queue half-written.
        let mut expiries = self.expiries.lock().unwrap_or_else(|e| e.into_inner());
        let now = now();
        while expiries.front().is_some_and(|end| *end <= now) {
            expiries.pop_front();
        }
        if expiries.len() >= self.max {
            return false;
        }
        expiries.push_back(expires_at);
        true
    }
}

/// Why a session was not started.
#[derive(Debug)]
pub(super) enum NotStarted {
    /// Too many sign-ins are in progress.
    Full,
    Store(StoreError),
}

/// Stores a new session under the hash of `id`, if there is room.
pub(super) async fn start(
    state: &AppState,
    id: &str,
    client_id: &str,
    session: LoginSession,
) -> Result<(), NotStarted> {
    let record = TokenRecord::new(
        TokenKind::Login(session),
        client_id,
        String::new(),
        super::LOGIN_LIFETIME,
    );
    if !state.sign_in.sessions.admit(record.expires_at) {
        return Err(NotStarted::Full);
    }
    state
        .store
        .put_token(TokenHash::of(id), record)
        .await
        .map_err(NotStarted::Store)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_than_the_cap_and_room_again_as_they_expire() {
        let sessions = SignInSessions::new(2);
        let later = now() + 600;
        assert!(sessions.admit(later));
        assert!(sessions.admit(later));
        assert!(!sessions.admit(later));
        let sessions = SignInSessions::new(1);
        assert!(sessions.admit(now().saturating_sub(1)), "already over");
        assert!(sessions.admit(later), "the expired one made room");
    }
}
