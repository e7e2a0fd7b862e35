//! Attenuation: each hop may only narrow what its parent granted, and the action must fit
//! the leaf hop's scope (wire contract v1, "Attenuation rule").
//!
//! Limits are compared as decimals, never as text: `"1000"` is more than `"999.99"`.

use std::cmp::Ordering;
use std::str::FromStr;

use countersign_wire::{Action, AuthorizationDetail};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// How a child entry exceeds its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Widening {
    /// A type, action or location the parent never had.
    Ghost(String),
    /// A constraint widened or dropped.
    Limit(String),
}

/// Checks that `child` is covered by some entry of `parents`.
///
/// A parent of the same type whose actions and locations cover the child decides between
/// "covered" and [`Widening::Limit`]; with no such parent the child is a [`Widening::Ghost`].
pub fn check_covered(
    child: &AuthorizationDetail,
    parents: &[AuthorizationDetail],
) -> Result<(), Widening> {
    let same_type: Vec<_> = parents
        .iter()
        .filter(|p| p.detail_type == child.detail_type)
        .collect();
    if same_type.is_empty() {
        return Err(Widening::Ghost(format!(
            "grants type {} which the parent hop never had",
            child.detail_type
        )));
    }
    let mut ghost = None;
    let mut limit = None;
    for parent in same_type {
        let extra_actions: Vec<&str> = child
            .actions
            .iter()
            .filter(|a| !parent.actions.contains(a))
            .map(String::as_str)
            .collect();
        let extra_locations: Vec<String> = match (&parent.locations, &child.locations) {
            (None, _) => Vec::new(),
            (Some(_), None) => vec!["any location".into()],
            (Some(allowed), Some(wanted)) => wanted
                .iter()
                .filter(|l| !allowed.contains(l))
                .cloned()
                .collect(),
        };
        if extra_actions.is_empty() && extra_locations.is_empty() {
            match constraints_within(child.constraints.as_ref(), parent.constraints.as_ref()) {
                Ok(()) => return Ok(()),
                Err(detail) => {
                    limit.get_or_insert(format!("{}: {detail}", child.detail_type));
                }
            }
        } else {
            let mut parts = Vec::new();
            if !extra_actions.is_empty() {
                parts.push(format!("actions [{}]", extra_actions.join(", ")));
            }
            if !extra_locations.is_empty() {
                parts.push(format!("locations [{}]", extra_locations.join(", ")));
            }
            ghost.get_or_insert(format!(
                "{}: adds {} that the parent hop never granted",
                child.detail_type,
                parts.join(" and ")
            ));
        }
    }
    match (limit, ghost) {
        (Some(detail), _) => Err(Widening::Limit(detail)),
        (None, Some(detail)) => Err(Widening::Ghost(detail)),
        (None, None) => unreachable!("same_type is non-empty, so one branch recorded a detail"),
    }
}

/// Checks every parent constraint is kept or narrowed by the child; the child may add more.
fn constraints_within(
    child: Option<&Map<String, Value>>,
    parent: Option<&Map<String, Value>>,
) -> Result<(), String> {
    let Some(parent) = parent else { return Ok(()) };
    let empty = Map::new();
    let child = child.unwrap_or(&empty);
    for (key, limit) in parent {
        let Some(value) = child.get(key) else {
            return Err(format!("drops constraint {key} (parent: {limit})"));
        };
        if key.starts_with("max_") {
            if compare_decimal(key, value, limit)? == Ordering::Greater {
                return Err(format!("raises {key} from {limit} to {value}"));
            }
        } else if key.starts_with("min_") {
            if compare_decimal(key, value, limit)? == Ordering::Less {
                return Err(format!("lowers {key} from {limit} to {value}"));
            }
        } else if let Value::Array(allowed) = limit {
            let Value::Array(wanted) = value else {
                return Err(format!("replaces the set {key} {limit} with {value}"));
            };
            let extra: Vec<String> = wanted
                .iter()
                .filter(|v| !allowed.contains(v))
                .map(Value::to_string)
                .collect();
            if !extra.is_empty() {
                return Err(format!(
                    "widens {key}: adds {} beyond {limit}",
                    extra.join(", ")
                ));
            }
        } else if value != limit {
            return Err(format!("changes {key} from {limit} to {value}"));
        }
    }
    Ok(())
}

/// Checks the action fits one entry of the leaf scope: type, operation, resource, and every
/// constraint holding on the arguments.
pub fn check_action_in_scope(action: &Action, leaf: &[AuthorizationDetail]) -> Result<(), String> {
    let same_type: Vec<_> = leaf
        .iter()
        .filter(|e| e.detail_type == action.action_type)
        .collect();
    if same_type.is_empty() {
        return Err(format!(
            "the leaf hop grants no {} authority",
            action.action_type
        ));
    }
    let mut reasons = Vec::new();
    for entry in same_type {
        let reason = if !entry.actions.contains(&action.operation) {
            Some(format!(
                "operation {} is not among the granted actions [{}]",
                action.operation,
                entry.actions.join(", ")
            ))
        } else if entry
            .locations
            .as_ref()
            .is_some_and(|l| !l.contains(&action.resource))
        {
            Some(format!(
                "resource {} is not among the granted locations [{}]",
                action.resource,
                entry.locations.as_deref().unwrap_or_default().join(", ")
            ))
        } else {
            constraints_hold(entry.constraints.as_ref(), &action.arguments).err()
        };
        match reason {
            None => return Ok(()),
            Some(reason) => reasons.push(reason),
        }
    }
    Err(format!("{}: {}", action.action_type, reasons.join("; ")))
}

fn constraints_hold(
    constraints: Option<&Map<String, Value>>,
    arguments: &Map<String, Value>,
) -> Result<(), String> {
    let Some(constraints) = constraints else {
        return Ok(());
    };
    for (key, limit) in constraints {
        let (argument_name, bound) = if let Some(name) = key.strip_prefix("max_") {
            (name, Some(Ordering::Greater))
        } else if let Some(name) = key.strip_prefix("min_") {
            (name, Some(Ordering::Less))
        } else {
            (key.as_str(), None)
        };
        let Some(argument) = arguments.get(argument_name) else {
            return Err(format!(
                "argument {argument_name} bounded by {key} is missing"
            ));
        };
        match bound {
            Some(forbidden) => {
                if compare_decimal(argument_name, argument, limit)? == forbidden {
                    return Err(format!(
                        "{argument_name} {argument} is outside {key} {limit}"
                    ));
                }
            }
            None => {
                let within = match (limit, argument) {
                    (Value::Array(allowed), Value::Array(wanted)) => {
                        wanted.iter().all(|v| allowed.contains(v))
                    }
                    (Value::Array(allowed), scalar) => allowed.contains(scalar),
                    (exact, value) => exact == value,
                };
                if !within {
                    return Err(format!(
                        "{argument_name} {argument} is not within {key} {limit}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Grants of the leaf that the action does not need (the `SCOPE_OVER_PROVISIONED` warning).
pub fn unneeded_grants(action: &Action, leaf: &[AuthorizationDetail]) -> Vec<String> {
    let mut unneeded = Vec::new();
    for entry in leaf {
        if entry.detail_type != action.action_type {
            unneeded.push(format!(
                "{} [{}]",
                entry.detail_type,
                entry.actions.join(", ")
            ));
        } else {
            let extra: Vec<&str> = entry
                .actions
                .iter()
                .filter(|a| **a != action.operation)
                .map(String::as_str)
                .collect();
            if !extra.is_empty() {
                unneeded.push(format!("{} [{}]", entry.detail_type, extra.join(", ")));
            }
        }
    }
    unneeded
}

/// Compares two limit values as decimals; either may be a JSON string or number.
fn compare_decimal(name: &str, value: &Value, limit: &Value) -> Result<Ordering, String> {
    let value = decimal(value).ok_or_else(|| format!("{name} value {value} is not a decimal"))?;
    let limit = decimal(limit).ok_or_else(|| format!("{name} limit {limit} is not a decimal"))?;
    Ok(value.cmp(&limit))
}

fn decimal(value: &Value) -> Option<Decimal> {
    match value {
        Value::String(text) => Decimal::from_str(text.trim()).ok(),
        Value::Number(number) => {
            let text = number.to_string();
            Decimal::from_str(&text)
                .ok()
                .or_else(|| Decimal::from_scientific(&text).ok())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn detail(value: Value) -> AuthorizationDetail {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn limits_compare_as_decimals_not_text() {
        let parent = detail(
            json!({"type": "pay", "actions": ["send"], "constraints": {"max_amount": "999.99"}}),
        );
        let child = detail(
            json!({"type": "pay", "actions": ["send"], "constraints": {"max_amount": "1000"}}),
        );
        // As text "1000" < "999.99"; as decimals it is larger.
        assert!(matches!(
            check_covered(&child, std::slice::from_ref(&parent)),
            Err(Widening::Limit(_))
        ));
        let narrower =
            detail(json!({"type": "pay", "actions": ["send"], "constraints": {"max_amount": 50}}));
        assert_eq!(check_covered(&narrower, &[parent]), Ok(()));
    }

    #[test]
    fn min_constraints_may_only_rise() {
        let parent =
            detail(json!({"type": "t", "actions": ["a"], "constraints": {"min_approvals": "2"}}));
        let lower =
            detail(json!({"type": "t", "actions": ["a"], "constraints": {"min_approvals": "1"}}));
        let higher =
            detail(json!({"type": "t", "actions": ["a"], "constraints": {"min_approvals": "3"}}));
        assert!(matches!(
            check_covered(&lower, std::slice::from_ref(&parent)),
            Err(Widening::Limit(_))
        ));
        assert_eq!(check_covered(&higher, &[parent]), Ok(()));
    }

    #[test]
    fn a_parent_without_locations_allows_any_but_not_the_reverse() {
        let any = detail(json!({"type": "t", "actions": ["a"]}));
        let one = detail(json!({"type": "t", "actions": ["a"], "locations": ["x"]}));
        assert_eq!(check_covered(&one, std::slice::from_ref(&any)), Ok(()));
        assert!(matches!(
            check_covered(&any, &[one]),
            Err(Widening::Ghost(_))
        ));
    }

    #[test]
    fn a_child_entry_may_be_covered_by_any_parent_entry_of_its_type() {
        let parents = [
            detail(json!({"type": "t", "actions": ["read"]})),
            detail(json!({"type": "t", "actions": ["write"], "locations": ["x"]})),
        ];
        let child = detail(json!({"type": "t", "actions": ["write"], "locations": ["x"]}));
        assert_eq!(check_covered(&child, &parents), Ok(()));
    }

    #[test]
    fn other_constraints_must_be_equal_and_arrays_subsets() {
        let parent = detail(
            json!({"type": "t", "actions": ["a"], "constraints": {"currency": "EUR", "to": ["x", "y"]}}),
        );
        let same = detail(
            json!({"type": "t", "actions": ["a"], "constraints": {"currency": "EUR", "to": ["y"], "extra": 1}}),
        );
        let changed = detail(
            json!({"type": "t", "actions": ["a"], "constraints": {"currency": "USD", "to": ["y"]}}),
        );
        let wider = detail(
            json!({"type": "t", "actions": ["a"], "constraints": {"currency": "EUR", "to": ["y", "z"]}}),
        );
        let dropped = detail(json!({"type": "t", "actions": ["a"], "constraints": {"to": ["y"]}}));
        assert_eq!(check_covered(&same, std::slice::from_ref(&parent)), Ok(()));
        for child in [changed, wider, dropped] {
            assert!(
                matches!(
                    check_covered(&child, std::slice::from_ref(&parent)),
                    Err(Widening::Limit(_))
                ),
                "{child:?}"
            );
        }
    }

    fn action(arguments: Value) -> Action {
        serde_json::from_value(json!({
            "type": "pay", "operation": "send", "resource": "acct:ops", "arguments": arguments,
            "arguments_digest": "", "requested_by": "a",
            "impact": {"tier": "high", "reversible": false}, "summary": ""
        }))
        .unwrap()
    }

    #[test]
    fn action_constraints_bind_arguments() {
        let leaf = [detail(
            json!({"type": "pay", "actions": ["send"], "locations": ["acct:ops"],
            "constraints": {"max_amount": "100.00", "currency": "EUR", "payees": ["p1", "p2"]}}),
        )];
        assert_eq!(
            check_action_in_scope(
                &action(json!({"amount": "99.5", "currency": "EUR", "payees": "p1"})),
                &leaf
            ),
            Ok(())
        );
        assert_eq!(
            check_action_in_scope(
                &action(json!({"amount": "1", "currency": "EUR", "payees": ["p1", "p2"]})),
                &leaf
            ),
            Ok(())
        );
        for bad in [
            json!({"amount": "100.01", "currency": "EUR", "payees": "p1"}),
            json!({"amount": "5", "currency": "USD", "payees": "p1"}),
            json!({"amount": "5", "currency": "EUR", "payees": "p3"}),
            json!({"currency": "EUR", "payees": "p1"}),
            json!({"amount": "lots", "currency": "EUR", "payees": "p1"}),
        ] {
            assert!(
                check_action_in_scope(&action(bad.clone()), &leaf).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unneeded_grants_lists_other_types_and_extra_actions() {
        let leaf = [
            detail(json!({"type": "pay", "actions": ["send", "refund"]})),
            detail(json!({"type": "accounts.read", "actions": ["list"]})),
        ];
        assert_eq!(
            unneeded_grants(&action(json!({})), &leaf),
            ["pay [refund]", "accounts.read [list]"]
        );
    }
}
