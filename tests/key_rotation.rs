//! A signing-key rotation while guarded requests run refuses no valid RPT: the authorization
//! server publishes a new key in its JWKS longer before it signs with it than the guard waits
//! between JWKS fetches, so the guard always finds the key of a fresh RPT. (With no publication
//! ahead, the same load has about half its requests refused while the guard may not refetch.)

#[path = "support/counting.rs"]
mod counting;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use counting::{CountingAs, get_with, serve};
use http::StatusCode;
use uma_rs_guard::RptValidation;

/// The `kid` in a JWT's header.
fn kid_of(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_under_load_refuses_no_valid_rpt() {
    // New keys are published 2 s before they sign; the guard refetches its JWKS at most once a
    // second when it meets an unknown kid.
    let world =
        Arc::new(CountingAs::start(|b| b.signing_key_publication(Duration::from_secs(2))).await);
    let url = Arc::new(
        serve(
            world
                .guard()
                .validation(RptValidation::LocalJwt)
                .jwks_refresh_interval(Duration::from_secs(1))
                .build()
                .unwrap(),
        )
        .await,
    );
    // The guard holds the JWKS of before the rotation.
    let first = world.rpt().await;
    let first_kid = kid_of(&first);
    assert_eq!(get_with(&url, Some(&first)).await.status(), StatusCode::OK);
    assert_eq!(world.calls("/jwks"), 1);

    // Clients that keep getting fresh RPTs and using them, counting what the guard answers.
    let stop = Arc::new(AtomicBool::new(false));
    let (served, refused, with_new_key) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let (progress, mut seen) = tokio::sync::watch::channel(0usize);
    let progress = Arc::new(progress);
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (world, url, stop) = (world.clone(), url.clone(), stop.clone());
        let (served, refused, with_new_key) =
            (served.clone(), refused.clone(), with_new_key.clone());
        let (first_kid, progress) = (first_kid.clone(), progress.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let rpt = world.rpt().await;
                let status = get_with(&url, Some(&rpt)).await.status();
                if status == StatusCode::OK {
                    served.fetch_add(1, Ordering::SeqCst);
                } else {
                    refused.fetch_add(1, Ordering::SeqCst);
                }
                if kid_of(&rpt) != first_kid {
                    let n = with_new_key.fetch_add(1, Ordering::SeqCst) + 1;
                    progress.send_replace(n);
                }
            }
        }));
    }

    // Rotate while they run; go on until 40 requests carried RPTs signed with the new key.
    let new_kid = world.server.rotate_signing_key().await.unwrap();
    assert_ne!(new_kid, first_kid);
    seen.wait_for(|n| *n >= 40).await.unwrap();
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.await.unwrap();
    }
    let (served, refused) = (
        served.load(Ordering::SeqCst),
        refused.load(Ordering::SeqCst),
    );
    assert_eq!(refused, 0, "{refused} of {} refused", served + refused);
    assert!(with_new_key.load(Ordering::SeqCst) >= 40);
    // The guard found the new key by fetching the JWKS again.
    assert!(world.calls("/jwks") >= 2, "{:?}", world.calls("/jwks"));
}
