//! Fetching an authorization server's discovery document (the document itself is
//! [`uma_types::discovery`], re-exported here).

pub use uma_types::discovery::*;

/// Fetches the discovery document of `issuer` and checks that its `issuer` is exactly the one
/// asked for (RFC 8414 §3.3): a document that names another issuer must not be used.
pub(crate) async fn fetch(
    http: &reqwest::Client,
    issuer: &str,
) -> crate::Result<DiscoveryDocument> {
    const ENDPOINT: &str = "discovery";
    let response = crate::transport::send(http.get(discovery_url(issuer)), ENDPOINT).await?;
    let document: DiscoveryDocument =
        crate::transport::expect_json(response, http::StatusCode::OK, ENDPOINT).await?;
    if document.issuer != issuer {
        return Err(crate::error::Kind::Discovery {
            issuer: issuer.to_owned(),
            detail: format!("the document names issuer {:?}", document.issuer),
        }
        .into());
    }
    Ok(document)
}

/// An endpoint `document` must have for the call at hand.
pub(crate) fn require<'a>(
    document: &'a DiscoveryDocument,
    endpoint: &'a Option<String>,
    name: &str,
) -> crate::Result<&'a str> {
    endpoint.as_deref().ok_or_else(|| {
        crate::error::Kind::Discovery {
            issuer: document.issuer.clone(),
            detail: format!("no {name}"),
        }
        .into()
    })
}
