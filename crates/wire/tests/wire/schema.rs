//! The checked-in JSON Schema is the one these types generate.

use std::path::Path;

use countersign_wire::schema::{SCHEMA_PATH, contract_schema, contract_schema_text};

#[test]
fn the_checked_in_schema_is_what_the_types_generate() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(SCHEMA_PATH);
    let generated = contract_schema_text();
    if std::env::var_os("COUNTERSIGN_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).expect("the schema is written");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "{SCHEMA_PATH} is not what the wire types generate: run \
         `COUNTERSIGN_WRITE_SCHEMA=1 cargo test -p countersign-wire --test wire schema` and \
         commit it (and follow the change in the SDKs)"
    );
}

#[test]
fn the_schema_holds_every_type_of_the_contract_with_its_codes() {
    let schema = contract_schema();
    let defs = schema["$defs"].as_object().expect("$defs");
    for name in [
        "DelegationRequest",
        "HopClaims",
        "DecisionClaims",
        "VerificationReport",
        "SubmitResponse",
        "ApiError",
        "DecisionOutcome",
        "Receipt",
        "NoteSubmission",
        "WebhookDelivery",
        "ReviewRecord",
        "Timestamp",
        "FindingCode",
        "ErrorCode",
    ] {
        assert!(defs.contains_key(name), "no {name} in $defs");
    }
    let codes = defs["FindingCode"]["enum"].as_array().expect("an enum");
    assert!(codes.iter().any(|c| c == "GHOST_PERMISSION"));
    assert_eq!(codes.len(), countersign_wire::FindingCode::KNOWN.len());
    let required = defs["DelegationRequest"]["required"]
        .as_array()
        .expect("required members");
    for member in ["request_id", "principal", "chain", "action"] {
        assert!(required.iter().any(|m| m == member), "{member} is required");
    }
}
