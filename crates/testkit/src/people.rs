//! Workflows and people enrolled straight into a gateway's store, as the operator CLI does.

use countersign_client::ConsoleIdentity;
use countersign_gateway::auth::workflow_token_hash;
use countersign_store::{ReviewerRow, Store};
use countersign_wire::{Role, Tier, Timestamp};

/// Every impact tier: what a reviewer who may decide anything is enrolled for.
pub const ALL_TIERS: [Tier; 4] = Tier::ALL;

/// Registers the workflow `name` with the bearer credential `token`.
pub async fn add_workflow(store: &Store, name: &str, token: &str, at: Timestamp) {
    store
        .add_workflow(name, &workflow_token_hash(token), at)
        .await
        .expect("the workflow is added");
}

/// Enrols `who` (their identity and public key) with `roles`, for `tiers`.
pub async fn enrol(
    store: &Store,
    who: &ConsoleIdentity,
    display_name: &str,
    roles: &[Role],
    tiers: &[Tier],
    at: Timestamp,
) {
    let key = who.key.public();
    let row = ReviewerRow {
        identity: who.identity.clone(),
        display_name: display_name.into(),
        roles: roles.to_vec(),
        tiers: tiers.to_vec(),
        keys: vec![key.to_jwk()],
    };
    store
        .enrol_reviewer(&row, &[key.thumbprint().to_owned()], at)
        .await
        .expect("the reviewer is enrolled");
}
