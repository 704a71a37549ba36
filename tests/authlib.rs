//! Authlib (PyPI), a generic OAuth 2.0 / OpenID Connect client library, unchanged, against
//! `uma-as` on the spec's paths: discovery, the authorization code flow with PKCE and a nonce
//! through the sign-in page, the ID token checked by Authlib (signature, `iss`, `aud`, `nonce`,
//! `at_hash`), UserInfo, and introspection with `client_secret_basic`
//! (`tests/interop/authlib_oidc.py`).
//!
//! The Python with `authlib` and `requests` is `UMA_PYTHON` (`.ci/run` makes a venv and sets
//! it), or `python3` when that can import them; without one the test prints `skipped: …` and
//! passes, and with `UMA_REQUIRE_INTEROP` set (as `.ci/run` sets it) fails instead.

use std::process::Command;

use uma_as_core::{AuthorizationServer, ClientConfig, UserConfig};

/// A Python that can import Authlib, or `None` having said so.
fn python() -> Option<String> {
    let candidate = std::env::var("UMA_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let usable = Command::new(&candidate)
        .args(["-c", "import authlib, requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    if usable {
        return Some(candidate);
    }
    if std::env::var_os("UMA_REQUIRE_INTEROP").is_some() {
        panic!("{candidate} cannot import authlib, and UMA_REQUIRE_INTEROP is set");
    }
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: no Python with Authlib (pip install authlib requests, or set UMA_PYTHON)"
    );
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_runs_the_openid_code_flow_unchanged() {
    let Some(python) = python() else {
        return;
    };
    let server = AuthorizationServer::builder()
        .client(ClientConfig::new("web", "web-secret").redirect_uris(["http://web.example/cb"]))
        .user(UserConfig::new("alice").password("alice-password"))
        .spawn()
        .await
        .unwrap();
    let issuer = server.issuer().to_owned();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/authlib_oidc.py");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args([script, &issuer])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("authlib: every call worked"),
        "Authlib failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
