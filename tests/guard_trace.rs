//! The guard's tracing, alone in its binary: tracing's per-callsite interest is process-wide, so
//! a test that installs a thread-local subscriber beside other tests running on other threads can
//! miss events.

#[path = "support/counting.rs"]
mod counting;

use std::sync::{Arc, Mutex};

use http::StatusCode;
use uma_as_core::RptFormat;
use uma_rs_guard::RptValidation;

use counting::{CountingAs, get_with, serve};

/// A `MakeWriter` that keeps everything logged.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_decision_is_traced_and_no_token_is_logged() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    // One thread runs the test, the AS and the guard, so this subscriber sees all of them.
    let _default = tracing::subscriber::set_default(subscriber);

    let world = CountingAs::start(|b| b.rpt_format(RptFormat::Opaque)).await;
    let guard = world
        .guard()
        .validation(RptValidation::Introspection)
        .build()
        .unwrap();
    let url = serve(guard.clone()).await;
    let rpt = world.rpt().await;
    assert_eq!(get_with(&url, Some(&rpt)).await.status(), StatusCode::OK);
    assert_eq!(get_with(&url, Some(&rpt)).await.status(), StatusCode::OK);
    assert_eq!(
        get_with(&url, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let pat = guard.protection().pat().await.unwrap();

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let decisions: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("UMA decision"))
        .collect();
    assert_eq!(decisions.len(), 3, "{logs}");
    assert!(
        decisions[0].contains("outcome=\"granted\"")
            && decisions[0].contains("cache=Introspection")
    );
    assert!(decisions[0].contains(&format!("resource=\"{}\"", world.resource_id)));
    assert!(decisions[0].contains("as_latency_ms="));
    assert!(decisions[1].contains("cache=Cache"), "{}", decisions[1]);
    assert!(
        decisions[2].contains("challenged: no token"),
        "{}",
        decisions[2]
    );
    assert!(!logs.contains(&rpt), "the RPT was logged");
    assert!(!logs.contains(pat.as_str()), "the PAT was logged");
}
