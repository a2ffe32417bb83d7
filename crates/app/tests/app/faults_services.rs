//! CircleCI and Slack failing under the workflow. CircleCI down (server errors, rate limits
//! past what the adapter waits for) turns the deployment to `error` with a reason a person
//! can read, in the record, on GitHub and in Slack. Slack rate limits are honoured by the
//! adapter (`crates/integrations/tests/integrations/slack.rs`:
//! `rate_limit_waits_retry_after_then_succeeds`, `rate_limit_really_waits_with_the_real_sleeper`,
//! `rate_limit_longer_than_allowed_is_a_typed_error`); when the limit outlasts that wait, the
//! `slack-message` invocation fails, and Lambda's retry of the same invoke posts the message
//! once — no duplicate, nothing lost.

use crate::workflow_support::*;
use deploybot_core::DeploymentState;
use deploybot_core::Environment;
use deploybot_core::invoke::{FunctionName, SlackMessageRequest};
use deploybot_testkit::fakes::circleci::CircleCiFailure;

/// A `test` deployment created on GitHub, its pipeline about to start.
async fn release_push(world: &World) {
    let release = sha('b');
    world
        .github
        .set_branch(&repo(), "release-1.4", &release, Some(AUTHOR));
    let (status, body) = world
        .github_event("push", &push_event("refs/heads/release-1.4", &release))
        .await;
    assert!(status.is_success(), "{body}");
}

#[tokio::test]
async fn circleci_down_marks_the_deployment_error_with_a_reason() {
    for (what, failure, needle) in [
        ("server error", CircleCiFailure::Status(503), "503"),
        (
            "rate limited past the adapter's patience",
            CircleCiFailure::RateLimited {
                retry_after_secs: 600,
            },
            "600",
        ),
        ("token refused", CircleCiFailure::Unauthorized, "CircleCI"),
    ] {
        let world = World::new().await;
        release_push(&world).await;
        world.ci.fail_next_with(1, failure);
        // GitHub announces the deployment: github-webhook invokes circleci-trigger.
        assert_eq!(world.announce_deployments().await, 1, "{what}");

        let d = world.only_deployment(Environment::Test).await;
        assert_eq!(d.state, DeploymentState::Error, "{what}");
        let why = d.description.clone().expect("a reason");
        assert!(
            why.contains("CircleCI did not start the pipeline") && why.contains(needle),
            "{what}: {why}"
        );
        assert!(world.ci.pipelines().is_empty(), "{what}");
        assert_eq!(
            world.github_states(&d).last().map(String::as_str),
            Some("error"),
            "{what}: GitHub is told"
        );
        let text = message_text(world.messages()[0].latest().expect("a version"));
        assert!(
            text.contains(needle),
            "{what}: the channel is told why: {text}"
        );
        world.assert_no_failures();
    }
}

#[tokio::test]
async fn a_rate_limited_slack_message_is_posted_once_when_the_invoke_is_retried() {
    let world = World::new().await;
    // Slack is rate limited for both attempts to post the deployment's message: the one
    // github-deployment-create waits for, and the `Event` invoke after GitHub answered.
    world.slack.rate_limit_next(2, 120);
    release_push(&world).await;
    let d = world.only_deployment(Environment::Test).await;
    assert!(world.messages().is_empty(), "nothing posted yet");
    assert_eq!(d.state, DeploymentState::Created, "the workflow went on");
    assert_eq!(world.github.deployments(&repo()).len(), 1);

    // The failed `Event` invoke is what Lambda retries (twice, with the same payload).
    let failures = world.invoker.failures();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert_eq!(failures[0].function, FunctionName::SlackMessage);
    assert!(failures[0].error.contains("120"), "{}", failures[0].error);
    let request: SlackMessageRequest =
        serde_json::from_value(failures[0].payload.clone()).expect("a slack-message request");
    world.call(&request).await;
    world.call(&request).await;
    let messages = world.messages();
    assert_eq!(messages.len(), 1, "posted once");
    // The second retry re-sends the same content (an edit with nothing new to show).
    let versions = &messages[0].versions;
    assert!(versions.windows(2).all(|w| w[0] == w[1]), "{versions:#?}");
    assert_eq!(
        world.store_get(&d.id).await.slack_ts.as_deref(),
        Some(messages[0].ts.as_str())
    );
}
