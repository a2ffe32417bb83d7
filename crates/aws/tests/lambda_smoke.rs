//! Smoke test under the local Lambda emulator (`cargo lambda watch`), run by
//! `scripts/lambda-smoke.sh` (which starts the emulator and moto_server and sets the
//! variables below): one HTTP function (`slack-event`) and one invoked function
//! (`github-deployment-create`) are called through the Lambda Invoke API with
//! `aws-sdk-lambda`, as other functions and API Gateway reach them on AWS. The functions
//! load their secrets from SSM parameters (in moto) named by `*_PARAM` variables, exactly as
//! `template.yaml` configures them.
//!
//! Ignored in plain `cargo test`: it needs the emulator. Variables: `DEPLOYBOT_LAMBDA_URL`
//! (the emulator), `DEPLOYBOT_DYNAMODB_URL` (moto), the `DYNAMODB_TABLE_*` names and the
//! `SLACK_SIGNING_SECRET_PARAM` / `GITHUB_APP_PRIVATE_KEY_PARAM` names the functions got.

use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ssm::types::ParameterType;
use deploybot_aws::{FunctionNames, LambdaInvoker, TableNames, create_tables};
use deploybot_core::invoke::{DeploymentCreateRequest, DeploymentCreateResponse, FunctionName};
use deploybot_core::ports::{Clock, InvokeError, InvokeMode, Invoker, SystemClock};
use deploybot_core::signature::{SigningSecret, sign_slack};
use serde_json::{Value, json};

const SLACK_SIGNING_SECRET: &str = "smoke-test-slack-signing-secret";

fn required(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| {
        panic!("{variable} is not set: run this test through scripts/lambda-smoke.sh")
    })
}

fn credentials() -> Credentials {
    Credentials::new("testing", "testing", None, None, "lambda-smoke")
}

fn invoker() -> LambdaInvoker {
    // The emulator names each function after its binary.
    invoker_with(
        FunctionName::ALL
            .into_iter()
            .fold(FunctionNames::default(), |names, f| {
                names.with(f, f.as_str())
            }),
    )
}

fn invoker_with(names: FunctionNames) -> LambdaInvoker {
    let config = aws_sdk_lambda::Config::builder()
        .endpoint_url(required("DEPLOYBOT_LAMBDA_URL"))
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials())
        .behavior_version(BehaviorVersion::latest())
        // The emulator answers a function error with HTTP 500: do not run it again.
        .retry_config(RetryConfig::disabled())
        .build();
    LambdaInvoker::new(aws_sdk_lambda::Client::from_conf(config), names)
}

/// The secrets and tables the functions read at their cold start, in moto.
async fn prepare_moto() {
    let moto = required("DEPLOYBOT_DYNAMODB_URL");
    let sdk = aws_config::SdkConfig::builder()
        .endpoint_url(&moto)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::SharedCredentialsProvider::new(
            credentials(),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let key_path = format!(
        "{}/../testkit/fixtures/github/test-only-app-private-key.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    let private_key = std::fs::read_to_string(&key_path).expect("the test-only App key");
    for (variable, value) in [
        (
            "SLACK_SIGNING_SECRET_PARAM",
            SLACK_SIGNING_SECRET.to_owned(),
        ),
        ("GITHUB_APP_PRIVATE_KEY_PARAM", private_key),
        (
            "CIRCLECI_TOKEN_PARAM",
            "smoke-test-circleci-token".to_owned(),
        ),
    ] {
        ssm.put_parameter()
            .name(required(variable))
            .value(value)
            .r#type(ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .expect("moto stores the parameter");
    }
    let tables = TableNames::from_env().expect("DYNAMODB_TABLE_* are set");
    create_tables(&aws_sdk_dynamodb::Client::new(&sdk), &tables)
        .await
        .expect("moto creates the tables");
}

/// The recorded url_verification event, signed now (the function checks the real clock).
fn url_verification_event(signature_secret: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/apigw/slack_event_url_verification.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut event: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON");
    let now = SystemClock.now().secs();
    let body = event["body"].as_str().expect("body").to_owned();
    let signature = sign_slack(&SigningSecret::new(signature_secret), now, body.as_bytes());
    event["headers"]["x-slack-request-timestamp"] = json!(now.to_string());
    event["headers"]["x-slack-signature"] = json!(signature);
    event
}

/// How long the whole smoke may take: a function that exits at start is restarted by the
/// emulator again and again, and its invocation would never be answered.
const SMOKE_LIMIT: std::time::Duration = std::time::Duration::from_secs(300);

#[tokio::test]
#[ignore = "needs cargo lambda watch: run scripts/lambda-smoke.sh"]
async fn functions_answer_through_the_lambda_invoke_api() {
    if tokio::time::timeout(SMOKE_LIMIT, smoke()).await.is_err() {
        panic!(
            "no answer within {SMOKE_LIMIT:?}: a function probably exits at start (a variable or \
             secret missing?); scripts/lambda-smoke.sh prints the emulator's output"
        );
    }
}

async fn smoke() {
    prepare_moto().await;
    let invoker = invoker();

    // HTTP function: an API Gateway HTTP API v2 event in, an API Gateway response out.
    echoes_the_challenge(&url_verification(&invoker, SLACK_SIGNING_SECRET).await);
    let refused = url_verification(&invoker, "not-the-signing-secret").await;
    assert_eq!(refused["statusCode"], 401, "{refused}");

    // The binary that is deployed, `deploybot-lambda`, is slack-event when DEPLOYBOT_FUNCTION
    // says so (scripts/lambda-smoke.sh sets it for the emulator's functions; the per-function
    // binaries above ignore it).
    let deployed =
        invoker_with(FunctionNames::default().with(FunctionName::SlackEvent, "deploybot-lambda"));
    echoes_the_challenge(&url_verification(&deployed, SLACK_SIGNING_SECRET).await);

    // Invoked function: the typed request in, the typed answer out.
    let answer = invoker
        .invoke(
            FunctionName::GithubDeploymentCreate,
            InvokeMode::RequestResponse,
            payload(serde_json::to_value(DeploymentCreateRequest::Watchdog).expect("JSON")),
        )
        .await
        .expect("github-deployment-create answers");
    let response: DeploymentCreateResponse =
        serde_json::from_value(answer.clone()).unwrap_or_else(|e| panic!("{e}: {answer}"));
    assert_eq!(response.deployment_id, None, "nothing was due");

    let accepted = invoker
        .invoke(
            FunctionName::GithubDeploymentCreate,
            InvokeMode::Event,
            payload(json!({"kind": "watchdog"})),
        )
        .await
        .expect("an Event invocation is accepted");
    assert_eq!(accepted, Value::Null);

    // A payload the function refuses is a function error, not a transport failure.
    let error = invoker
        .invoke(
            FunctionName::GithubDeploymentCreate,
            InvokeMode::RequestResponse,
            payload(json!({"kind": "no_such_request"})),
        )
        .await
        .expect_err("refused");
    assert!(
        matches!(
            &error,
            InvokeError::Function {
                function: FunctionName::GithubDeploymentCreate,
                ..
            }
        ),
        "{error:?}"
    );
}

/// What slack-event (as `invoker` names it) answers to a `url_verification` signed with
/// `secret`.
async fn url_verification(invoker: &LambdaInvoker, secret: &str) -> Value {
    invoker
        .invoke(
            FunctionName::SlackEvent,
            InvokeMode::RequestResponse,
            payload(url_verification_event(secret)),
        )
        .await
        .expect("slack-event answers")
}

/// slack-event's answer to a signed `url_verification`: 200 with Slack's challenge.
fn echoes_the_challenge(answer: &Value) {
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert!(
        answer["body"]
            .as_str()
            .is_some_and(|b| b.contains("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")),
        "{answer}"
    );
}

/// A request as the invoker takes it: JSON text.
fn payload(value: serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}
