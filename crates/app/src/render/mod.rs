//! Slack messages (Block Kit): deployment messages (one per deployment, edited in place) and
//! the replies to commands and buttons.

pub mod deployment;
pub mod freezes;
pub mod home;
pub mod lanes;
pub mod notify;
pub mod replies;
pub mod shipping;

/// `action_id` of a "claim this GitHub login" button; its value is the GitHub login.
pub const ACTION_CLAIM_LOGIN: &str = "claim_login";
/// `action_id` of "Deploy to staging" on a successful test deployment; value: deployment id.
pub const ACTION_PROMOTE: &str = "promote_deployment";
/// `action_id` of "Retry" on a failed deployment; value: deployment id.
pub const ACTION_RETRY: &str = "retry_deployment";
/// `action_id` of [Unlock] / [Unlock now] on a lock message; value: `acme/web#staging`.
pub const ACTION_UNLOCK: &str = "lane_unlock";
/// `action_id` of the confirmed [Unlock anyway] offered to someone who does not hold the
/// lock; value: `acme/web#staging`.
pub const ACTION_UNLOCK_CONFIRMED: &str = "lane_unlock_confirmed";
/// `action_id` of [Extend 1h] on a lock message; value: `acme/web#staging`.
pub const ACTION_EXTEND: &str = "lane_extend";
/// [Roll back] on a rollback preview (value: the `RollbackChoice` as JSON).
pub const ACTION_ROLLBACK: &str = "rollback_confirm";
/// [Cancel] on a rollback preview.
pub const ACTION_ROLLBACK_CANCEL: &str = "rollback_cancel";
/// [Cancel] on a running deployment's message (behind a confirm dialog); value: deployment id.
pub const ACTION_CANCEL_DEPLOYMENT: &str = "cancel_deployment";
/// The Approve button of a deployment waiting for approval (value: the deployment id).
pub const ACTION_APPROVE: &str = "approval_approve";
/// The Reject button of a deployment waiting for approval (value: the deployment id); the
/// reason comes from the message's reason field ([`APPROVAL_REASON`]).
pub const ACTION_REJECT: &str = "approval_reject";
/// The block and action id of the reason field beside Reject.
pub const APPROVAL_REASON: &str = "approval_reason";
/// [Deploy anyway] on the question about a rolled-back commit (value: the `DeployAnyway`
/// as JSON).
pub const ACTION_DEPLOY_BAD: &str = "deploy_bad_confirm";
/// [Cancel] on that question (value: the environment).
pub const ACTION_DEPLOY_BAD_CANCEL: &str = "deploy_bad_cancel";
/// [Override…] on the refusal of a deploy into a frozen environment (value: the
/// `FreezeOverride` as JSON; the reason comes from the message's reason field,
/// [`APPROVAL_REASON`]).
pub const ACTION_FREEZE_OVERRIDE: &str = "freeze_override";

/// The value of a deployment's button that works outside the bound channel too (an approver's
/// copy in their direct messages): `acme/web:<deployment id>`.
pub fn deployment_value(d: &deploybot_core::Deployment) -> String {
    format!("{}:{}", d.repository, d.id)
}

/// The repository and deployment id of a [`deployment_value`]; `None` for a bare id.
pub fn split_deployment_value(value: &str) -> Option<(deploybot_core::Repository, &str)> {
    let (repository, id) = value.rsplit_once(':')?;
    Some((deploybot_core::Repository::parse(repository).ok()?, id))
}

/// Whether the deployment's ref is its commit itself (the full SHA or an abbreviation of it,
/// as typed in `deploy <sha> to <environment>`), so showing the ref beside the short SHA
/// would say the same thing twice.
pub(crate) fn ref_is_its_sha(d: &deploybot_core::Deployment) -> bool {
    match &d.git_ref {
        deploybot_core::GitRef::Name(name) => {
            !name.is_empty()
                && d.sha
                    .as_str()
                    .starts_with(name.to_ascii_lowercase().as_str())
        }
        _ => false,
    }
}
