//! python-keycloak (PyPI), unchanged, against `uma-as` in Keycloak's realm mode: discovery,
//! certs, the password grant, refresh, introspection, logout, `uma_permissions` and
//! `has_uma_access`; `KeycloakUMA`'s resource sets (create, read, update, list with filters,
//! delete), permission tickets, and policies managed with the owner's token (create, query,
//! update, delete) (`tests/interop/python_keycloak.py`).
//!
//! The Python with `keycloak` installed is `UMA_PYTHON` (`.ci/run` makes a venv and sets it), or
//! `python3` when that can import it; without one the test prints `skipped: …` and passes, and
//! with `UMA_REQUIRE_INTEROP` set (as `.ci/run` sets it) fails instead.

mod support;

use support::{RS_ID, RS_SECRET};
use uma_as_core::{AuthorizationServer, ClientConfig, UserConfig};
use uma_client::{ClientCredentials, ProtectionClient, ResourceDescription};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_keycloak_works_unchanged_against_the_realm() {
    let Some(python) = support::interop::python_with("keycloak", "pip install python-keycloak")
    else {
        return;
    };
    let server = AuthorizationServer::builder()
        .keycloak_realm("photoz")
        .password_grant(true)
        .client(ClientConfig::new(RS_ID, RS_SECRET))
        .user(UserConfig::new("alice").password("alice-password"))
        .user(UserConfig::new("bob").password("bob-password"))
        .user(UserConfig::new("carol").password("carol-password"))
        .spawn()
        .await
        .unwrap();
    let protection = ProtectionClient::builder(server.issuer())
        .credentials(ClientCredentials::new(RS_ID, RS_SECRET))
        .build()
        .unwrap();
    let album = protection
        .create_resource(
            &ResourceDescription::new(["view", "edit"])
                .name("album")
                .owner("alice"),
        )
        .await
        .unwrap();
    server.share(&album, "bob", ["view"]).await.unwrap();
    let base = server
        .issuer()
        .strip_suffix("realms/photoz")
        .unwrap()
        .to_owned();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/python_keycloak.py"
    );
    support::interop::run_python(
        python,
        script,
        vec![base, "photoz".to_owned()],
        "python-keycloak: every call worked",
    )
    .await;
}
