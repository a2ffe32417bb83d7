//! The demo's notifications chapter (docs/notifications.md): the workflow file gains
//! `notify:` — production mirrored in #prod-deploys, pull-request environments kept out of
//! #web, a failure's direct message with [Retry] [Roll back] [Lock], the on-call group
//! mentioned — then Ada's own preference and her App Home.

use super::{Expect, Failed, Run, Step, buttons, sha, text, who};
use crate::github_events;
use crate::world::{self, ADA};
use deploybot_app::render::notify::{
    ACTION_DIRECT_LOCK, ACTION_DIRECT_RETRY, ACTION_DIRECT_ROLLBACK,
};
use deploybot_core::notify::NoticeKind;
use deploybot_core::workflow_file::WORKFLOW_PATH;
use deploybot_core::{DeploymentState, Environment, GitRef, Repository, SlackChannelId};
use deploybot_testkit::fakes::circleci::PipelineTarget;

/// The team's workflow file (as the workflow file's chapter wrote it) with `notify:`.
const ROUTED_FILE: &str = "version: 1
environments:
  pr:
    name: \"pr{number}\"
    on: pull_request
  preview:
    on: { push: [default] }
  qa:
    on: { push: [develop] }
  test:
    on: { push: [\"release*\", \"release*/**\"] }
  staging:
    promote_from: test
  production:
    on: { tag: [\"v{semver}\"] }
    production: true
notify:
  routes:
    - environments: [production]
      channels: [\"#prod-deploys\"]
      direct: { on: [failure], to: [requester, authors] }
      mention_on_failure: [\"@oncall\"]
    - environments: [\"pr[0-9]*\"]
      channel: none
      direct: { on: [failure], to: [author] }
";

const ROUTED: &str = "aeaeaeaeaeaeaeaeaeaeaeaeaeaeaeaeaeaeaeae";
const QUIET_PR: &str = "bfbfbfbfbfbfbfbfbfbfbfbfbfbfbfbfbfbfbfbf";
const PROD_DEPLOYS: &str = "C0PRODDEPLOYS";
const TAG: &str = "v1.7.0";

impl Run<'_> {
    /// Chapter 23.
    pub(super) async fn notifications(&mut self, repository: &Repository) -> Step {
        self.step(
            "Notifications: production mirrored in #prod-deploys, a quiet pull request, a failure's direct message, the Home tab",
        );
        let slack = &self.app.fakes.slack;
        let prod_deploys =
            SlackChannelId::parse(PROD_DEPLOYS).map_err(|e| Failed(format!("channel id: {e}")))?;
        slack.add_channel(&prod_deploys, "prod-deploys");
        slack.add_user_group("oncall", "S0ONCALL");
        let ada = self.require(ADA.slack_id(), "Ada's Slack id")?;
        slack.add_member(&self.channel()?, &ada);

        self.app
            .fakes
            .github
            .set_file(repository, WORKFLOW_PATH, &sha(ROUTED)?, Some(ROUTED_FILE));
        self.say("Grace adds `notify:` to .github/deploybot.yml: production also goes to #prod-deploys, pull requests stay out of #web, failures are told directly and to @oncall.");
        self.push_main_changing(
            ROUTED,
            Some("8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c"),
            world::GRACE,
            &[WORKFLOW_PATH],
        )
        .await?;
        let landed = self.preview_of(ROUTED).await?;
        let main = Expect::success(
            Environment::Preview,
            PipelineTarget::Branch(world::DEFAULT_BRANCH.into()),
        );
        self.run_pipeline(landed, &main).await?;

        // A release that fails in production.
        self.app
            .fakes
            .github
            .set_tag(repository, TAG, &sha(ROUTED)?, Some(ADA.github_login));
        let tag = github_events::tag(world::REPOSITORY, TAG, ROUTED, ADA.github_login);
        let fails = Expect {
            environment: Environment::Production,
            runs_on: PipelineTarget::Tag(TAG.into()),
            outcome: "failed",
            ends: DeploymentState::Failure,
        };
        let seen_web = self.app.fakes.slack.messages(&self.channel()?).len();
        // Ada heard directly before (her pull requests going live): only what comes now counts.
        let seen_dms = self.app.fakes.slack.direct_messages(&ada).len();
        let production = self
            .event_deploys("push", &tag, &format!("tag {TAG} pushed"), &fails)
            .await?;
        self.check(
            production.git_ref == GitRef::Tag(TAG.into()),
            "production deployed the tag, and failed",
        )?;
        let mirrors = self.app.fakes.slack.messages(&prod_deploys);
        let mirror = mirrors.first().and_then(|m| m.latest().map(text));
        self.check(
            mirrors.len() == 1
                && mirrors[0].edits() >= 1
                && mirror
                    .as_deref()
                    .is_some_and(|t| t.contains("acme/web") && t.contains("failed")),
            "#prod-deploys has one compact mirror, edited in place with the message: failed",
        )?;
        for line in mirror.iter() {
            self.say(format!("#prod-deploys: {line}"));
        }
        let dms: Vec<_> = self
            .app
            .fakes
            .slack
            .direct_messages(&ada)
            .into_iter()
            .skip(seen_dms)
            .collect();
        let dm = dms.first().and_then(|m| m.latest().cloned());
        let dm = self.require(
            dm,
            "Ada, who pushed the tag and wrote the commit, gets a direct message",
        )?;
        self.say(format!("{} gets a direct message: {}", who(ADA), text(&dm)));
        let retry = buttons(&dm, ACTION_DIRECT_RETRY);
        self.check(
            dms.len() == 1
                && retry.len() == 1
                && buttons(&dm, ACTION_DIRECT_ROLLBACK).len() == 1
                && buttons(&dm, ACTION_DIRECT_LOCK).len() == 1
                && text(&dm).contains("Open the log"),
            "one direct message with the log link and [Retry] [Roll back] [Lock]",
        )?;
        let mention = self
            .app
            .fakes
            .slack
            .messages(&self.channel()?)
            .into_iter()
            .skip(seen_web)
            .find(|m| {
                m.latest()
                    .is_some_and(|v| text(v).contains("subteam^S0ONCALL"))
            });
        let threaded = mention.as_ref().map(|m| m.thread_ts.clone());
        self.check(
            threaded == Some(production.slack_ts.clone()),
            format!(
                "@oncall is mentioned in the thread of the production message ({threaded:?}, {:?})",
                production.slack_ts
            ),
        )?;
        let stored = self.get(&production.id).await?;
        let count =
            |kind: fn(&NoticeKind) -> bool| stored.notices.iter().filter(|n| kind(&n.kind)).count();
        let directs: Vec<&deploybot_core::SlackUserId> = stored
            .notices
            .iter()
            .filter_map(|n| match &n.kind {
                NoticeKind::Direct { user, .. } => Some(user),
                _ => None,
            })
            .collect();
        let others: Vec<String> = directs
            .iter()
            .filter(|u| ***u != ada)
            .map(|u| format!("<@{u}>"))
            .collect();
        if !others.is_empty() {
            self.say(format!(
                "The other linked authors of what the release brought hear it directly too: {}.",
                others.join(", ")
            ));
        }
        self.check(
            count(|k| matches!(k, NoticeKind::Mirror { .. })) == 1
                && count(|k| matches!(k, NoticeKind::Mention)) == 1
                && directs.contains(&&ada)
                && stored
                    .notices
                    .iter()
                    .all(|n| n.channel.is_some() && n.ts.is_some()),
            "the deployment keeps its mirror, its mention and each direct message — Ada's and the other linked authors' of what it shipped (channel and ts each)",
        )?;

        // A pull request whose environment stays out of #web.
        self.app.fakes.github.set_branch(
            repository,
            "feature/quiet",
            &sha(QUIET_PR)?,
            Some(ADA.github_login),
        );
        let before = self.deployment_ids().await?;
        let seen_web = self.app.fakes.slack.messages(&self.channel()?).len();
        let opened = github_events::pull_request(
            world::REPOSITORY,
            "opened",
            44,
            "feature/quiet",
            QUIET_PR,
            ADA.github_login,
        );
        self.github("pull_request", &opened, "pull request #44 opened")
            .await?;
        let pr44 = Environment::parse("pr44").map_err(|e| Failed(e.to_string()))?;
        let created = self.new_deployment(pr44.clone(), &before).await?;
        self.announce().await?;
        let pipeline = self
            .app
            .fakes
            .ci
            .pipelines()
            .into_iter()
            .find(|p| p.parameter("deployment_id").as_deref() == Some(created.id.as_str()));
        let pipeline = self.require(pipeline, "pr44's pipeline started")?;
        self.complete(&pipeline, "success").await?;
        let done = self.get(&created.id).await?;
        let told = self.channel_texts_since(seen_web)?;
        self.check(
            done.state == DeploymentState::Success
                && done.slack_ts.is_none()
                && !told.iter().any(|t| t.contains("pr44")),
            "pr44 deployed, and #web heard nothing of it (`channel: none`)",
        )?;

        // Ada's own preference, then her Home tab.
        let reply = self.slash(ADA, "notify me failures").await?;
        self.check(
            reply
                .slash_message()
                .is_some_and(|(m, everyone)| !everyone && text(&m).contains("fails")),
            "/cimon notify me failures: Ada is told what she will get",
        )?;
        self.say(format!("{} opens deploybot's Home tab", who(ADA)));
        let reply = self.app.app_home_opened(ADA).await?;
        self.check(
            reply.status == 200,
            "Slack gets HTTP 200 for app_home_opened",
        )?;
        self.settle().await?;
        let homes = self.app.fakes.slack.homes(&ada);
        let home = homes.last().map(ToString::to_string).unwrap_or_default();
        self.check(
            home.contains("acme/web")
                && home.contains("*production*")
                && home.contains(TAG)
                && home.contains("failed")
                && home.contains("*preview*"),
            "her Home tab shows acme/web × its environments: production's tag, failed, its age and who",
        )?;
        Ok(())
    }
}
