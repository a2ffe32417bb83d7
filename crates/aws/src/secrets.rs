//! Secrets for the Lambda functions, loaded once per cold start and held as
//! [`SecretString`]s that never reach a log line.
//!
//! Each secret has a name (`SLACK_SIGNING_SECRET`, ...; the names of `.env.sample`) and is
//! found, first match wins, in:
//!
//! 1. `<NAME>` — the value itself (local runs and tests);
//! 2. `<NAME>_PARAM` — the name or ARN of an SSM Parameter Store parameter, read with
//!    decryption (a `SecureString`; `template.yaml` sets these);
//! 3. `<NAME>_SECRET_ARN` — the id (name, or ARN) of a Secrets Manager secret whose
//!    `SecretString` is the value, read through Parameter Store's Secrets Manager references
//!    (`/aws/reference/secretsmanager/<id>`), so that one SDK client (SSM) serves both stores
//!    and each binary carries one client less (docs/deployment.md, "Measured").
//!
//! All SSM parameters a function needs are fetched in one `GetParameters` call.

use aws_sdk_ssm::error::DisplayErrorContext;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// The secret names (`SLACK_SIGNING_SECRET`, ...), as the function profiles list them.
pub use deploybot_core::profile::secret::{
    CIRCLECI_NOTIFY_TOKEN, CIRCLECI_TOKEN, CIRCLECI_WEBHOOK_SECRET, GITHUB_APP_CLIENT_ID,
    GITHUB_APP_CLIENT_SECRET, GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY, GITHUB_WEBHOOK_SECRET,
    SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET,
};

/// Suffix of the variable naming an SSM parameter.
pub const PARAM_SUFFIX: &str = "_PARAM";
/// Suffix of the variable naming a Secrets Manager secret.
pub const SECRET_ARN_SUFFIX: &str = "_SECRET_ARN";
/// Parameter Store's path for reading a Secrets Manager secret (`GetParameter` with
/// decryption on `/aws/reference/secretsmanager/<secret id or ARN>`).
pub const SECRETS_MANAGER_REFERENCE: &str = "/aws/reference/secretsmanager/";

/// Where a secret is configured to come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `<NAME>` holds the value.
    Environment,
    /// `<NAME>_PARAM` names this SSM parameter.
    SsmParameter(String),
    /// `<NAME>_SECRET_ARN` names this Secrets Manager secret.
    SecretsManager(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "{name} is not configured: set {name} (the value, for local runs), {name}_PARAM (an SSM \
         parameter) or {name}_SECRET_ARN (a Secrets Manager secret)"
    )]
    Missing { name: String },
    #[error("{name}: SSM parameter {parameter} does not exist or is not readable")]
    ParameterNotFound { name: String, parameter: String },
    #[error("{name}: {source_description} holds an empty value")]
    Empty {
        name: String,
        source_description: String,
    },
    #[error("reading SSM parameters {parameters:?}: {message}")]
    Ssm {
        parameters: Vec<String>,
        message: String,
    },
    #[error("{name}: reading Secrets Manager secret {secret}: {message}")]
    SecretsManager {
        name: String,
        secret: String,
        message: String,
    },
}

type Lookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Reads secrets from the environment, SSM Parameter Store or Secrets Manager.
#[derive(Clone)]
pub struct SecretLoader {
    lookup: Lookup,
    ssm: aws_sdk_ssm::Client,
}

impl fmt::Debug for SecretLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretLoader").finish_non_exhaustive()
    }
}

impl SecretLoader {
    /// Reads variables from the process environment and the stores through clients built
    /// from `sdk_config` (no network until [`SecretLoader::load`]).
    pub fn new(sdk_config: &aws_config::SdkConfig) -> Self {
        Self::with_lookup(sdk_config, |name| std::env::var(name).ok())
    }

    /// Like [`SecretLoader::new`], reading variables through `lookup` (tests).
    pub fn with_lookup(
        sdk_config: &aws_config::SdkConfig,
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        Self {
            lookup: Arc::new(lookup),
            ssm: aws_sdk_ssm::Client::new(sdk_config),
        }
    }

    fn var(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Where `name` is configured to come from, if anywhere.
    pub fn source(&self, name: &str) -> Option<SecretSource> {
        if self.var(name).is_some() {
            Some(SecretSource::Environment)
        } else if let Some(parameter) = self.var(&format!("{name}{PARAM_SUFFIX}")) {
            Some(SecretSource::SsmParameter(parameter))
        } else {
            self.var(&format!("{name}{SECRET_ARN_SUFFIX}"))
                .map(SecretSource::SecretsManager)
        }
    }

    /// Loads the secrets called `names`: every configured one is fetched (SSM parameters
    /// in one call); one configured nowhere is simply absent from the result (use
    /// [`Secrets::require`] for the ones a function cannot run without). A secret that is
    /// configured but cannot be read is an error.
    pub async fn load(&self, names: &[&str]) -> Result<Secrets, SecretError> {
        let mut values = BTreeMap::new();
        let mut from_ssm: Vec<(String, String)> = Vec::new();
        for &name in names {
            match self.source(name) {
                None => {}
                Some(SecretSource::Environment) => {
                    if let Some(value) = (self.lookup)(name) {
                        values.insert(name.to_owned(), SecretString::from(value.trim()));
                    }
                }
                Some(SecretSource::SsmParameter(parameter)) => {
                    from_ssm.push((name.to_owned(), parameter));
                }
                Some(SecretSource::SecretsManager(secret)) => {
                    let value = self.read_secrets_manager(name, &secret).await?;
                    values.insert(name.to_owned(), value);
                }
            }
        }
        // GetParameters takes at most ten names per call.
        for chunk in from_ssm.chunks(10) {
            values.extend(self.read_ssm(chunk).await?);
        }
        let sources = values.keys().cloned().collect::<Vec<_>>();
        tracing::debug!(secrets = ?sources, "secrets loaded");
        Ok(Secrets { values })
    }

    async fn read_ssm(
        &self,
        wanted: &[(String, String)],
    ) -> Result<Vec<(String, SecretString)>, SecretError> {
        let parameters: Vec<String> = wanted.iter().map(|(_, p)| p.clone()).collect();
        let output = self
            .ssm
            .get_parameters()
            .set_names(Some(parameters.clone()))
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| SecretError::Ssm {
                parameters: parameters.clone(),
                message: DisplayErrorContext(&e).to_string(),
            })?;
        let found = output.parameters();
        wanted
            .iter()
            .map(|(name, parameter)| {
                // GetParameters answers with the name even when asked by ARN.
                let hit = found.iter().find(|p| {
                    p.name() == Some(parameter.as_str()) || p.arn() == Some(parameter.as_str())
                });
                let Some(hit) = hit else {
                    return Err(SecretError::ParameterNotFound {
                        name: name.clone(),
                        parameter: parameter.clone(),
                    });
                };
                let value = hit.value().map(str::trim).unwrap_or_default();
                if value.is_empty() {
                    return Err(SecretError::Empty {
                        name: name.clone(),
                        source_description: format!("SSM parameter {parameter}"),
                    });
                }
                Ok((name.clone(), SecretString::from(value)))
            })
            .collect()
    }

    async fn read_secrets_manager(
        &self,
        name: &str,
        secret: &str,
    ) -> Result<SecretString, SecretError> {
        let reference = format!("{SECRETS_MANAGER_REFERENCE}{secret}");
        let output = self
            .ssm
            .get_parameter()
            .name(&reference)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| SecretError::SecretsManager {
                name: name.to_owned(),
                secret: secret.to_owned(),
                message: DisplayErrorContext(&e).to_string(),
            })?;
        let value = output
            .parameter()
            .and_then(|p| p.value())
            .map(str::trim)
            .unwrap_or_default();
        if value.is_empty() {
            return Err(SecretError::Empty {
                name: name.to_owned(),
                source_description: format!("Secrets Manager secret {secret}"),
            });
        }
        Ok(SecretString::from(value))
    }
}

/// Loaded secret values by name. `Debug` shows the names only.
#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<String, SecretString>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.values.keys().map(|name| format!("{name}: [redacted]")))
            .finish()
    }
}

impl Secrets {
    pub fn get(&self, name: &str) -> Option<&SecretString> {
        self.values.get(name)
    }

    /// The value, or an error saying how to configure it.
    pub fn require(&self, name: &str) -> Result<&SecretString, SecretError> {
        self.get(name).ok_or_else(|| SecretError::Missing {
            name: name.to_owned(),
        })
    }

    /// The names that have a value.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn offline_config() -> aws_config::SdkConfig {
        // Points at a closed port: any network use fails fast instead of leaving the machine.
        aws_config::SdkConfig::builder()
            .endpoint_url("http://127.0.0.1:9")
            .region(aws_config::Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build()
    }

    fn loader(pairs: &[(&str, &str)]) -> SecretLoader {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        SecretLoader::with_lookup(&offline_config(), move |k| map.get(k).cloned())
    }

    #[test]
    fn the_plain_variable_wins_then_ssm_then_secrets_manager() {
        let all = loader(&[
            ("SLACK_SIGNING_SECRET", "local"),
            (
                "SLACK_SIGNING_SECRET_PARAM",
                "/deploybot/slack-signing-secret",
            ),
            (
                "SLACK_SIGNING_SECRET_SECRET_ARN",
                "arn:aws:secretsmanager:x",
            ),
        ]);
        assert_eq!(
            all.source(SLACK_SIGNING_SECRET),
            Some(SecretSource::Environment)
        );
        let ssm = loader(&[
            ("SLACK_SIGNING_SECRET", "  "),
            (
                "SLACK_SIGNING_SECRET_PARAM",
                "/deploybot/slack-signing-secret",
            ),
            (
                "SLACK_SIGNING_SECRET_SECRET_ARN",
                "arn:aws:secretsmanager:x",
            ),
        ]);
        assert_eq!(
            ssm.source(SLACK_SIGNING_SECRET),
            Some(SecretSource::SsmParameter(
                "/deploybot/slack-signing-secret".into()
            ))
        );
        let sm = loader(&[(
            "SLACK_SIGNING_SECRET_SECRET_ARN",
            "arn:aws:secretsmanager:x",
        )]);
        assert_eq!(
            sm.source(SLACK_SIGNING_SECRET),
            Some(SecretSource::SecretsManager(
                "arn:aws:secretsmanager:x".into()
            ))
        );
        assert_eq!(loader(&[]).source(SLACK_SIGNING_SECRET), None);
    }

    #[tokio::test]
    async fn environment_values_load_without_any_network() {
        let secrets = loader(&[("SLACK_SIGNING_SECRET", " s3cr3t-value \n")])
            .load(&[SLACK_SIGNING_SECRET, CIRCLECI_NOTIFY_TOKEN])
            .await
            .expect("environment values need no network");
        assert_eq!(
            secrets
                .require(SLACK_SIGNING_SECRET)
                .expect("configured")
                .expose_secret(),
            "s3cr3t-value"
        );
        assert!(secrets.get(CIRCLECI_NOTIFY_TOKEN).is_none());
        assert_eq!(secrets.names().collect::<Vec<_>>(), [SLACK_SIGNING_SECRET]);
    }

    #[test]
    fn debug_output_redacts_values() {
        let mut values = BTreeMap::new();
        values.insert(
            SLACK_BOT_TOKEN.to_owned(),
            SecretString::from("xoxb-very-secret"),
        );
        let secrets = Secrets { values };
        let shown = format!("{secrets:?}");
        assert!(shown.contains(SLACK_BOT_TOKEN), "{shown}");
        assert!(!shown.contains("xoxb-very-secret"), "{shown}");
        let value = secrets.get(SLACK_BOT_TOKEN).expect("present");
        assert!(!format!("{value:?}").contains("xoxb-very-secret"));
    }

    #[test]
    fn a_missing_secret_says_how_to_configure_it() {
        let error = Secrets::default()
            .require(GITHUB_APP_PRIVATE_KEY)
            .expect_err("nothing loaded");
        let text = error.to_string();
        for expected in [
            "GITHUB_APP_PRIVATE_KEY ",
            "GITHUB_APP_PRIVATE_KEY_PARAM",
            "GITHUB_APP_PRIVATE_KEY_SECRET_ARN",
        ] {
            assert!(text.contains(expected), "{text}");
        }
    }

    #[tokio::test]
    async fn an_unreachable_store_is_an_error_not_an_absent_secret() {
        let error = loader(&[("CIRCLECI_TOKEN_PARAM", "/deploybot/circleci-token")])
            .load(&[CIRCLECI_TOKEN])
            .await
            .expect_err("nothing listens on port 9");
        assert!(
            matches!(&error, SecretError::Ssm { parameters, .. } if parameters == &["/deploybot/circleci-token"]),
            "{error:?}"
        );
    }
}
