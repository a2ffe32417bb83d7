//! Local is Lambda: every function's state holds exactly what its profile grants
//! (`deploybot_core::profile`), so a handler reaching a table, client or function outside it
//! fails here, in the local server and in the demo, as it would on AWS — with an error naming
//! the function, its profile and what it tried to reach. These tests try.

use crate::workflow_support::*;
use deploybot_app::AppError;
use deploybot_app::wiring::{Functions, function_state};
use deploybot_core::invoke::{self, FunctionName, SlackMessageRequest};
use deploybot_core::ports::InvokeError;
use deploybot_core::profile::{PROFILES, Table};

#[tokio::test]
async fn a_table_outside_the_profile_is_refused_with_a_sentence_naming_everything() {
    let world = World::new().await;
    let functions = Functions::wire(world.parts.clone()).expect("wires");
    // circleci-webhook keeps deployments and deliveries only.
    let webhook = functions.state(FunctionName::CircleciWebhook);
    assert!(webhook.deployments().is_ok());
    let Err(error) = webhook.users() else {
        panic!("circleci-webhook reached the user table")
    };
    assert!(matches!(error, AppError::OutsideProfile(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "circleci-webhook reached the user table, which is outside its profile (tables \
         deployment, delivery; clients none; invokes github-deployment-status)"
    );
    // Every function, every table: granted exactly when the profile names it.
    for profile in &PROFILES {
        let state = functions.state(profile.function);
        assert_eq!(state.profile.function, profile.function);
        for table in Table::ALL {
            let reached = match table {
                Table::Project => state.projects().is_ok(),
                Table::User => state.users().is_ok(),
                Table::Deployment => state.deployments().is_ok(),
                Table::Lane => state.lanes().is_ok(),
                Table::Delivery => continue,
            };
            assert_eq!(
                reached,
                profile.has_table(table),
                "{} {table}",
                profile.function
            );
        }
        assert_eq!(
            state.slack().is_ok(),
            profile.clients.slack,
            "{}",
            profile.function
        );
        assert_eq!(
            state.github().is_ok(),
            profile.clients.github,
            "{}",
            profile.function
        );
        assert_eq!(
            state.ci().is_ok(),
            profile.clients.ci,
            "{}",
            profile.function
        );
        assert_eq!(
            state.invoker().is_ok(),
            !profile.invokes.is_empty(),
            "{}",
            profile.function
        );
    }
}

#[tokio::test]
async fn a_client_outside_the_profile_is_refused() {
    let world = World::new().await;
    let state = function_state(FunctionName::SlackCommand, &world.parts).expect("wires");
    let Err(error) = state.github() else {
        panic!("slack-command reached GitHub")
    };
    assert!(
        error
            .to_string()
            .starts_with("slack-command reached the GitHub client, which is outside its profile"),
        "{error}"
    );
}

#[tokio::test]
async fn an_invoke_outside_the_profile_is_refused_before_it_runs() {
    let world = World::new().await;
    let functions = Functions::wire(world.parts.clone()).expect("wires");
    // github-deployment-status may invoke slack-message only.
    let status = functions.state(FunctionName::GithubDeploymentStatus);
    let request = deploybot_core::invoke::CollaboratorsRequest {
        repository: repo(),
        cached: false,
    };
    let refused = invoke::call(status.invoker().expect("it invokes"), &request).await;
    match refused {
        Err(InvokeError::OutsideProfile { function, message }) => {
            assert_eq!(function, FunctionName::GithubCollaborators);
            assert!(
                message.starts_with(
                    "github-deployment-status reached the function github-collaborators, \
                     which is outside its profile"
                ),
                "{message}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A target the profile names is reached (it runs, and answers for itself).
    let allowed = SlackMessageRequest::Deployment {
        repository: repo(),
        deployment_id: world.state.new_deployment_id(),
    };
    let reached = invoke::call(status.invoker().expect("it invokes"), &allowed).await;
    assert!(
        !matches!(reached, Err(InvokeError::OutsideProfile { .. })),
        "{reached:?}"
    );
}

#[tokio::test]
async fn a_part_the_profile_needs_but_the_process_lacks_is_a_wiring_error() {
    let world = World::new().await;
    let mut parts = world.parts.clone();
    parts.users = None;
    let error = Functions::wire(parts).expect_err("slack-command needs the user table");
    assert_eq!(
        error.to_string(),
        "slack-command needs the user table, which was not built"
    );
}
