//! Anchored globs for branch and tag names, as `globset` reads them with
//! `literal_separator(true)` and `backslash_escape(true)` (a test compares the two on
//! generated patterns and names), without the regular-expression engine globset compiles to
//! (ADR 0012). Alternatives (`{a,b}`) are refused: a list of patterns says the same.
//!
//! - `*` matches any run of characters but `/`; `?` one character but `/`;
//! - `[abc]`, `[a-z]`, `[!a-z]` (or `[^a-z]`) one character of the class, never `/`; a `]`
//!   first in the class and a `-` first or last are literal;
//! - `**` as a whole segment crosses `/`: `**` alone matches everything, `**/x` matches `x`
//!   and `a/b/x`, `x/**` everything below `x/`, `a/**/b` both `a/b` and `a/x/y/b`; elsewhere
//!   `**` is `*`;
//! - `\` makes the next character literal.

use std::fmt;

/// Longest pattern taken: branch names are short, and the matcher's work grows with it.
const MAX_PATTERN_CHARS: usize = 255;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    /// `?`
    One,
    /// `*`
    Star,
    /// `[...]`
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    /// `**` alone, or the `**` of a trailing `/**`: anything.
    Anything,
    /// A leading `**/`: nothing, or anything ending with `/`.
    LeadingDirs,
    /// An inner `/**/`: `/`, or `/` + anything + `/`.
    InnerDirs,
}

/// A compiled glob.
#[derive(Debug, Clone)]
pub struct Glob {
    tokens: Vec<Token>,
}

/// Why a pattern is not a glob; `Display` is the end of a sentence about the pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobError {
    Empty,
    TooLong,
    UnclosedClass,
    EmptyClass,
    InvalidRange(char, char),
    DanglingEscape,
    Alternatives,
    TrailingSlash,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("a pattern cannot be empty"),
            Self::TooLong => write!(f, "a pattern may be at most {MAX_PATTERN_CHARS} characters"),
            Self::UnclosedClass => f.write_str("a `[` opens a class that no `]` closes"),
            Self::EmptyClass => f.write_str("a class `[...]` holds no character"),
            Self::InvalidRange(a, b) => write!(f, "the range `{a}-{b}` goes backwards"),
            Self::DanglingEscape => f.write_str("it ends with a `\\` that escapes nothing"),
            Self::TrailingSlash => {
                f.write_str("it ends with `/`, and no branch or tag name does")
            }
            Self::Alternatives => f.write_str(
                "alternatives `{a,b}` are not supported: list each pattern on its own (write `\\{` or `[{]` for a literal brace)",
            ),
        }
    }
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Self, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        let chars: Vec<char> = pattern.chars().collect();
        if chars.len() > MAX_PATTERN_CHARS {
            return Err(GlobError::TooLong);
        }
        if pattern.ends_with('/') {
            return Err(GlobError::TrailingSlash);
        }
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '\\' => {
                    let c = *chars.get(i + 1).ok_or(GlobError::DanglingEscape)?;
                    tokens.push(Token::Literal(c));
                    i += 2;
                }
                '?' => {
                    tokens.push(Token::One);
                    i += 1;
                }
                '{' | '}' => return Err(GlobError::Alternatives),
                '[' => {
                    let (token, next) = class(&chars, i + 1)?;
                    tokens.push(token);
                    i = next;
                }
                '*' => {
                    let run = chars[i..].iter().take_while(|c| **c == '*').count();
                    let after = chars.get(i + run).copied();
                    let last = tokens.last();
                    let segment_start = i == 0
                        || matches!(
                            last,
                            Some(Token::Literal('/') | Token::LeadingDirs | Token::InnerDirs)
                        );
                    let segment_end = after.is_none() || after == Some('/');
                    if run == 2 && segment_start && segment_end {
                        // A `**` segment right after another folds into it, as in globset:
                        // `**/**` is `**`, `a/**/**/b` is `a/**/b`, `a/**/**` is `a/**`.
                        let folds = matches!(last, Some(Token::LeadingDirs | Token::InnerDirs));
                        match (last, after.is_none()) {
                            (Some(Token::LeadingDirs), true) => {
                                tokens.pop();
                                tokens.push(Token::Anything);
                            }
                            (Some(Token::InnerDirs), true) => {
                                tokens.pop();
                                tokens.push(Token::Literal('/'));
                                tokens.push(Token::Anything);
                            }
                            (_, false) if folds => i += 1, // the `/` after
                            _ => {}
                        }
                        if folds {
                            i += run;
                            continue;
                        }
                        match (i == 0, after.is_none()) {
                            (true, true) => tokens.push(Token::Anything),
                            (true, false) => {
                                tokens.push(Token::LeadingDirs);
                                i += 1; // the `/`
                            }
                            (false, true) => tokens.push(Token::Anything),
                            (false, false) => {
                                tokens.pop(); // the `/` before
                                tokens.push(Token::InnerDirs);
                                i += 1; // the `/` after
                            }
                        }
                    } else if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                    i += run;
                }
                c => {
                    tokens.push(Token::Literal(c));
                    i += 1;
                }
            }
        }
        Ok(Self { tokens })
    }

    /// Whether the whole of `name` matches.
    pub fn is_match(&self, name: &str) -> bool {
        let s: Vec<char> = name.chars().collect();
        let n = s.len();
        // reach[k]: the tokens so far can match s[..k].
        let mut reach = vec![false; n + 1];
        reach[0] = true;
        for token in &self.tokens {
            let mut next = vec![false; n + 1];
            match token {
                Token::Literal(_) | Token::One | Token::Class { .. } => {
                    for k in 0..n {
                        if reach[k] && one_char(token, s[k]) {
                            next[k + 1] = true;
                        }
                    }
                }
                Token::Star => {
                    let mut on = false;
                    for k in 0..=n {
                        on |= reach[k];
                        next[k] = on;
                        if k < n && s[k] == '/' {
                            on = false;
                        }
                    }
                }
                Token::Anything => {
                    let mut on = false;
                    for k in 0..=n {
                        on |= reach[k];
                        next[k] = on;
                    }
                }
                Token::LeadingDirs => {
                    let mut on = false;
                    for k in 0..=n {
                        if on && k > 0 && s[k - 1] == '/' {
                            next[k] = true;
                        }
                        if reach[k] {
                            next[k] = true;
                            on = true;
                        }
                    }
                }
                Token::InnerDirs => {
                    let mut on = false;
                    for k in 0..n {
                        if reach[k] && s[k] == '/' {
                            next[k + 1] = true;
                            on = true;
                        } else if on && s[k] == '/' {
                            next[k + 1] = true;
                        }
                    }
                }
            }
            reach = next;
            if !reach.contains(&true) {
                return false;
            }
        }
        reach[n]
    }
}

fn one_char(token: &Token, c: char) -> bool {
    match token {
        Token::Literal(l) => *l == c,
        Token::One => c != '/',
        Token::Class { negated, ranges } => {
            c != '/' && ranges.iter().any(|(a, b)| (*a..=*b).contains(&c)) != *negated
        }
        _ => false,
    }
}

/// Reads a class whose `[` is just before `start`; returns it and the index after its `]`.
fn class(chars: &[char], start: usize) -> Result<(Token, usize), GlobError> {
    let mut i = start;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let first = i;
    loop {
        let c = *chars.get(i).ok_or(GlobError::UnclosedClass)?;
        if c == ']' && i > first {
            break;
        }
        let is_range =
            chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|e| *e != ']');
        if is_range {
            let end = chars[i + 2];
            if end < c {
                return Err(GlobError::InvalidRange(c, end));
            }
            let mut end = end;
            i += 3;
            // As globset: a range that goes on (`[a-b-c]`) ends at its last character
            // (`[a-c]`); a `-` just before `]` is a literal `-`.
            while chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|n| *n != ']') {
                end = chars[i + 1];
                if end < c {
                    return Err(GlobError::InvalidRange(c, end));
                }
                i += 2;
            }
            ranges.push((c, end));
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
    if ranges.is_empty() {
        return Err(GlobError::EmptyClass);
    }
    Ok((Token::Class { negated, ranges }, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn oracle(pattern: &str) -> Option<globset::GlobMatcher> {
        globset::GlobBuilder::new(pattern)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .ok()
            .map(|g| g.compile_matcher())
    }

    #[test]
    fn table() {
        for (pattern, name, want) in [
            ("release*", "release-1", true),
            ("release*", "release", true),
            ("release*", "release/1", false),
            ("release**", "release/1", false),
            ("release/**", "release/1/2", true),
            ("release/**", "release", false),
            ("**/b", "b", true),
            ("**/b", "x/y/b", true),
            ("a/**/b", "a/b", true),
            ("a/**/b", "a/x/y/b", true),
            ("a/**/b", "ab", false),
            ("**", "a/b", true),
            ("a?b", "a/b", false),
            ("a[!x]b", "a/b", false),
            ("[]]", "]", true),
            ("[a-]", "-", true),
            // A range that goes on ends at its last character, as in globset.
            ("[a-b-d]", "c", true),
            ("[a-b-d]", "-", false),
            ("[^a]", "b", true),
            ("a\\*", "a*", true),
            ("a\\*", "ab", false),
            ("a]", "a]", true),
            // A `**` segment after another folds into it.
            ("**/**/**", "", true),
            ("**/**", "a/b", true),
            ("**/**/b", "b", true),
            ("**/**/b", "a/b", true),
            ("**/**/b", "ab", false),
            ("a/**/**/b", "a/b", true),
            ("a/**/**/b", "a/x/y/b", true),
            ("a/**/**", "a/x", true),
            ("a/**/**", "a", false),
        ] {
            let glob = Glob::new(pattern).expect("valid");
            assert_eq!(glob.is_match(name), want, "{pattern} {name}");
        }
        for (pattern, err) in [
            ("", GlobError::Empty),
            ("[", GlobError::UnclosedClass),
            ("[z-a]", GlobError::InvalidRange('z', 'a')),
            ("[]?-[--]", GlobError::InvalidRange('?', '-')),
            ("a\\", GlobError::DanglingEscape),
            ("{a,b}", GlobError::Alternatives),
            ("release/", GlobError::TrailingSlash),
            ("**/", GlobError::TrailingSlash),
        ] {
            assert_eq!(Glob::new(pattern).err(), Some(err), "{pattern}");
        }
        assert_eq!(Glob::new(&"a".repeat(256)).err(), Some(GlobError::TooLong));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Same answers as globset, the reference this matcher follows.
        #[test]
        fn agrees_with_globset(
            pattern in "([ab/.*?-]|\\*\\*|\\[[!^]?\\]?[ab/-]{0,3}\\]|\\\\[*ab/]){1,8}",
            name in "[ab/.*-]{0,8}",
        ) {
            let ours = Glob::new(&pattern);
            if matches!(ours, Err(GlobError::TrailingSlash)) {
                return Ok(()); // refused here on purpose; globset takes `**/` as anything
            }
            match oracle(&pattern) {
                Some(theirs) => {
                    let ours = ours.map_err(|e| TestCaseError::fail(format!("{pattern}: {e}")))?;
                    prop_assert_eq!(ours.is_match(&name), theirs.is_match(&name), "{} {}", pattern, name);
                }
                None => prop_assert!(ours.is_err(), "{} is refused by globset", pattern),
            }
        }

        #[test]
        fn any_pattern_and_name_are_answered(pattern in ".{0,40}", name in ".{0,40}") {
            if let Ok(glob) = Glob::new(&pattern) {
                let _ = glob.is_match(&name);
            }
        }
    }
}
