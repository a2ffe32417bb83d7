//! Environment URLs and the values handed to the CI pipeline (docs/workflow.md,
//! "Environment URLs" and "The CircleCI pipeline").

use crate::{Environment, GitRef, ParseError, ProjectSettings, Sha};

pub const DEFAULT_URL_PATTERN: &str = "https://{environment}{urlseparator}{basedomain}/";
pub const DEFAULT_URL_SEPARATOR: &str = ".";
const PLACEHOLDERS: [&str; 3] = ["{environment}", "{urlseparator}", "{basedomain}"];

/// The URL an environment is reached at: a fixed `url` setting wins (`https://<fqdn>`);
/// otherwise, with a base domain set, the pattern filled in; otherwise none.
pub fn environment_url(settings: &ProjectSettings, environment: &Environment) -> Option<String> {
    if let Some(fqdn) = settings.urls.get(environment) {
        return Some(format!("https://{fqdn}"));
    }
    let base = settings.base_domain.as_deref()?;
    let pattern = settings
        .url_pattern
        .as_deref()
        .unwrap_or(DEFAULT_URL_PATTERN);
    let separator = settings
        .url_separator
        .as_deref()
        .unwrap_or(DEFAULT_URL_SEPARATOR);
    Some(
        pattern
            .replace("{environment}", &environment.slug())
            .replace("{urlseparator}", separator)
            .replace("{basedomain}", base),
    )
}

/// Checks a `urlpattern` setting: it must hold all three placeholders and be an http(s) URL.
pub fn validate_url_pattern(pattern: &str) -> Result<(), ParseError> {
    let missing: Vec<&str> = PLACEHOLDERS
        .iter()
        .copied()
        .filter(|p| !pattern.contains(p))
        .collect();
    if !missing.is_empty() {
        return Err(ParseError(format!(
            "the URL pattern must contain {}; for example `{DEFAULT_URL_PATTERN}`",
            missing.join(", ")
        )));
    }
    if !(pattern.starts_with("https://") || pattern.starts_with("http://")) {
        return Err(ParseError(format!(
            "the URL pattern must start with `https://`; for example `{DEFAULT_URL_PATTERN}`"
        )));
    }
    if pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ParseError("the URL pattern may not contain spaces".into()));
    }
    Ok(())
}

/// Checks a host name given to `set basedomain` or `set url` (letters, digits, `-`, `.`,
/// labels of 1–63 characters, at most 253 in all). A leading `https://` and a trailing `/`
/// are tolerated and removed.
pub fn parse_host(input: &str) -> Result<String, ParseError> {
    let text = input.trim();
    let text = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .unwrap_or(text);
    let text = text.trim_end_matches('/').to_ascii_lowercase();
    let ok = !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok {
        Ok(text)
    } else {
        Err(ParseError(format!(
            "`{}` is not a host name; write it like `example.com` or `app.example.com`",
            crate::ids::clip(input.trim())
        )))
    }
}

/// Checks a `urlseparator`: one to three characters that can appear in a host name.
pub fn validate_url_separator(sep: &str) -> Result<(), ParseError> {
    if (1..=3).contains(&sep.len()) && sep.bytes().all(|b| b == b'.' || b == b'-') {
        Ok(())
    } else {
        Err(ParseError(
            "the URL separator must be `.` or `-` (or a short run of them, like `--`)".into(),
        ))
    }
}

/// The pipeline's `version`: the tag on a production environment, else
/// `<environment>-<first 10 of SHA>`.
pub fn pipeline_version(
    environment: &Environment,
    production: bool,
    git_ref: &GitRef,
    sha: &Sha,
) -> String {
    match git_ref {
        GitRef::Tag(tag) | GitRef::Name(tag) if production => tag.clone(),
        _ => format!("{}-{}", environment.slug(), sha.prefix(10)),
    }
}

/// The pipeline's `subdomain`: the environment name, except on a production environment
/// (none).
pub fn pipeline_subdomain(environment: &Environment, production: bool) -> Option<String> {
    (!production).then(|| environment.slug().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(base: Option<&str>, pattern: Option<&str>, sep: Option<&str>) -> ProjectSettings {
        ProjectSettings {
            base_domain: base.map(String::from),
            url_pattern: pattern.map(String::from),
            url_separator: sep.map(String::from),
            urls: Default::default(),
        }
    }

    #[test]
    fn url_rules() {
        let mut fixed = settings(Some("example.com"), None, None);
        fixed
            .urls
            .insert(Environment::Production, "www.example.com".into());
        let cases: Vec<(ProjectSettings, Environment, Option<&str>)> = vec![
            (settings(None, None, None), Environment::Test, None),
            (
                settings(Some("example.com"), None, None),
                Environment::Test,
                Some("https://test.example.com/"),
            ),
            (
                settings(Some("example.com"), None, None),
                Environment::PullRequest(12),
                Some("https://pr12.example.com/"),
            ),
            (
                settings(Some("example.com"), None, Some("-")),
                Environment::Staging,
                Some("https://staging-example.com/"),
            ),
            (
                settings(
                    Some("example.com"),
                    Some("https://app{urlseparator}{environment}{urlseparator}{basedomain}/x"),
                    None,
                ),
                Environment::Preview,
                Some("https://app.preview.example.com/x"),
            ),
            (
                fixed.clone(),
                Environment::Production,
                Some("https://www.example.com"),
            ),
            (fixed, Environment::Test, Some("https://test.example.com/")),
        ];
        for (s, env, want) in cases {
            assert_eq!(
                environment_url(&s, &env).as_deref(),
                want,
                "{env} with {s:?}"
            );
        }
        // A fixed URL wins even without a base domain.
        let mut only_fixed = settings(None, None, None);
        only_fixed
            .urls
            .insert(Environment::Test, "t.example.org".into());
        assert_eq!(
            environment_url(&only_fixed, &Environment::Test).as_deref(),
            Some("https://t.example.org")
        );
        assert_eq!(environment_url(&only_fixed, &Environment::Staging), None);
    }

    #[test]
    fn pattern_validation() {
        assert!(validate_url_pattern(DEFAULT_URL_PATTERN).is_ok());
        let e = validate_url_pattern("https://{environment}.example.com/").expect_err("refused");
        assert!(
            e.0.contains("{urlseparator}") && e.0.contains("{basedomain}"),
            "{e}"
        );
        assert!(validate_url_pattern("ftp://{environment}{urlseparator}{basedomain}").is_err());
        assert!(validate_url_pattern("https://{environment} {urlseparator}{basedomain}").is_err());
    }

    #[test]
    fn hosts_and_separators() {
        assert_eq!(parse_host("Example.COM").as_deref(), Ok("example.com"));
        assert_eq!(
            parse_host("https://app.example.com/").as_deref(),
            Ok("app.example.com")
        );
        for bad in ["", "exa mple.com", "-a.com", "a..com", "a_b.com", "<x>"] {
            assert!(parse_host(bad).is_err(), "{bad}");
        }
        assert!(validate_url_separator(".").is_ok());
        assert!(validate_url_separator("--").is_ok());
        assert!(validate_url_separator("").is_err());
        assert!(validate_url_separator("/").is_err());
    }

    #[test]
    fn pipeline_parameters() {
        let sha = Sha::parse("0123456789abcdef0123456789abcdef01234567").expect("valid");
        let tag = GitRef::Tag("v1.4.0".into());
        let main = GitRef::Branch("main".into());
        assert_eq!(
            pipeline_version(&Environment::Production, true, &tag, &sha),
            "v1.4.0"
        );
        assert_eq!(
            pipeline_version(&Environment::Test, false, &main, &sha),
            "test-0123456789"
        );
        assert_eq!(
            pipeline_version(&Environment::PullRequest(5), false, &main, &sha),
            "pr5-0123456789"
        );
        assert_eq!(
            pipeline_subdomain(&Environment::Staging, false).as_deref(),
            Some("staging")
        );
        assert_eq!(
            pipeline_subdomain(&Environment::PullRequest(5), false).as_deref(),
            Some("pr5")
        );
        assert_eq!(pipeline_subdomain(&Environment::Production, true), None);
        // Production-ness is the workflow's, not the name's.
        let eu = Environment::parse("eu-production").expect("a name");
        assert_eq!(pipeline_subdomain(&eu, true), None);
        assert_eq!(pipeline_version(&eu, true, &tag, &sha), "v1.4.0");
        // A name with spaces becomes one label.
        let spaced = Environment::parse("EU Frankfurt").expect("a name");
        assert_eq!(
            pipeline_version(&spaced, false, &main, &sha),
            "eu-frankfurt-0123456789"
        );
        assert_eq!(
            pipeline_subdomain(&spaced, false).as_deref(),
            Some("eu-frankfurt")
        );
        let s = settings(Some("example.com"), None, None);
        assert_eq!(
            environment_url(&s, &spaced).as_deref(),
            Some("https://eu-frankfurt.example.com/")
        );
    }
}
