//! `SecretLoader` against real SSM and Secrets Manager APIs (moto_server at
//! `DEPLOYBOT_DYNAMODB_URL`, which `scripts/test` starts on 127.0.0.1): `SecureString`
//! parameters by name and ARN in one call, a Secrets Manager secret through Parameter Store's
//! reference path, and the errors for a parameter that does not exist.

use aws_sdk_ssm::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_ssm::types::ParameterType;
use deploybot_aws::SecretLoader;
use deploybot_aws::secrets::{
    CIRCLECI_TOKEN, GITHUB_APP_PRIVATE_KEY, SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SecretError,
};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

fn moto() -> String {
    match std::env::var("DEPLOYBOT_DYNAMODB_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "DEPLOYBOT_DYNAMODB_URL is not set: run through `scripts/test`, or alone with \
             `scripts/moto.sh cargo test -p deploybot-aws --test aws secrets_moto::`"
        ),
    }
}

fn sdk_config() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .endpoint_url(moto())
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "testing", "testing", None, None, "moto",
        )))
        .behavior_version(BehaviorVersion::latest())
        .build()
}

/// A parameter path of its own per test run and call, so reruns against one moto never clash.
fn unique(name: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "/deploybot-test/{}-{}/{name}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

async fn put_secure_string(name: &str, value: &str) -> String {
    let ssm = aws_sdk_ssm::Client::new(&sdk_config());
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .expect("moto stores the parameter");
    let stored = ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .expect("moto returns it");
    stored
        .parameter()
        .and_then(|p| p.arn())
        .expect("an ARN")
        .to_owned()
}

fn loader(variables: &[(&str, String)]) -> SecretLoader {
    let map: HashMap<String, String> = variables
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    SecretLoader::with_lookup(&sdk_config(), move |k| map.get(k).cloned())
}

#[tokio::test]
async fn secure_string_parameters_load_by_name_and_by_arn() {
    let signing = unique("slack-signing-secret");
    let token = unique("slack-bot-token");
    put_secure_string(&signing, "s3cr3t-signing").await;
    let token_arn = put_secure_string(&token, "xoxb-s3cr3t").await;

    let secrets = loader(&[
        ("SLACK_SIGNING_SECRET_PARAM", signing),
        ("SLACK_BOT_TOKEN_PARAM", token_arn),
        // The plain variable wins over the parameter.
        ("CIRCLECI_TOKEN", "local-token".to_owned()),
        (
            "CIRCLECI_TOKEN_PARAM",
            "/deploybot-test/does-not-exist".to_owned(),
        ),
    ])
    .load(&[
        SLACK_SIGNING_SECRET,
        SLACK_BOT_TOKEN,
        CIRCLECI_TOKEN,
        GITHUB_APP_PRIVATE_KEY,
    ])
    .await
    .expect("all configured secrets load");

    let value = |name| {
        secrets
            .require(name)
            .expect("loaded")
            .expose_secret()
            .to_owned()
    };
    assert_eq!(value(SLACK_SIGNING_SECRET), "s3cr3t-signing");
    assert_eq!(value(SLACK_BOT_TOKEN), "xoxb-s3cr3t");
    assert_eq!(value(CIRCLECI_TOKEN), "local-token");
    assert!(secrets.get(GITHUB_APP_PRIVATE_KEY).is_none());
    let shown = format!("{secrets:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
}

#[tokio::test]
async fn a_secrets_manager_secret_loads_through_parameter_store() {
    let secrets_manager = aws_sdk_secretsmanager::Client::new(&sdk_config());
    let name = unique("github-app-private-key")
        .trim_start_matches('/')
        .replace('/', "-");
    let created = secrets_manager
        .create_secret()
        .name(&name)
        .secret_string("-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n")
        .send()
        .await
        .expect("moto creates the secret");
    assert!(created.arn().is_some());

    // By name, as in Parameter Store's documented example. (Secrets Manager also takes an ARN
    // as a secret id; moto's reference path does not, so that form is not checked here.)
    let secrets = loader(&[("GITHUB_APP_PRIVATE_KEY_SECRET_ARN", name.clone())])
        .load(&[GITHUB_APP_PRIVATE_KEY])
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        secrets
            .require(GITHUB_APP_PRIVATE_KEY)
            .expect("loaded")
            .expose_secret(),
        "-----BEGIN PRIVATE KEY-----\nnot-a-real-key"
    );
}

#[tokio::test]
async fn a_configured_parameter_that_does_not_exist_is_an_error_naming_it() {
    let missing = unique("nothing-here");
    let error = loader(&[("SLACK_SIGNING_SECRET_PARAM", missing.clone())])
        .load(&[SLACK_SIGNING_SECRET])
        .await
        .expect_err("the parameter does not exist");
    assert_eq!(
        error,
        SecretError::ParameterNotFound {
            name: SLACK_SIGNING_SECRET.to_owned(),
            parameter: missing,
        }
    );
}

/// A clock the test moves by hand.
#[derive(Debug, Default)]
struct HandClock(std::sync::atomic::AtomicI64);

impl deploybot_core::ports::Clock for HandClock {
    fn now(&self) -> deploybot_core::Timestamp {
        deploybot_core::Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[tokio::test]
async fn a_rotated_parameter_is_read_again_after_the_ttl_without_a_restart() {
    use deploybot_aws::bootstrap::{Refreshing, SECRETS_TTL};
    use std::sync::Arc;

    let parameter = unique("slack-signing-secret");
    put_secure_string(&parameter, "before-rotation").await;
    let loader = loader(&[("SLACK_SIGNING_SECRET_PARAM", parameter.clone())]);
    let first = loader
        .load(&[SLACK_SIGNING_SECRET])
        .await
        .expect("the parameter loads");
    let clock = Arc::new(HandClock::default());
    let secrets = Refreshing::new(first, SECRETS_TTL, clock.clone(), move || {
        let loader = loader.clone();
        Box::pin(async move { Ok(loader.load(&[SLACK_SIGNING_SECRET]).await?) })
    });
    let signing = |s: &deploybot_aws::Secrets| {
        s.require(SLACK_SIGNING_SECRET)
            .expect("loaded")
            .expose_secret()
            .to_owned()
    };
    assert_eq!(signing(&secrets.get().await), "before-rotation");

    // The operator rotates the secret in Parameter Store.
    put_secure_string(&parameter, "after-rotation").await;
    let ttl_ms = i64::try_from(SECRETS_TTL.as_millis()).expect("fits");
    clock.0.store(ttl_ms - 1, Ordering::SeqCst);
    assert_eq!(
        signing(&secrets.get().await),
        "before-rotation",
        "within the TTL the secrets in hand are used (no SSM call per request)"
    );
    clock.0.store(ttl_ms, Ordering::SeqCst);
    assert_eq!(signing(&secrets.get().await), "after-rotation");

    // A parameter that cannot be read any more keeps the function on the value it has.
    let ssm = aws_sdk_ssm::Client::new(&sdk_config());
    ssm.delete_parameter()
        .name(&parameter)
        .send()
        .await
        .expect("moto deletes it");
    clock.0.store(2 * ttl_ms, Ordering::SeqCst);
    assert_eq!(signing(&secrets.get().await), "after-rotation");
}
