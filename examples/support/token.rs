//! The token request of the load drivers (included by `grant_load.rs` and `flow_load.rs` with
//! `#[path]`): `form` at the token endpoint with `client`'s HTTP Basic credentials.

use serde_json::Value;

/// The load drivers' error type.
pub type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The `access_token` of the answer.
pub async fn token(
    http: &reqwest::Client,
    issuer: &str,
    client: (&str, &str),
    form: &[(&str, &str)],
) -> Result<String> {
    let body: Value = http
        .post(format!("{issuer}/token"))
        .basic_auth(client.0, Some(client.1))
        .form(form)
        .send()
        .await?
        .json()
        .await?;
    Ok(body["access_token"]
        .as_str()
        .ok_or_else(|| format!("no token: {body}"))?
        .to_owned())
}
