//! The parts scenarios are built from: scopes, purposes, actions, uncertainty.

use countersign_wire::{
    Action, Alternative, AuthorizationDetail, Impact, Money, Purpose, Tier, Tool, Uncertainty,
};
use serde_json::Value;

pub(super) fn scope(value: Value) -> Vec<AuthorizationDetail> {
    serde_json::from_value(value).expect("demo scopes are valid authorization_details")
}

pub(super) fn purpose(id: &str, text: &str) -> Purpose {
    Purpose {
        id: id.into(),
        text: text.into(),
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn action(
    action_type: &str,
    operation: &str,
    resource: &str,
    arguments: Value,
    requested_by: &str,
    tool: (&str, &str),
    impact: (Tier, bool, Option<(&str, &str)>),
    summary: &str,
) -> Action {
    let Value::Object(arguments) = arguments else {
        panic!("demo arguments are objects")
    };
    Action {
        action_type: action_type.into(),
        operation: operation.into(),
        resource: resource.into(),
        arguments,
        arguments_digest: String::new(),
        requested_by: requested_by.into(),
        tool: Some(Tool {
            name: tool.0.into(),
            server: Some(tool.1.into()),
        }),
        impact: Impact {
            tier: impact.0,
            reversible: impact.1,
            value: impact.2.map(|(amount, currency)| Money {
                amount: amount.into(),
                currency: currency.into(),
            }),
        },
        summary: summary.into(),
    }
}

pub(super) fn uncertainty(
    confidence: f64,
    assumptions: &[&str],
    unknowns: &[&str],
    alternatives: &[(&str, &str)],
) -> Uncertainty {
    Uncertainty {
        confidence,
        method: "self_reported".into(),
        assumptions: assumptions.iter().map(|s| s.to_string()).collect(),
        known_unknowns: unknowns.iter().map(|s| s.to_string()).collect(),
        alternatives: alternatives
            .iter()
            .map(|(summary, why_not)| Alternative {
                summary: summary.to_string(),
                why_not: why_not.to_string(),
            })
            .collect(),
    }
}
