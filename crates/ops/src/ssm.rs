//! SSM Parameter Store as the installer writes it: every value a `SecureString`, written only
//! when it differs from what is stored (so a re-run changes nothing), never shown.

use aws_sdk_ssm::error::DisplayErrorContext;
use aws_sdk_ssm::types::ParameterType;
use secrecy::{ExposeSecret, SecretString};

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Created,
    Updated,
    Unchanged,
}

impl Written {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("SSM parameter {name}: {message}")]
pub struct SsmError {
    pub name: String,
    pub message: String,
}

/// The parameters under one prefix (`/deploybot`).
#[derive(Debug, Clone)]
pub struct ParameterStore {
    client: aws_sdk_ssm::Client,
    prefix: String,
}

impl ParameterStore {
    pub fn new(sdk_config: &aws_config::SdkConfig, prefix: &str) -> Self {
        Self {
            client: aws_sdk_ssm::Client::new(sdk_config),
            prefix: prefix.trim_end_matches('/').to_owned(),
        }
    }

    /// `<prefix>/<short>`, e.g. `/deploybot/slack-signing-secret`.
    pub fn name(&self, short: &str) -> String {
        format!("{}/{short}", self.prefix)
    }

    /// The stored value (decrypted), or `None` when the parameter does not exist.
    pub async fn get(
        &self,
        short: &str,
    ) -> Result<Option<(SecretString, ParameterType)>, SsmError> {
        let name = self.name(short);
        match self
            .client
            .get_parameter()
            .name(&name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(output) => Ok(output.parameter().map(|p| {
                (
                    SecretString::from(p.value().unwrap_or_default()),
                    p.r#type().cloned().unwrap_or(ParameterType::String),
                )
            })),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_parameter_not_found()) =>
            {
                Ok(None)
            }
            Err(error) => Err(SsmError {
                name,
                message: DisplayErrorContext(&error).to_string(),
            }),
        }
    }

    /// A stored value that is real: present, not empty and not the documented `placeholder`.
    pub async fn get_real(&self, short: &str) -> Result<Option<SecretString>, SsmError> {
        Ok(self.get(short).await?.map(|(v, _)| v).filter(|v| {
            let v = v.expose_secret().trim();
            !v.is_empty() && v != "placeholder" && v != "0"
        }))
    }

    /// Stores `value` as a `SecureString` unless exactly that is stored already.
    pub async fn put(&self, short: &str, value: &SecretString) -> Result<Written, SsmError> {
        let name = self.name(short);
        let existing = self.get(short).await?;
        if let Some((stored, kind)) = &existing
            && stored.expose_secret() == value.expose_secret()
            && *kind == ParameterType::SecureString
        {
            return Ok(Written::Unchanged);
        }
        self.client
            .put_parameter()
            .name(&name)
            .value(value.expose_secret())
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .map_err(|error| SsmError {
                name,
                message: DisplayErrorContext(&error).to_string(),
            })?;
        Ok(if existing.is_some() {
            Written::Updated
        } else {
            Written::Created
        })
    }
}
