//! Typed webhook payloads: only the fields deploybot reads, so that a missing field a handler
//! needs is a 400 naming the field and everything else GitHub or CircleCI sends is ignored.

mod byte_keys;
pub mod circleci;
pub mod github;
mod leading;

use crate::AppError;
use serde::de::DeserializeOwned;

/// Parses a JSON body into `T`; a failure is a 400 with serde's reason (which names the
/// field), without the line/column noise. Field names are matched as bytes ([`byte_keys`]):
/// the same result as `serde_json::from_slice`, without checking every key as UTF-8 — save
/// that a key read field by field and holding a control character, even escaped, is refused
/// (a raw one is refused anywhere, as serde_json refuses it; the keys an object read as far as
/// its leading fields skips are checked as serde_json checks what it skips: [`leading`]).
pub fn parse_json<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    T::deserialize(byte_keys::ByteKeys(&mut de))
        .and_then(|value| de.end().map(|()| value))
        .map_err(|e| {
            let reason = e.to_string();
            let short = reason
                .split(" at line ")
                .next()
                .unwrap_or(reason.as_str())
                .to_owned();
            AppError::bad_request(format!("{what} payload: {short}"))
        })
}

/// Treats `""` like an absent value (GitHub sends empty strings for unset URLs).
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Needs {
        #[allow(dead_code)]
        sha: String,
    }

    #[test]
    fn a_missing_field_is_a_short_bad_request_naming_it() {
        let err =
            parse_json::<Needs>("status", br#"{"state":"success"}"#).expect_err("sha is missing");
        assert_eq!(
            err.to_string(),
            "bad request: status payload: missing field `sha`"
        );
        let err = parse_json::<Needs>("status", b"not json").expect_err("not JSON");
        assert!(
            err.to_string()
                .starts_with("bad request: status payload: expected"),
            "{err}"
        );
    }

    #[test]
    fn empty_strings_are_absent() {
        assert_eq!(non_empty(Some(String::new())), None);
        assert_eq!(
            non_empty(Some("https://x".into())).as_deref(),
            Some("https://x")
        );
        assert_eq!(non_empty(None), None);
    }
}
