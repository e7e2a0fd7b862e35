//! Bad input: a precise MALFORMED finding (or a NotJson error), never a panic.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use countersign_chain::{MAX_HOPS, MAX_REQUEST_BYTES, TrustIndex, verify_request};
use countersign_wire::{FindingCode, Jwk, Party, PartyKind, TrustStore, Verdict};
use serde_json::{Value, json};

use crate::support::{Fixture, assert_findings, now};

fn only_malformed(fixture: &Fixture, value: &Value) -> String {
    let report = fixture.verify_json_at(value, now());
    assert_eq!(report.verdict, Verdict::Invalid);
    let malformed: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.code == FindingCode::Malformed)
        .collect();
    assert!(!malformed.is_empty(), "expected MALFORMED: {report:#?}");
    malformed
        .iter()
        .map(|f| f.detail.as_str())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[test]
fn bytes_that_are_not_json_are_a_not_json_error() {
    let fixture = Fixture::new();
    let err = verify_request(b"{not json", &fixture.trust(), now()).unwrap_err();
    assert!(err.to_string().contains("not valid JSON"));
}

#[test]
fn a_request_over_one_mebibyte_is_malformed_before_parsing() {
    let fixture = Fixture::new();
    let mut value = fixture.json();
    value["evidence"][0]["content"] = json!("x".repeat(MAX_REQUEST_BYTES));
    let bytes = serde_json::to_vec(&value).unwrap();
    let report = verify_request(&bytes, &fixture.trust(), now())
        .unwrap()
        .report;
    assert_findings(&report, &[(FindingCode::Malformed, None)]);
    assert!(report.findings[0].detail.contains("limit is 1048576"));
    assert_eq!(report.request_digest, None);
}

#[test]
fn an_integer_beyond_two_to_the_53_is_malformed_with_its_path() {
    let fixture = Fixture::new();
    let mut value = fixture.json();
    value["action"]["arguments"]["amount"] = json!(9_007_199_254_740_993_u64);
    let detail = only_malformed(&fixture, &value);
    assert!(detail.contains("$.action.arguments.amount"), "{detail}");
    assert!(detail.contains("strings"), "{detail}");
}

#[test]
fn more_than_64_hops_is_malformed() {
    let fixture = Fixture::new();
    let mut value = fixture.json();
    let hop = value["chain"][0].clone();
    value["chain"] = Value::Array(vec![hop; MAX_HOPS + 1]);
    let detail = only_malformed(&fixture, &value);
    assert!(detail.contains("65 hops; the limit is 64"), "{detail}");
}

#[test]
fn missing_or_mistyped_fields_name_their_path() {
    let fixture = Fixture::new();
    let mut value = fixture.json();
    value["action"]["impact"]["tier"] = json!("apocalyptic");
    let detail = only_malformed(&fixture, &value);
    assert!(detail.contains("action.impact.tier"), "{detail}");

    let mut value = fixture.json();
    value.as_object_mut().unwrap().remove("txn");
    assert!(only_malformed(&fixture, &value).contains("txn"));
}

#[test]
fn schema_times_confidence_and_empty_chain_are_checked() {
    let fixture = Fixture::new();
    for (pointer, bad, needle) in [
        ("/schema", json!("countersign.request/v0"), "schema"),
        ("/expires_at", json!("tomorrow"), "expires_at"),
        ("/uncertainty/confidence", json!(1.5), "confidence"),
        ("/chain", json!([]), "chain is empty"),
    ] {
        let mut value = fixture.json();
        *value.pointer_mut(pointer).unwrap() = bad;
        let detail = only_malformed(&fixture, &value);
        assert!(detail.contains(needle), "{pointer}: {detail}");
    }
}

#[test]
fn duplicate_evidence_ids_are_malformed() {
    let fixture = Fixture::new();
    let mut value = fixture.json();
    let item = value["evidence"][0].clone();
    value["evidence"].as_array_mut().unwrap().push(item);
    assert!(only_malformed(&fixture, &value).contains("more than once"));
}

#[test]
fn hop_claims_of_the_wrong_shape_are_malformed_at_that_hop() {
    let fixture = Fixture::new();
    let mut value = fixture.json();
    let key = &fixture.cast.member("agent:b").key;
    let claims = json!({"iss": "agent:b", "sub": "agent:c", "hop": "two"});
    value["chain"][2] = json!(key.sign_jws("delegation-hop+jwt", &claims).unwrap());
    let report = fixture.verify_json_at(&value, now());
    assert_findings(&report, &[(FindingCode::Malformed, Some(2))]);
}

#[test]
fn garbage_jws_parts_are_malformed_not_panics() {
    let fixture = Fixture::new();
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"delegation-hop+jwt"}"#);
    for token in [
        String::new(),
        "...".into(),
        "a.b".into(),
        format!("{header}.%%%.sig"),
        format!("{header}.{}.AA", URL_SAFE_NO_PAD.encode("null")),
        format!("{}.e30.AA", URL_SAFE_NO_PAD.encode(r#"{"typ":"x"}"#)),
        format!(
            "{}.e30.AA",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","crit":["exp"]}"#)
        ),
    ] {
        let mut value = fixture.json();
        value["chain"][2] = json!(token);
        let report = fixture.verify_json_at(&value, now());
        assert_findings(&report, &[(FindingCode::Malformed, Some(2))]);
    }
}

#[test]
fn a_short_key_in_the_trust_store_is_refused_at_load_not_a_panic() {
    let store = TrustStore {
        parties: [(
            "agent:short".to_owned(),
            Party {
                kind: PartyKind::Agent,
                display_name: "Short".into(),
                keys: vec![Jwk {
                    kty: "OKP".into(),
                    crv: "Ed25519".into(),
                    x: "AAAAAAAAAAA".into(),
                    kid: None,
                }],
            },
        )]
        .into(),
    };
    let err = TrustIndex::from_store(&store).unwrap_err();
    assert_eq!(
        err.to_string(),
        "key 0 of party agent:short is invalid: key x decodes to 8 bytes; an Ed25519 public key has 32"
    );
}

#[test]
fn keys_embedded_in_a_token_header_are_never_used() {
    // The forger puts its own key in the header (jwk and jku); the verifier ignores both.
    let fixture = Fixture::new();
    let forger = &fixture.cast.member("forger").key;
    let mut value = fixture.json();
    let token = value["chain"][2].as_str().unwrap().to_owned();
    let payload = token.split('.').nth(1).unwrap();
    let header = json!({"alg": "EdDSA", "typ": "delegation-hop+jwt", "kid": forger.public().thumbprint(),
                        "jwk": forger.public().to_jwk(), "jku": "http://127.0.0.1:1/jwks"});
    let signing_input = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header.to_string()));
    let signature = URL_SAFE_NO_PAD.encode(forger.sign_raw(signing_input.as_bytes()));
    value["chain"][2] = json!(format!("{signing_input}.{signature}"));
    assert_findings(
        &fixture.verify_json_at(&value, now()),
        &[(FindingCode::UnknownKey, Some(2))],
    );
}
