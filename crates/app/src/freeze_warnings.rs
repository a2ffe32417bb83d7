//! Thirty minutes before a freeze window of the workflow file starts, the channel is told,
//! with what is queued for the environment (docs/workflow.md, "Freezes"). Each decision of a
//! lane stores the next warning's time on its record (`freeze_warn_at`, counted in `due_at`);
//! the watchdog's sweep, which reads only due lanes, finds it then ([`warn`]). The record's
//! `freeze_warned` (saved on its version before the message goes) makes it one message per
//! window start.

use crate::lanes::LaneView;
use crate::{AppError, AppState};
use deploybot_core::freeze::warning::{Warning, next_warning};
use deploybot_core::invoke::{self, SlackMessageRequest};
use deploybot_core::lane::{LaneRecord, slack_date_time};
use deploybot_core::policy::Policy;
use deploybot_core::ports::LaneSaved;
use deploybot_core::{Environment, Timestamp};

/// The next warning of the environment's windows in the file (freezes set from Slack start
/// at once: nothing to warn about).
pub fn next(
    policy: &Policy,
    environment: &Environment,
    now: Timestamp,
    warned: Option<Timestamp>,
) -> Option<Warning> {
    let windows = policy.freeze_windows(environment, None);
    if windows.is_empty() {
        return None;
    }
    let key = policy
        .spec(environment)
        .map_or_else(|| environment.name().into_owned(), |e| e.key.clone());
    next_warning(&windows, &key, now, warned)
}

/// The warning's words: when the window starts and ends, why, and what is queued.
pub fn sentence(environment: &Environment, warning: &Warning, view: &LaneView) -> String {
    let mut s = format!(
        ":snowflake: *{environment}* freezes at {} until {} ({}",
        slack_date_time(warning.start),
        slack_date_time(warning.end),
        warning.window
    );
    if let Some(reason) = &warning.reason {
        s.push_str(" — ");
        s.push_str(reason);
    }
    s.push_str("): automatic deployments wait in the lane until it ends.");
    let mut queued: Vec<String> = view
        .running
        .iter()
        .map(|d| format!("`{}` is deploying and will finish", d.sha.short()))
        .collect();
    queued.extend(view.pending.iter().map(|d| {
        format!(
            "`{}` ({}) is {}",
            d.sha.short(),
            d.git_ref.short_name(),
            d.state.label()
        )
    }));
    if queued.is_empty() {
        s.push_str(" Nothing is queued.");
    } else {
        s.push_str(" Queued now: ");
        s.push_str(&queued.join("; "));
        s.push('.');
    }
    s
}

/// The watchdog found `record` due for its warning: save the window's start as warned (on the
/// record's version; a lost save means another sweep does it) and tell the channel. The
/// caller drains the lane next, which stores the next warning's time.
pub async fn warn(state: &AppState, record: LaneRecord) -> Result<(), AppError> {
    let key = record.lane.clone();
    let now = state.clock.now();
    let Some(project) = state
        .projects()?
        .project_by_repository(&key.repository)
        .await?
    else {
        return Ok(());
    };
    let policy = state.policy_of(&project);
    let warning = next(&policy, &key.environment, now, record.freeze_warned)
        .filter(|w| w.at <= now.plus_secs(60));
    let mut saved = record.clone();
    saved.freeze_warn_at = None;
    if let Some(w) = &warning {
        saved.freeze_warned = Some(w.start);
    }
    saved.updated_at = now;
    if let LaneSaved::Conflict(_) = state.lanes()?.save_lane(&saved).await? {
        return Ok(());
    }
    if let Some(w) = warning {
        let view = crate::lanes::read(state, &key).await?;
        let request = SlackMessageRequest::Channel {
            channel: project.channel.clone(),
            message: deploybot_core::blocks::Message::text(sentence(&key.environment, &w, &view)),
        };
        invoke::send(state.invoker()?, &request).await?;
    }
    Ok(())
}
