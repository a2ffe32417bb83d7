//! A deserializer adapter that reads struct field names as bytes.
//!
//! A derived struct asks for each key of its JSON object as an *identifier*, which serde_json
//! reads as a string: it decodes the key and checks that it is UTF-8, then the field visitor
//! compares it with the field names. Webhook payloads are mostly keys deploybot does not read
//! (a GitHub `repository` object alone has about ninety), so that check was a large part of the
//! parse above a JSON pass that keeps nothing (docs/performance.md, "Keys read as bytes").
//! Below [`ByteKeys`], an identifier is read with `deserialize_bytes` instead: serde_json hands
//! over the key's bytes (escapes decoded, no UTF-8 check), and serde's derived field visitors
//! match them as bytes (`visit_bytes`). Everything else passes through unchanged; values that
//! are skipped (`IgnoredAny`) go straight to serde_json's own skipping.
//!
//! Meant for serde_json, whose map keys are always strings: another format's keys read as
//! bytes may mean something else.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The name under which serde_json's `RawValue` asks for its text. A raw value read through
/// the wrapped visitor would not be one (the tests of [`super::leading`] say so).
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// A deserializer whose structs below read their field names as bytes.
pub(super) struct ByteKeys<D>(pub(super) D);

/// The deserializer of one map key: identifiers are read as bytes.
struct KeyDeserializer<D>(D);

/// A visitor whose maps, sequences and options below keep [`ByteKeys`].
struct Wrap<V>(V);

/// A seed that deserializes through [`ByteKeys`].
struct Seed<S>(S);

/// A seed that deserializes a key through [`KeyDeserializer`].
struct KeySeed<S>(S);

struct Map<A>(A);

struct Seq<A>(A);

/// Methods whose value may hold maps: the visitor is wrapped.
macro_rules! wrapped {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.0.$method(Wrap(visitor))
        }
    )*};
}

/// Methods of scalars (or, for keys, everything): passed through as they are.
macro_rules! passed {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.0.$method(visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for ByteKeys<D> {
    type Error = D::Error;

    wrapped! { deserialize_any deserialize_option deserialize_seq deserialize_map }

    passed! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_unit
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    /// serde_json's raw value (`RawValue`, which [`super::leading`] reads) is serde_json's
    /// own business: its visitor is not wrapped.
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        if name == RAW_VALUE {
            return self.0.deserialize_newtype_struct(name, visitor);
        }
        self.0.deserialize_newtype_struct(name, Wrap(visitor))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple(len, Wrap(visitor))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_tuple_struct(name, len, Wrap(visitor))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_struct(name, fields, Wrap(visitor))
    }

    /// Enums pass through: their variants' fields are read as serde_json reads them (correct,
    /// only not sped up; no payload deploybot reads has one on its hot path).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for KeyDeserializer<D> {
    type Error = D::Error;

    /// The one change: a field name is read as bytes (refused when it holds a control
    /// character: [`NoControl`]).
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_bytes(NoControl(visitor))
    }

    passed! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32
        deserialize_i64 deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32
        deserialize_u64 deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char
        deserialize_str deserialize_string deserialize_bytes deserialize_byte_buf
        deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// Visitor methods passed on to the wrapped visitor.
macro_rules! visits {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.0.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    visits! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64)
        visit_i128(i128) visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64)
        visit_u128(u128) visit_f32(f32) visit_f64(f64) visit_char(char) visit_str(&str)
        visit_borrowed_str(&'de str) visit_string(String) visit_bytes(&[u8])
        visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_some(ByteKeys(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.0.visit_newtype_struct(ByteKeys(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(Seq(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.0.visit_map(Map(map))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        self.0.visit_enum(data)
    }
}

/// A key's visitor that refuses a key holding a control character. serde_json reads a string
/// as bytes without the checks it makes of text: a raw control character, which JSON does not
/// allow in a string, would pass. Refused here (and with it the escaped form, `\u0001`, which
/// no payload deploybot reads has in a key), such a body stays a 400 as it was before keys
/// were read as bytes.
struct NoControl<V>(V);

impl<'de, V: Visitor<'de>> Visitor<'de> for NoControl<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<V::Value, E> {
        check_key(v)?;
        self.0.visit_borrowed_bytes(v)
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<V::Value, E> {
        check_key(v)?;
        self.0.visit_bytes(v)
    }
}

#[inline]
fn check_key<E: de::Error>(key: &[u8]) -> Result<(), E> {
    if holds_control(key) {
        Err(control_in_key())
    } else {
        Ok(())
    }
}

#[cold]
#[inline(never)]
fn control_in_key<E: de::Error>() -> E {
    E::custom("control character (\\u0000-\\u001F) found in a key")
}

/// Whether `bytes` holds a byte below 0x20, eight bytes at a time (every key of a payload is
/// checked): `x - 0x20…20` borrows into a byte's top bit exactly where that byte is below
/// 0x20 and its own top bit is clear.
#[inline]
fn holds_control(bytes: &[u8]) -> bool {
    const LOW: u64 = u64::from_le_bytes([0x20; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        if x.wrapping_sub(LOW) & !x & HIGH != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(|&b| b < 0x20)
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(ByteKeys(d))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(KeyDeserializer(d))
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(KeySeed(seed))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        self.0.next_element_seed(Seed(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde::de::DeserializeOwned;
    use std::collections::BTreeMap;

    fn through_byte_keys<T: DeserializeOwned>(json: &str) -> Result<T, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(json);
        let value = T::deserialize(ByteKeys(&mut de))?;
        de.end()?;
        Ok(value)
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Outer {
        name: String,
        #[serde(default)]
        inner: Option<Inner>,
        #[serde(default)]
        list: Vec<Inner>,
        #[serde(default)]
        labels: BTreeMap<String, u32>,
        #[serde(rename = "ref", default)]
        git_ref: Option<String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Inner {
        id: u64,
    }

    #[test]
    fn structs_read_as_serde_json_reads_them() {
        let cases = [
            r#"{"name":"a"}"#,
            r#"{"skipped":{"x":[1,{"y":"z"}]},"name":"a","inner":{"id":7,"other":true}}"#,
            r#"{"name":"a","inner":null,"list":[{"id":1},{"id":2,"n":"m"}],"ref":"refs/heads/x"}"#,
            r#"{"name":"a","labels":{"b":1,"é":2}}"#,
            // An escaped key is still the field it names.
            r#"{"\u006eame":"escaped","\u0072ef":"r"}"#,
            r#" {"name":"a"} "#,
        ];
        for json in cases {
            let expected: Outer = serde_json::from_str(json).expect(json);
            let got: Outer = through_byte_keys(json).expect(json);
            assert_eq!(got, expected, "{json}");
        }
    }

    #[test]
    fn control_bytes_are_found_wherever_they_are() {
        for len in 0..20 {
            for at in 0..len {
                for byte in [0x00, 0x09, 0x1f] {
                    let mut key = vec![b'k'; len];
                    key[at] = byte;
                    assert!(holds_control(&key), "{key:?}");
                }
            }
            // Bytes at and above 0x20, UTF-8 ones among them, are not.
            let key: Vec<u8> = (0..len)
                .map(|i| [0x20, 0x7f, 0x80, 0xc3, 0xff][i % 5])
                .collect();
            assert!(!holds_control(&key), "{key:?}");
        }
    }

    #[test]
    fn errors_stay_errors() {
        for json in [
            r#"{"inner":{"id":1}}"#,              // missing field
            r#"{"name":"a","name":"b"}"#,         // duplicate field
            r#"{"name":"a","inner":{"id":"x"}}"#, // wrong type
            r#"{"name":"a"} trailing"#,           // trailing characters
            r#"{"name":"a","skipped":[1,}"#,      // malformed in a skipped value
            r#"{"name":"a\x"}"#,                  // bad escape
            "{\"na\nme\":\"a\",\"name\":\"b\"}",  // a raw control character in a key
            "{\"name\":\"a\",\"x\ty\":1}",        // the same in a skipped key
        ] {
            assert!(
                serde_json::from_str::<Outer>(json).is_err(),
                "serde_json refuses {json}"
            );
            assert!(through_byte_keys::<Outer>(json).is_err(), "{json}");
        }
        // An escaped control character in a key is refused too (serde_json alone ignores the
        // key): no payload has one.
        let escaped = r#"{"name":"a","x\u0001":1}"#;
        assert!(serde_json::from_str::<Outer>(escaped).is_ok());
        assert!(through_byte_keys::<Outer>(escaped).is_err());
        let err = through_byte_keys::<Outer>(r#"{"inner":{"id":1}}"#).expect_err("missing");
        assert!(err.to_string().starts_with("missing field `name`"), "{err}");
    }

    /// A field identifier that only understands bytes: serde_json alone hands it a string
    /// (refused), through [`ByteKeys`] it gets the key's bytes.
    #[derive(Debug, PartialEq)]
    struct BytesOnlyKey(Vec<u8>);

    impl<'de> Deserialize<'de> for BytesOnlyKey {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Bytes;
            impl Visitor<'_> for Bytes {
                type Value = BytesOnlyKey;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a key as bytes")
                }
                fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<BytesOnlyKey, E> {
                    Ok(BytesOnlyKey(v.to_vec()))
                }
            }
            d.deserialize_identifier(Bytes)
        }
    }

    #[derive(Debug, PartialEq)]
    struct Keys(Vec<BytesOnlyKey>);

    impl<'de> Deserialize<'de> for Keys {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visit;
            impl<'de> Visitor<'de> for Visit {
                type Value = Keys;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                    let mut keys = Vec::new();
                    while let Some(key) = map.next_key::<BytesOnlyKey>()? {
                        map.next_value::<de::IgnoredAny>()?;
                        keys.push(key);
                    }
                    Ok(Keys(keys))
                }
            }
            d.deserialize_map(Visit)
        }
    }

    #[test]
    fn field_names_are_read_as_bytes_below_it() {
        let json = r#"{"a":1,"b\u0041":{"c":2}}"#;
        assert!(serde_json::from_str::<Keys>(json).is_err());
        let keys: Keys = through_byte_keys(json).expect("bytes");
        assert_eq!(
            keys,
            Keys(vec![
                BytesOnlyKey(b"a".to_vec()),
                BytesOnlyKey(b"bA".to_vec())
            ])
        );
        // Nested: an option of a map of such keys.
        let nested: Option<Keys> = through_byte_keys(r#"{"x":[]}"#).expect("bytes");
        assert_eq!(nested, Some(Keys(vec![BytesOnlyKey(b"x".to_vec())])));
    }
}
