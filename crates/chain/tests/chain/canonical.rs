//! Our RFC 8785 writer agrees byte for byte with the `serde_jcs` reference on arbitrary JSON
//! in the safe number range (Python's `rfc8785` is checked separately in `interop`).

use countersign_chain::digest::canonical_json;
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

fn json_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        (-9_007_199_254_740_991_i64..=9_007_199_254_740_991).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite()
                && (f.fract() != 0.0 || f.abs() < 9.0e15))
            .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number,
        "\\PC{0,12}|[\\x00-\\x1f\"\\\\\u{7f}\u{2028}\u{e000}\u{1f600}]{0,6}"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z\u{e9}\u{e000}\u{1f600}]{0,4}", inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn canonical_json_matches_the_serde_jcs_reference(value in json_value()) {
        let ours = canonical_json(&value).unwrap();
        let reference = serde_jcs::to_vec(&value).unwrap();
        prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&reference));
    }
}
