//! JSON that keeps its keys in the order they were written, for payloads edited here and sent
//! as GitHub sends them. serde_json's `Value` sorts an object's keys (its `preserve_order`
//! feature would change `Value` for the whole workspace): a payload edited through it reaches
//! the handlers with `repository.full_name` after `forks_url`, where GitHub sends it fourth.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Number;
use std::fmt;

/// A JSON value whose objects keep their keys' order.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Reads JSON text; `None` when it is not JSON.
    pub fn parse(text: &[u8]) -> Option<Self> {
        serde_json::from_slice(text).ok()
    }

    /// Compact JSON text, keys in their order.
    pub fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A string value.
    pub fn str(text: impl Into<String>) -> Self {
        Self::String(text.into())
    }

    /// The value at `path` (object keys), if there is one.
    pub fn get(&self, path: &[&str]) -> Option<&Json> {
        path.iter().try_fold(self, |value, key| match value {
            Self::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        })
    }

    /// Sets the value at `path` (object keys), in place when the key is there, else at the
    /// end of its object. Nothing changes when a step of the path is not an object.
    pub fn set(&mut self, path: &[&str], value: Json) {
        let Some((last, parents)) = path.split_last() else {
            *self = value;
            return;
        };
        let mut at = self;
        for key in parents {
            let Self::Object(entries) = at else { return };
            let Some(index) = entries.iter().position(|(k, _)| k == key) else {
                return;
            };
            at = &mut entries[index].1;
        }
        if let Self::Object(entries) = at {
            match entries.iter_mut().find(|(k, _)| k == last) {
                Some((_, slot)) => *slot = value,
                None => entries.push(((*last).to_owned(), value)),
            }
        }
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Null => s.serialize_unit(),
            Self::Bool(b) => s.serialize_bool(*b),
            Self::Number(n) => n.serialize(s),
            Self::String(text) => s.serialize_str(text),
            Self::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Object(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Any;

        impl<'de> Visitor<'de> for Any {
            type Value = Json;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }

            fn visit_unit<E>(self) -> Result<Json, E> {
                Ok(Json::Null)
            }

            fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
                Ok(Json::Bool(b))
            }

            fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }

            fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
                Ok(Json::Number(n.into()))
            }

            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Json, E> {
                Number::from_f64(n)
                    .map(Json::Number)
                    .ok_or_else(|| E::custom("not a JSON number"))
            }

            fn visit_str<E>(self, text: &str) -> Result<Json, E> {
                Ok(Json::String(text.to_owned()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Json::Object(entries))
            }
        }

        d.deserialize_any(Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_order_through_a_parse_an_edit_and_the_text() {
        let text = br#"{"id": 1, "b": [true, null, -2, 1.5, "x"], "a": {"z": 1, "y": 2}}"#;
        let mut json = Json::parse(text).expect("JSON");
        json.set(&["a", "z"], Json::str("zz"));
        json.set(&["a", "new"], Json::Null);
        json.set(&["missing", "x"], Json::Null);
        assert_eq!(
            String::from_utf8(json.to_vec()).expect("text"),
            r#"{"id":1,"b":[true,null,-2,1.5,"x"],"a":{"z":"zz","y":2,"new":null}}"#
        );
        assert_eq!(json.get(&["a", "y"]), Some(&Json::Number(2.into())));
        assert_eq!(json.get(&["b", "x"]), None);
        assert_eq!(Json::parse(b"{"), None);
    }
}
