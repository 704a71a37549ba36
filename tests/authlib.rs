//! Authlib (PyPI), a generic OAuth 2.0 / OpenID Connect client library, unchanged, against
//! `uma-as` on the spec's paths: discovery, the authorization code flow with PKCE and a nonce
//! through the sign-in page, the ID token checked by Authlib (signature, `iss`, `aud`, `nonce`,
//! `at_hash`), UserInfo, and introspection with `client_secret_basic`
//! (`tests/interop/authlib_oidc.py`).
//!
//! The Python with `authlib` and `requests` is `UMA_PYTHON` (`.ci/run` makes a venv and sets
//! it), or `python3` when that can import them; without one the test prints `skipped: …` and
//! passes, and with `UMA_REQUIRE_INTEROP` set (as `.ci/run` sets it) fails instead.

mod support;

use uma_as_core::{AuthorizationServer, ClientConfig, UserConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_runs_the_openid_code_flow_unchanged() {
    let Some(python) =
        support::interop::python_with("authlib, requests", "pip install authlib requests")
    else {
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
    support::interop::run_python(python, script, vec![issuer], "authlib: every call worked").await;
}
