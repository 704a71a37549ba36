//! Seeding a store straight, for the load drivers (included by `as_load.rs` and `flow_load.rs`
//! with `#[path]`).

use std::sync::Arc;

use uma_as_core::store::{Policy, Resource, Store, StoreError};
use uma_client::ResourceDescription;

/// Registers `count` resources of the resource server `photoz` (`r000000` …, scopes `view` and
/// `edit`), resource `i` owned by `owner(i)` and shared for `view` with `parties(i)` by a policy
/// (`p000000` …); eight writers at a time.
pub async fn seed(
    store: &Arc<dyn Store>,
    count: usize,
    owner: impl Fn(usize) -> String + Clone + Send + 'static,
    parties: impl Fn(usize) -> Vec<String> + Clone + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let writers = 8;
    let per_writer = count.div_ceil(writers);
    let mut running = tokio::task::JoinSet::new();
    for w in 0..writers {
        let (store, owner, parties) = (Arc::clone(store), owner.clone(), parties.clone());
        running.spawn(async move {
            for i in w * per_writer..((w + 1) * per_writer).min(count) {
                let id = format!("r{i:06}");
                store
                    .put_resource(Resource {
                        id: id.clone(),
                        owner: owner(i),
                        resource_server: "photoz".into(),
                        description: ResourceDescription::new(["view", "edit"]).name(&id),
                    })
                    .await?;
                store
                    .put_policy(Policy {
                        id: format!("p{i:06}"),
                        resource_id: id,
                        owner: owner(i),
                        scopes: vec!["view".into()],
                        users: parties(i),
                        ..Policy::default()
                    })
                    .await?;
            }
            Ok::<_, StoreError>(())
        });
    }
    while let Some(done) = running.join_next().await {
        done??;
    }
    Ok(())
}
