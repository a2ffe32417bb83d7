//! Objects of which deploybot reads only fields that GitHub sends first.
//!
//! A GitHub `repository` object has forty to eighty keys, a user object about twenty;
//! deploybot reads the repository's `id` and `full_name` (GitHub's first and fourth keys) and
//! the user's `login` (the first). Read field by field, every key of such an object is decoded
//! and matched against the fields wanted; here the object is instead skipped as serde_json
//! skips a value nobody reads — which checks it whole: a malformed object is still an error —
//! and then read again from its start only until the fields wanted are in hand. The keys after
//! them are never decoded (docs/performance.md, "Leading fields").
//!
//! The answer does not depend on the order of the keys: a field sent late is found late, at
//! the cost of reading up to it. Keys after the wanted fields are not read, so a wanted key
//! repeated there goes unnoticed (a repeat before the reading stops is an error, as in a
//! derived struct).

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

/// A type read from the leading fields of a JSON object.
pub(super) trait Leading: Sized {
    /// What the object is, for errors ("a repository object").
    const EXPECTING: &'static str;

    /// Reads entries of `map` until it has what it needs (or the map ends).
    fn read<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Self, A::Error>;
}

/// Deserializes `T` from the leading fields of the object `d` holds.
pub(super) fn deserialize<'de, T: Leading, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    let object = <&'de RawValue>::deserialize(d)?;
    read(object.get()).map_err(de::Error::custom)
}

/// Reads `T` from the start of `object`, a JSON value already checked whole.
fn read<T: Leading>(object: &str) -> Result<T, serde_json::Error> {
    struct Slot<'s, T>(&'s mut Option<T>);

    impl<'de, T: Leading> Visitor<'de> for Slot<'_, T> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            *self.0 = Some(T::read(&mut map)?);
            Ok(())
        }
    }

    let mut slot = None;
    let mut de = serde_json::Deserializer::from_str(object);
    let answer = (&mut de).deserialize_map(Slot(&mut slot));
    match slot {
        // The entries left unread make serde_json's end of the map an error: not one here,
        // since the object was checked whole when it was skipped.
        Some(value) => Ok(value),
        None => answer.and_then(|()| Err(de::Error::custom("no object was read"))),
    }
}

/// Takes the value of a wanted key: a second one before the reading stops is an error.
pub(super) fn once<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::duplicate_field(name));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::webhook_payloads::github::RepositoryInfo;
    use crate::webhook_payloads::parse_json;

    /// A leading-fields object inside a derived struct, with a field after it: the reading
    /// goes on after the object.
    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Outer {
        first: Option<RepositoryInfo>,
        rest: u32,
    }

    fn parse(json: &str) -> Result<Outer, String> {
        parse_json::<Outer>("test", json.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn the_leading_fields_are_read_whatever_their_order() {
        let repository = |name: &str, id: Option<u64>| {
            Some(RepositoryInfo {
                full_name: name.into(),
                id,
            })
        };
        let cases = [
            (
                r#"{"first": {"id": 1, "full_name": "a", "x": [1, {"y": 2}]}, "rest": 7}"#,
                repository("a", Some(1)),
            ),
            // Late fields are found late; absent optional ones are absent.
            (
                r#"{"first": {"x": {"full_name": "no"}, "full_name": "b", "id": null}, "rest": 7}"#,
                repository("b", None),
            ),
            (
                r#"{"first": {"full_name": "c"}, "rest": 7}"#,
                repository("c", None),
            ),
            (
                r#"{"first": {"full_name": "\u0064"}, "rest": 7}"#,
                repository("d", None),
            ),
            (
                r#"{"first": {"full_n\u0061me": "e"}, "rest": 7}"#,
                repository("e", None),
            ),
            (r#"{"first": null, "rest": 7}"#, None),
        ];
        for (json, first) in cases {
            assert_eq!(parse(json), Ok(Outer { first, rest: 7 }), "{json}");
        }
    }

    #[test]
    fn a_bad_object_is_an_error_even_past_the_leading_fields() {
        let refused = [
            // Malformed after the fields wanted: the skip checked the whole object.
            r#"{"first": {"full_name": "a", "id": 1, "x": [1,]}, "rest": 7}"#,
            "{\"first\": {\"full_name\": \"a\", \"id\": 1, \"pri\tvate\": true}, \"rest\": 7}",
            "{\"first\": {\"full_name\": \"a\", \"id\": 1, \"x\": \"\u{1}\"}, \"rest\": 7}",
            // A wanted field missing, of the wrong type, or repeated before the reading stops.
            r#"{"first": {"id": 1}, "rest": 7}"#,
            r#"{"first": {"full_name": 5, "id": 1}, "rest": 7}"#,
            r#"{"first": {"full_name": "a", "full_name": "b", "id": 1}, "rest": 7}"#,
            // Not an object.
            r#"{"first": 5, "rest": 7}"#,
            r#"{"first": "x", "rest": 7}"#,
        ];
        for json in refused {
            assert!(parse(json).is_err(), "{json}");
        }
        assert_eq!(
            parse(r#"{"first": {"id": 1}, "rest": 7}"#),
            Err("bad request: test payload: missing field `full_name`".into())
        );
        assert_eq!(
            parse(r#"{"first": [], "rest": 7}"#),
            Err(
                "bad request: test payload: invalid type: sequence, expected a repository object"
                    .into()
            )
        );
    }

    #[test]
    fn invalid_utf8_past_the_leading_fields_is_an_error() {
        let body = b"{\"first\": {\"full_name\": \"a\", \"id\": 1, \"x\": \"\xff\"}, \"rest\": 7}";
        assert!(parse_json::<Outer>("test", body).is_err());
    }
}
