//! The contract as a JSON Schema (draft 2020-12), for SDKs in other languages: generated from
//! these types, checked in at `schema/countersign-v1.schema.json`, and compared with a fresh
//! generation by the wire tests, so neither side can change without the other.

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use crate::api::{
    ApiError, ApprovalResult, DecisionOutcome, DecisionRecord, ErrorBody, GatewayEvent,
    NoteSubmission, Receipt, RequestRecord, RequesterNote, ReviewRecord, SubmitResponse,
    WebhookDelivery,
};
use crate::{
    DecisionClaims, DelegationRequest, HopClaims, JwsHeader, TrustStore, VerificationReport,
};

/// Where the checked-in schema lives, relative to the workspace root.
pub const SCHEMA_PATH: &str = "schema/countersign-v1.schema.json";

/// The contract's schema: one document whose `$defs` hold every type a workflow, an SDK or
/// an auditor's tool reads or writes (requests, hop and decision claims, the REST bodies,
/// webhooks, review records).
pub fn contract_schema() -> Value {
    let mut generator = SchemaSettings::draft2020_12().into_generator();
    // Each type lands in `$defs` under its own name, with everything it refers to.
    generator.subschema_for::<DelegationRequest>();
    generator.subschema_for::<JwsHeader>();
    generator.subschema_for::<HopClaims>();
    generator.subschema_for::<DecisionClaims>();
    generator.subschema_for::<VerificationReport>();
    generator.subschema_for::<TrustStore>();
    generator.subschema_for::<SubmitResponse>();
    generator.subschema_for::<ErrorBody>();
    generator.subschema_for::<ApiError>();
    generator.subschema_for::<DecisionOutcome>();
    generator.subschema_for::<ApprovalResult>();
    generator.subschema_for::<DecisionRecord>();
    generator.subschema_for::<Receipt>();
    generator.subschema_for::<NoteSubmission>();
    generator.subschema_for::<RequesterNote>();
    generator.subschema_for::<WebhookDelivery>();
    generator.subschema_for::<RequestRecord>();
    generator.subschema_for::<GatewayEvent>();
    generator.subschema_for::<ReviewRecord>();
    let defs: Map<String, Value> = generator.take_definitions(true).into_iter().collect();
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://countersign.dev/schema/countersign-v1.schema.json",
        "title": "Countersign wire contract v1",
        "description": "Every type of the contract, under $defs by name: a DelegationRequest is #/$defs/DelegationRequest.",
        "$defs": defs,
    })
}

/// The schema as it is checked in: pretty-printed, with a final newline.
pub fn contract_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&contract_schema()).unwrap_or_default();
    text.push('\n');
    text
}
