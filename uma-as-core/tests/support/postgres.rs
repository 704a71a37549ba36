//! The test PostgreSQL database: each test gets a schema of its own in the database named by
//! `UMA_TEST_POSTGRES_URL`, so that tests run in parallel without seeing each other's rows.
//!
//! Without that variable a test prints one line, `skipped: …`, and passes (`.ci/run` sets it,
//! and fails on any such line).

#![allow(dead_code)] // each test file uses a different part

use sqlx::Connection as _;

/// A URL for a new, empty schema, or `None` (after saying so once) when no database is set.
pub async fn fresh_database() -> Option<String> {
    let Ok(base) = std::env::var("UMA_TEST_POSTGRES_URL") else {
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            use std::io::Write as _;
            // Straight to stderr: the test harness captures `eprintln!` of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: UMA_TEST_POSTGRES_URL is not set, so no PostgreSQL tests (see README, Development)"
            );
        });
        return None;
    };
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("the OS has randomness");
    let schema = format!("test_{:016x}", u64::from_le_bytes(bytes));
    let mut connection = sqlx::PgConnection::connect(&base)
        .await
        .expect("UMA_TEST_POSTGRES_URL names a reachable database");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut connection)
        .await
        .expect("the test role may create schemas");
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{separator}options[search_path]={schema}"))
}
