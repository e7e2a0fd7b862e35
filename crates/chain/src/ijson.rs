//! I-JSON (RFC 7493): a text that is signed, digested or shown must mean one thing to every
//! parser. `serde_json` keeps the last of two members with the same name, other parsers keep
//! the first, so a request with `amount` twice would show the reviewer one value and run with
//! another. Such a text is refused, naming the JSON Pointer (RFC 6901) of the second member.
//!
//! Invalid UTF-8, lone surrogates and trailing text are already refused by `serde_json`.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Why a text is not I-JSON.
#[derive(Debug, thiserror::Error)]
pub enum IJsonError {
    /// Not JSON at all.
    #[error("{0}")]
    Syntax(serde_json::Error),
    /// An object names a member twice; the pointer is the second one's.
    #[error("duplicate member name at {0} (I-JSON, RFC 7493, allows each name once per object)")]
    DuplicateMember(String),
}

/// Checks that `bytes` are one JSON text whose objects name each member once.
pub fn check(bytes: &[u8]) -> Result<(), IJsonError> {
    let duplicate = RefCell::new(None);
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let walked = Walk {
        at: &Step::Root,
        duplicate: &duplicate,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end());
    match (walked, duplicate.into_inner()) {
        (_, Some(pointer)) => Err(IJsonError::DuplicateMember(pointer)),
        (Err(e), None) => Err(IJsonError::Syntax(e)),
        (Ok(()), None) => Ok(()),
    }
}

/// Parses an I-JSON text as a [`Value`].
pub fn parse(bytes: &[u8]) -> Result<Value, IJsonError> {
    from_slice(bytes)
}

/// Parses an I-JSON text as `T`.
pub fn from_slice<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, IJsonError> {
    check(bytes)?;
    serde_json::from_slice(bytes).map_err(IJsonError::Syntax)
}

/// Where the walk is, as a chain back to the root; rendered only for a duplicate.
enum Step<'a> {
    Root,
    Member(&'a Step<'a>, &'a str),
    Index(&'a Step<'a>, usize),
}

impl Step<'_> {
    fn pointer(&self) -> String {
        match self {
            Step::Root => String::new(),
            Step::Member(parent, name) => {
                format!(
                    "{}/{}",
                    parent.pointer(),
                    name.replace('~', "~0").replace('/', "~1")
                )
            }
            Step::Index(parent, index) => format!("{}/{index}", parent.pointer()),
        }
    }
}

/// Visits one value and everything inside it, keeping nothing but the names of the members
/// of the object being read.
struct Walk<'a> {
    at: &'a Step<'a>,
    duplicate: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_i128<E>(self, _: i128) -> Result<(), E> {
        Ok(())
    }
    fn visit_u128<E>(self, _: u128) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        loop {
            let at = Step::Index(self.at, index);
            let item = Walk {
                at: &at,
                duplicate: self.duplicate,
            };
            if seq.next_element_seed(item)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut names = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            let at = Step::Member(self.at, &name);
            if names.contains(&name) {
                *self.duplicate.borrow_mut() = Some(at.pointer());
                return Err(de::Error::custom("duplicate member name"));
            }
            map.next_value_seed(Walk {
                at: &at,
                duplicate: self.duplicate,
            })?;
            names.insert(name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duplicate_at(text: &str) -> Option<String> {
        match check(text.as_bytes()) {
            Err(IJsonError::DuplicateMember(pointer)) => Some(pointer),
            _ => None,
        }
    }

    #[test]
    fn a_name_used_twice_in_one_object_is_refused_with_its_pointer() {
        let text = r#"{"action":{"arguments":{"amount":"10","amount":"10000"}}}"#;
        assert_eq!(
            duplicate_at(text).as_deref(),
            Some("/action/arguments/amount")
        );
        assert_eq!(
            duplicate_at(r#"{"a":[{"x":1},{"x":1,"x":2}]}"#).as_deref(),
            Some("/a/1/x")
        );
        assert_eq!(
            duplicate_at(r#"{"a/b":{"~":1,"~":2}}"#).as_deref(),
            Some("/a~1b/~0")
        );
        // The same name after an escape is the same name.
        assert_eq!(duplicate_at(r#"{"a":1,"\u0061":2}"#).as_deref(), Some("/a"));
    }

    #[test]
    fn one_name_in_different_objects_is_fine() {
        check(br#"{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}],"x":[1,1]}"#).unwrap();
        assert_eq!(parse(br#"{"n":1.5}"#).unwrap()["n"], 1.5);
    }

    #[test]
    fn what_is_not_json_is_a_syntax_error() {
        for text in ["{", "{} {}", "[1,]", r#"{"a":"\ud800"}"#, "\u{feff}{}"] {
            assert!(
                matches!(check(text.as_bytes()), Err(IJsonError::Syntax(_))),
                "{text:?}"
            );
        }
        assert!(matches!(
            check(&[b'"', 0xff, b'"']),
            Err(IJsonError::Syntax(_))
        ));
    }
}
