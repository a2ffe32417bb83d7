//! The environment's `required_checks`, evaluated by deploybot before it dispatches
//! (docs/workflow.md, "Required checks"): the names come from the workflow in force, the
//! states from GitHub (the port's `named_checks`), the verdict from
//! `deploybot_core::required_checks::evaluate`. An environment without required checks makes
//! no GitHub call here.

use crate::{AppError, AppState};
use deploybot_core::Deployment;
use deploybot_core::required_checks::{Evaluation, evaluate};

/// The names the workflow in force requires for the record's environment (empty when the
/// repository is no longer bound, or when the environment names none).
pub(super) async fn required_names(
    state: &AppState,
    record: &Deployment,
) -> Result<Vec<String>, AppError> {
    let Some(project) = state
        .projects()?
        .project_by_repository(&record.repository)
        .await?
    else {
        return Ok(Vec::new());
    };
    Ok(state
        .policy_of(&project)
        .required_checks(&record.environment)
        .to_vec())
}

/// Reads the commit's named checks from GitHub and evaluates `names` against them.
pub(super) async fn evaluate_for(
    state: &AppState,
    record: &Deployment,
    names: &[String],
) -> Result<Evaluation, AppError> {
    let reported = state
        .github()?
        .named_checks(&record.repository, &record.sha)
        .await?;
    Ok(evaluate(names, &reported))
}

/// `` `a`, `b` `` for people.
pub(super) fn list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The failure's sentence when required checks fail.
pub(super) fn failed_sentence(failing: &[String]) -> String {
    let (noun, verb) = if failing.len() == 1 {
        ("check", "fails")
    } else {
        ("checks", "fail")
    };
    format!(
        "Not deployed: required {noun} {} {verb} on this commit. Fix it and push again.",
        list(failing)
    )
}
