//! The demo scenario: a whole week of deploybot in a few seconds, through the local server's
//! real HTTP routes with requests signed exactly as Slack, GitHub and CircleCI sign them, on the
//! built-in fakes behind the real adapters. `/cimon setup`, a claimed login, a pull request
//! deployed and commented on, main to preview, a release branch to test, a promotion to
//! staging, a tag to production, a failed pipeline and its retry, the pull request closed, and
//! `/cimon list`. Every step is checked against the fakes and the store; the transcript shows
//! the channel as a person sees it and the calls made to GitHub and CircleCI.
//!
//! `deploybot-local demo` prints the transcript as it runs; the end-to-end tests run the same
//! function and assert on its report, so the two cannot drift apart.

mod notifications;

use crate::github_events;
use crate::harness::{Announced, HarnessError, LocalApp, Reply};
use crate::transcript::{Observer, Transcript, message_lines};
use crate::world::{self, ADA, GRACE, LINUS, Person};
use deploybot_app::render::{
    ACTION_APPROVE, ACTION_CANCEL_DEPLOYMENT, ACTION_CLAIM_LOGIN, ACTION_FREEZE_OVERRIDE,
    ACTION_PROMOTE, ACTION_RETRY, ACTION_ROLLBACK,
};
use deploybot_core::blocks::{Block, Element, Message};
use deploybot_core::invoke::{self, DeploymentCreateRequest};
use deploybot_core::lane::LaneKey;
use deploybot_core::workflow_file::WORKFLOW_PATH;
use deploybot_core::{
    Deployment, DeploymentId, DeploymentState, Environment, GitRef, GithubLogin, Repository, Sha,
    SlackChannelId, SlackUserId, Trigger,
};
use deploybot_testkit::fakes::circleci::{FakePipeline, PipelineTarget};
use deploybot_testkit::fakes::github::github_state_name;
use deploybot_testkit::fakes::slack::ResponsePost;
use std::collections::HashSet;
use std::time::{Duration, Instant};

mod board;

/// One step of the scenario and the checks it passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub title: String,
    pub checks: Vec<String>,
    pub passed: bool,
}

/// What the scenario did.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    pub steps: Vec<StepReport>,
    /// Why the scenario stopped early, when it did.
    pub failure: Option<String>,
    pub transcript: String,
    pub elapsed: Duration,
}

impl ScenarioReport {
    /// Every step ran and every check held.
    pub fn passed(&self) -> bool {
        self.failure.is_none() && !self.steps.is_empty() && self.steps.iter().all(|s| s.passed)
    }

    pub fn checks(&self) -> usize {
        self.steps.iter().map(|s| s.checks.len()).sum()
    }
}

/// A check that did not hold, or a request that could not be made.
#[derive(Debug)]
struct Failed(String);

impl From<HarnessError> for Failed {
    fn from(error: HarnessError) -> Self {
        Self(error.to_string())
    }
}

type Step<T = ()> = Result<T, Failed>;

/// How a deployment's pipeline is expected to run and end.
#[derive(Debug, Clone)]
struct Expect {
    environment: Environment,
    /// The branch or tag CircleCI runs it on.
    runs_on: PipelineTarget,
    /// What the fake CircleCI reports (`success`, `failed`, ...).
    outcome: &'static str,
    ends: DeploymentState,
}

impl Expect {
    fn success(environment: Environment, runs_on: PipelineTarget) -> Self {
        Self {
            environment,
            runs_on,
            outcome: "success",
            ends: DeploymentState::Success,
        }
    }
}

/// Runs the whole scenario against `app` (fresh: nothing bound, nothing deployed). With
/// `echo`, the transcript is printed as it is written.
pub async fn run_scenario(app: &LocalApp, echo: bool) -> ScenarioReport {
    let started = Instant::now();
    let mut run = Run {
        app,
        out: Transcript::new(echo),
        observer: Observer::new(),
        steps: Vec::new(),
        failures_seen: 0,
    };
    run.intro();
    let result = Box::pin(run.scenario()).await;
    let failure = match result {
        Ok(()) => None,
        Err(Failed(why)) => {
            if let Some(step) = run.steps.last_mut() {
                step.passed = false;
            }
            run.diagnose(&why).await;
            Some(why)
        }
    };
    let elapsed = started.elapsed();
    let checks: usize = run.steps.iter().map(|s| s.checks.len()).sum();
    match &failure {
        None => run.out.line(format!(
            "\n✅ The demo worked: {} steps, {checks} checks, {:.1}s.",
            run.steps.len(),
            elapsed.as_secs_f64()
        )),
        Some(why) => run.out.line(format!(
            "\n❌ The demo failed at step {} ({}): {why}",
            run.steps.len(),
            run.steps.last().map_or("", |s| s.title.as_str())
        )),
    }
    ScenarioReport {
        steps: run.steps,
        failure,
        transcript: run.out.text().to_owned(),
        elapsed,
    }
}

struct Run<'a> {
    app: &'a LocalApp,
    out: Transcript,
    observer: Observer,
    steps: Vec<StepReport>,
    failures_seen: usize,
}

const INDENT: &str = "    ";

fn who(person: Person) -> &'static str {
    person.first_name()
}

/// The claim-login buttons of a message (their values: GitHub logins).
fn buttons(message: &Message, action: &str) -> Vec<String> {
    message
        .blocks
        .iter()
        .flat_map(|b| match b {
            Block::Actions { elements, .. } => elements.clone(),
            Block::Section {
                accessory: Some(e), ..
            } => vec![e.clone()],
            _ => Vec::new(),
        })
        .filter_map(|e| match e {
            Element::Button {
                action_id, value, ..
            } if action_id == action => value,
            _ => None,
        })
        .collect()
}

fn text(message: &Message) -> String {
    message_lines(message).join("\n")
}

fn sha(text: &str) -> Step<Sha> {
    world::sha(text).map_err(Failed)
}

impl Run<'_> {
    // ---- transcript and checks -----------------------------------------------------------

    fn intro(&mut self) {
        let app = self.app;
        self.out.line(format!(
            "deploybot demo: #{} follows {} — Slack, GitHub and CircleCI are local fakes",
            world::CHANNEL_NAME,
            world::REPOSITORY
        ));
        self.out.line(format!("  server     {}", app.base_url()));
        self.out
            .line(format!("  store      {}", app.store_description));
        self.out.line(format!(
            "  fakes      Slack {} · GitHub {} · CircleCI {}",
            app.fakes.slack_url(),
            app.fakes.github_url(),
            app.fakes.circleci_url()
        ));
        self.out.line(
            "  Every request below is signed as the real service signs it and goes through the \
             server's HTTP routes; deploybot answers through its real Slack, GitHub and \
             CircleCI adapters.",
        );
    }

    fn step(&mut self, title: &str) {
        let n = self.steps.len() + 1;
        self.out.line(String::new());
        self.out.line(format!("━━ {n}. {title} ━━"));
        self.steps.push(StepReport {
            title: title.to_owned(),
            checks: Vec::new(),
            passed: true,
        });
    }

    fn say(&mut self, line: impl AsRef<str>) {
        self.out.line(format!("  {}", line.as_ref()));
    }

    /// Prints what changed in the fakes.
    fn changes(&mut self) {
        let lines = self.observer.changes(&self.app.fakes, INDENT);
        self.out.lines(lines);
    }

    fn check(&mut self, ok: bool, what: impl Into<String>) -> Step {
        let what = what.into();
        if !ok {
            self.out.line(format!("{INDENT}✗ {what}"));
            return Err(Failed(what));
        }
        self.out.line(format!("{INDENT}✓ {what}"));
        if let Some(step) = self.steps.last_mut() {
            step.checks.push(what);
        }
        Ok(())
    }

    fn require<T>(&mut self, value: Option<T>, what: impl Into<String>) -> Step<T> {
        let what = what.into();
        match value {
            Some(v) => {
                self.check(true, what)?;
                Ok(v)
            }
            None => {
                self.check(false, what.clone())?;
                Err(Failed(what))
            }
        }
    }

    /// Waits for the background work, prints what it did, and fails on a failed invocation.
    async fn settle(&mut self) -> Step {
        let settled = self.app.settle().await;
        self.changes();
        settled?;
        let failures = self.app.failures();
        if failures.len() > self.failures_seen {
            let new: Vec<String> = failures[self.failures_seen..]
                .iter()
                .map(|f| format!("{}: {}", f.function, f.error))
                .collect();
            self.failures_seen = failures.len();
            return Err(Failed(format!(
                "background invocation failed: {}",
                new.join("; ")
            )));
        }
        Ok(())
    }

    fn reply_line(&mut self, reply: &Reply) {
        let body = reply.body.trim();
        let body = if body.starts_with('{') || body.is_empty() {
            String::new()
        } else {
            format!(" {body}")
        };
        self.out
            .line(format!("{INDENT}→ HTTP {}{body}", reply.status));
    }

    // ---- what people and services do -------------------------------------------------------

    /// `who` runs `/cimon <text>`; prints the immediate answer and what followed.
    async fn slash(&mut self, person: Person, text: &str) -> Step<Reply> {
        let command = self.app.functions.config().grammar.command().to_owned();
        self.say(format!(
            "{} in #{}: {command} {text}",
            who(person),
            world::CHANNEL_NAME
        ));
        let reply = self.app.slash(person, text).await?;
        self.reply_line(&reply);
        if let Some((message, in_channel)) = reply.slash_message() {
            let audience = if in_channel {
                "everyone sees".to_owned()
            } else {
                format!("only {} sees", who(person))
            };
            self.out.line(format!("{INDENT}({audience}) deploybot:"));
            let lines: Vec<String> = message_lines(&message)
                .into_iter()
                .map(|l| format!("{INDENT}    {l}"))
                .collect();
            self.out.lines(lines);
        }
        self.check(
            reply.status == 200,
            format!("Slack gets HTTP 200 for `{text}`"),
        )?;
        self.settle().await?;
        Ok(reply)
    }

    async fn press(&mut self, person: Person, label: &str, action: &str, value: &str) -> Step {
        self.say(format!("{} presses [{label}]", who(person)));
        let reply = self.app.press(person, action, value).await?;
        self.reply_line(&reply);
        self.check(reply.status == 200, "Slack gets HTTP 200 for the press")?;
        self.settle().await
    }

    async fn github(&mut self, event: &str, body: &serde_json::Value, what: &str) -> Step<Reply> {
        self.say(format!("GitHub → deploybot: {what}"));
        let reply = self.app.github_event(event, body).await?;
        self.reply_line(&reply);
        self.settle().await?;
        Ok(reply)
    }

    async fn announce(&mut self) -> Step<Vec<Announced>> {
        let sent = self.app.announce_deployments().await?;
        for a in &sent {
            self.say(format!(
                "GitHub → deploybot: deployment {} created ({} of {})",
                a.deployment.id, a.deployment.environment, a.deployment.git_ref
            ));
            let reply = a.reply.clone();
            self.reply_line(&reply);
        }
        self.settle().await?;
        Ok(sent)
    }

    async fn complete(&mut self, pipeline: &FakePipeline, status: &str) -> Step {
        self.say(format!(
            "CircleCI → deploybot: pipeline #{} workflow `{}` {status}",
            pipeline.number,
            pipeline
                .workflows
                .first()
                .map_or("deploy", |w| w.name.as_str())
        ));
        let answered = self.app.circleci_complete(&pipeline.id, status).await?;
        self.out.line(format!("{INDENT}→ HTTP {answered}"));
        self.check(
            answered == 202,
            "deploybot accepts the signed workflow-completed webhook",
        )?;
        self.settle().await
    }

    // ---- reading state -------------------------------------------------------------------

    async fn deployment_ids(&self) -> Step<HashSet<DeploymentId>> {
        Ok(self
            .app
            .deployments()
            .await?
            .into_iter()
            .map(|d| d.id)
            .collect())
    }

    async fn get(&self, id: &DeploymentId) -> Step<Deployment> {
        self.app
            .store
            .get_deployment(&self.app.repository, id)
            .await
            .map_err(|e| Failed(format!("reading deployment {id}: {e}")))?
            .ok_or_else(|| Failed(format!("deployment {id} is gone from the store")))
    }

    /// The one deployment of `environment` that is not in `before`.
    async fn new_deployment(
        &mut self,
        environment: Environment,
        before: &HashSet<DeploymentId>,
    ) -> Step<Deployment> {
        let fresh: Vec<Deployment> = self
            .app
            .deployments()
            .await?
            .into_iter()
            .filter(|d| d.environment == environment && !before.contains(&d.id))
            .collect();
        self.check(
            fresh.len() == 1,
            format!(
                "one new {environment} deployment is recorded (found {})",
                fresh.len()
            ),
        )?;
        fresh
            .into_iter()
            .next()
            .ok_or_else(|| Failed(format!("no new {environment} deployment")))
    }

    fn latest_message(&self, d: &Deployment) -> Option<Message> {
        let ts = d.slack_ts.as_deref()?;
        self.app
            .fakes
            .slack
            .message(&d.slack_channel, ts)
            .and_then(|versions| versions.last().cloned())
    }

    fn github_states(&self, d: &Deployment) -> Vec<String> {
        d.github_deployment_id
            .map(|id| {
                self.app
                    .fakes
                    .github
                    .statuses(&self.app.repository, id)
                    .into_iter()
                    .map(|s| s.state)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn responses_since(&self, seen: usize) -> Vec<ResponsePost> {
        self.app
            .fakes
            .slack
            .responses()
            .into_iter()
            .skip(seen)
            .collect()
    }

    /// Runs a freshly created deployment to its end: GitHub announces it, the pipeline starts,
    /// CircleCI finishes it with `outcome`. Returns the record in its final state.
    async fn run_pipeline(&mut self, created: Deployment, expect: &Expect) -> Step<Deployment> {
        let env = created.environment.clone();
        let (outcome, ends) = (expect.outcome, expect.ends);
        self.check(
            created.state == DeploymentState::Created,
            format!("the {env} deployment is `created`"),
        )?;
        let on_github = created.github_deployment_id.and_then(|id| {
            self.app
                .fakes
                .github
                .deployments(&self.app.repository)
                .into_iter()
                .find(|g| g.id == id)
        });
        let on_github = self.require(on_github, format!("GitHub has the {env} deployment"))?;
        self.check(
            on_github.auto_merge == Some(false) && on_github.required_contexts.is_none(),
            "it was created with auto_merge false and GitHub's required checks",
        )?;
        let message = self.latest_message(&created);
        let message = self.require(message, "its Slack message is posted in #web")?;
        self.check(
            message.text.contains(&format!("{env} created")),
            format!("the message says `{env} created`"),
        )?;

        let pipelines_before = self.app.fakes.ci.pipelines().len();
        let announced = self.announce().await?;
        self.check(
            announced.len() == 1 && announced.iter().all(|a| a.reply.status == 202),
            "deploybot accepts GitHub's deployment event",
        )?;
        let pipelines = self.app.fakes.ci.pipelines();
        self.check(
            pipelines.len() == pipelines_before + 1,
            "one CircleCI pipeline is started",
        )?;
        let pipeline = self.require(pipelines.last().cloned(), "the pipeline exists")?;
        self.check(
            pipeline.target == expect.runs_on,
            format!("it runs on {:?}", pipeline.target),
        )?;
        self.check(
            pipeline.parameter("environment").as_deref() == Some(env.to_string().as_str())
                && pipeline.parameter("sha").as_deref() == Some(created.sha.as_str())
                && pipeline.parameter("deployment_id").as_deref() == Some(created.id.as_str()),
            format!(
                "its parameters name {env}, the commit and the deployment (version {})",
                pipeline.parameter("version").unwrap_or_default()
            ),
        )?;
        let queued = self.get(&created.id).await?;
        self.check(
            queued.state == DeploymentState::Queued
                && queued.pipeline_id.as_deref() == Some(pipeline.id.as_str()),
            "the deployment is `queued` with the pipeline's id",
        )?;

        self.complete(&pipeline, outcome).await?;
        let done = self.get(&created.id).await?;
        self.check(
            done.state == ends,
            format!("the deployment is `{}`", done.state),
        )?;
        let states = self.github_states(&done);
        self.check(
            states.last().map(String::as_str) == Some(github_state_name(ends)),
            format!("GitHub's deployment statuses: {}", states.join(" → ")),
        )?;
        let message = self.latest_message(&done);
        let message = self.require(message, "the Slack message still exists")?;
        self.check(
            message.text.contains(&format!("{env} {}", ends.label())),
            format!("the same Slack message now says `{env} {}`", ends.label()),
        )?;
        Ok(done)
    }

    /// A GitHub event that must start one deployment, run to its end as `expect` says.
    async fn event_deploys(
        &mut self,
        event: &str,
        body: &serde_json::Value,
        what: &str,
        expect: &Expect,
    ) -> Step<Deployment> {
        let before = self.deployment_ids().await?;
        let reply = self.github(event, body, what).await?;
        self.check(
            reply.status == 202,
            format!("deploybot accepts the {event} event"),
        )?;
        let created = self
            .new_deployment(expect.environment.clone(), &before)
            .await?;
        self.run_pipeline(created, expect).await
    }

    // ---- the scenario -------------------------------------------------------------------------

    /// The chapters after the first dozen run boxed: each one's state lives on the heap, so
    /// the scenario's future stays small enough for a test thread's stack.
    async fn scenario(&mut self) -> Step {
        let repository = self.app.repository.clone();
        let channel = SlackChannelId::parse(world::CHANNEL)
            .map_err(|e| Failed(format!("channel id: {e}")))?;

        // 1 ------------------------------------------------------------------------------------
        self.step("Grace binds #web to acme/web and claims her GitHub login");
        let seen = self.app.fakes.slack.responses().len();
        let reply = self
            .slash(GRACE, &format!("setup {}", world::REPOSITORY))
            .await?;
        self.check(
            reply.slash_message().is_some_and(|(_, everyone)| !everyone),
            "Grace is told acme/web is being checked on GitHub first",
        )?;
        self.check(
            self.responses_since(seen)
                .iter()
                .any(|r| !r.response.ephemeral && text(&r.response.message).contains("acme/web")),
            "once GitHub confirmed the repository, the channel is told it now follows acme/web",
        )?;
        let project = self
            .app
            .store
            .project_by_channel(&channel)
            .await
            .map_err(|e| Failed(e.to_string()))?;
        self.check(
            project.is_some_and(|p| p.repository == repository),
            "the store binds #web ↔ acme/web",
        )?;
        let offer = self.responses_since(seen);
        let offered: Vec<String> = offer
            .iter()
            .flat_map(|r| buttons(&r.response.message, ACTION_CLAIM_LOGIN))
            .collect();
        self.check(
            world::PEOPLE
                .iter()
                .all(|p| offered.iter().any(|o| o == p.github_login)),
            format!(
                "Grace is offered every collaborator's login: {}",
                offered.join(", ")
            ),
        )?;
        self.press(
            GRACE,
            GRACE.github_login,
            ACTION_CLAIM_LOGIN,
            GRACE.github_login,
        )
        .await?;
        self.check_link(GRACE).await?;

        // 2 ------------------------------------------------------------------------------------
        self.step("Grace sets the base domain for environment URLs");
        self.slash(GRACE, &format!("set basedomain {}", world::BASE_DOMAIN))
            .await?;
        let project = self
            .app
            .store
            .project_by_channel(&channel)
            .await
            .map_err(|e| Failed(e.to_string()))?;
        self.check(
            project.and_then(|p| p.settings.base_domain).as_deref() == Some(world::BASE_DOMAIN),
            "the store keeps basedomain example.com",
        )?;

        // 3 ------------------------------------------------------------------------------------
        self.step("Ada says hello and claims her GitHub login");
        let seen = self.app.fakes.slack.responses().len();
        let reply = self.slash(ADA, "hello").await?;
        self.check(
            reply.slash_message().is_some_and(|(_, everyone)| !everyone),
            "the answer is only for Ada",
        )?;
        let offered: Vec<String> = self
            .responses_since(seen)
            .iter()
            .flat_map(|r| buttons(&r.response.message, ACTION_CLAIM_LOGIN))
            .collect();
        self.check(
            offered.iter().any(|o| o == ADA.github_login)
                && !offered.iter().any(|o| o == GRACE.github_login),
            format!(
                "the offer leaves out Grace's claimed login: {}",
                offered.join(", ")
            ),
        )?;
        self.press(ADA, ADA.github_login, ACTION_CLAIM_LOGIN, ADA.github_login)
            .await?;
        self.check_link(ADA).await?;

        // 4 ------------------------------------------------------------------------------------
        self.step("Ada opens pull request #42: a pr42 environment, its pipeline, a PR comment");
        let opened = github_events::pull_request(
            world::REPOSITORY,
            "opened",
            world::PR_NUMBER,
            world::PR_BRANCH,
            world::PR_SHA,
            ADA.github_login,
        );
        let pr_env = Environment::PullRequest(world::PR_NUMBER);
        let what = format!(
            "pull_request opened #{} ({})",
            world::PR_NUMBER,
            world::PR_BRANCH
        );
        let pr = self
            .event_deploys(
                "pull_request",
                &opened,
                &what,
                &Expect::success(
                    pr_env.clone(),
                    PipelineTarget::Branch(world::PR_BRANCH.into()),
                ),
            )
            .await?;
        let url = format!("https://pr{}.{}/", world::PR_NUMBER, world::BASE_DOMAIN);
        self.check(
            pr.environment_url.as_deref() == Some(url.as_str()),
            format!("its environment URL is {url}"),
        )?;
        let message = self.latest_message(&pr).unwrap_or_default();
        self.check(
            text(&message).contains(&format!("@{}", ADA.name)),
            "the message @-mentions Ada, the author, now that her login is linked",
        )?;
        let comments = self
            .app
            .fakes
            .github
            .comments(&repository, world::PR_NUMBER);
        self.check(
            comments.len() == 1 && comments[0].body.contains(&url),
            "pull request #42 has one comment with the environment link",
        )?;

        // 5 ------------------------------------------------------------------------------------
        self.step("Grace merges to main: preview");
        let push = github_events::push(
            world::REPOSITORY,
            world::DEFAULT_BRANCH,
            world::MAIN_SHA,
            GRACE.github_login,
        );
        let main = Expect::success(
            Environment::Preview,
            PipelineTarget::Branch(world::DEFAULT_BRANCH.into()),
        );
        let preview = self
            .event_deploys("push", &push, "push to main", &main)
            .await?;
        self.check(
            preview.sha == sha(world::MAIN_SHA)?,
            "it deployed the pushed commit",
        )?;

        // 6 ------------------------------------------------------------------------------------
        self.step("Ada pushes the release branch: test");
        let push = github_events::push(
            world::REPOSITORY,
            world::RELEASE_BRANCH,
            world::RELEASE_SHA,
            ADA.github_login,
        );
        let release_branch = PipelineTarget::Branch(world::RELEASE_BRANCH.into());
        let test = self
            .event_deploys(
                "push",
                &push,
                &format!("push to {}", world::RELEASE_BRANCH),
                &Expect::success(Environment::Test, release_branch.clone()),
            )
            .await?;
        let message = self.latest_message(&test).unwrap_or_default();
        self.check(
            buttons(&message, ACTION_PROMOTE) == [test.id.as_str()],
            "the test message offers [Deploy to staging]",
        )?;

        // 7 ------------------------------------------------------------------------------------
        self.step("Grace tries to put main on staging: refused, main never passed test");
        let before = self.deployment_ids().await?;
        let seen = self.app.fakes.slack.responses().len();
        self.slash(GRACE, "deploy main to staging").await?;
        let refusal: Vec<String> = self
            .responses_since(seen)
            .iter()
            .map(|r| text(&r.response.message))
            .collect();
        self.check(
            refusal.iter().any(|t| t.contains("test")),
            "Grace is told why, privately",
        )?;
        let after = self.deployment_ids().await?;
        self.check(after == before, "nothing is deployed")?;

        // 8 ------------------------------------------------------------------------------------
        self.step("Ada promotes the tested commit: deploy <sha> to staging");
        let release = sha(world::RELEASE_SHA)?;
        let before = self.deployment_ids().await?;
        self.slash(ADA, &format!("deploy {} to staging", release.short()))
            .await?;
        let created = self.new_deployment(Environment::Staging, &before).await?;
        self.check(
            created.sha == release
                && created.trigger
                    == Trigger::Manual {
                        slack_user: slack_user(ADA)?,
                    },
            "staging gets the tested commit, credited to Ada",
        )?;
        self.run_pipeline(
            created,
            &Expect::success(Environment::Staging, release_branch),
        )
        .await?;

        // 9 ------------------------------------------------------------------------------------
        self.step("Ada tags v1.4.0: production");
        let tag = github_events::tag(
            world::REPOSITORY,
            world::TAG,
            world::RELEASE_SHA,
            ADA.github_login,
        );
        let production = self
            .event_deploys(
                "push",
                &tag,
                &format!("tag {} pushed", world::TAG),
                &Expect::success(
                    Environment::Production,
                    PipelineTarget::Tag(world::TAG.into()),
                ),
            )
            .await?;
        self.check(
            production.git_ref == GitRef::Tag(world::TAG.into()) && production.sha == release,
            "production deployed the tag",
        )?;
        let pipeline = self
            .app
            .fakes
            .ci
            .pipeline(production.pipeline_id.as_deref().unwrap_or_default());
        self.check(
            pipeline.and_then(|p| p.parameter("version")).as_deref() == Some(world::TAG),
            "the production pipeline's version is the tag",
        )?;

        // 10 -----------------------------------------------------------------------------------
        self.step("Linus pushes a hotfix to main; its pipeline fails");
        self.app.fakes.github.set_branch(
            &repository,
            world::DEFAULT_BRANCH,
            &sha(world::HOTFIX_SHA)?,
            Some(LINUS.github_login),
        );
        let push = github_events::push(
            world::REPOSITORY,
            world::DEFAULT_BRANCH,
            world::HOTFIX_SHA,
            LINUS.github_login,
        );
        let fails = Expect {
            outcome: "failed",
            ends: DeploymentState::Failure,
            ..main.clone()
        };
        let failed = self
            .event_deploys("push", &push, "push to main", &fails)
            .await?;
        let message = self.latest_message(&failed).unwrap_or_default();
        self.check(
            buttons(&message, ACTION_RETRY) == [failed.id.as_str()],
            "the failed deployment's message offers [Retry]",
        )?;
        self.check(
            text(&message).contains(LINUS.github_login),
            "Linus, who has not linked Slack, is named by his GitHub login",
        )?;

        // 11 -----------------------------------------------------------------------------------
        self.step("Grace presses Retry; this time the pipeline passes");
        let before = self.deployment_ids().await?;
        self.press(GRACE, "Retry", ACTION_RETRY, failed.id.as_str())
            .await?;
        let created = self.new_deployment(Environment::Preview, &before).await?;
        self.check(
            created.trigger
                == Trigger::Retry {
                    slack_user: slack_user(GRACE)?,
                    of: failed.id.clone(),
                }
                && created.sha == failed.sha,
            "a new preview deployment of the same commit, marked as Grace's retry",
        )?;
        self.run_pipeline(created, &main).await?;
        let failed_now = self.get(&failed.id).await?;
        self.check(
            failed_now.state == DeploymentState::Failure,
            "the failed attempt stays on record as failed",
        )?;

        // 12 -----------------------------------------------------------------------------------
        self.step("Pull request #42 is merged and closed: pr42 goes inactive");
        let closed = github_events::pull_request(
            world::REPOSITORY,
            "closed",
            world::PR_NUMBER,
            world::PR_BRANCH,
            world::PR_SHA,
            ADA.github_login,
        );
        let reply = self
            .github(
                "pull_request",
                &closed,
                &format!("pull_request closed #{}", world::PR_NUMBER),
            )
            .await?;
        self.check(
            reply.status == 202,
            "deploybot accepts the pull_request event",
        )?;
        let pr_now = self.get(&pr.id).await?;
        self.check(
            pr_now.state == DeploymentState::Inactive,
            "the pr42 deployment is `inactive`",
        )?;
        let states = self.github_states(&pr_now);
        self.check(
            states.last().map(String::as_str) == Some("inactive"),
            "GitHub's last status for it is inactive",
        )?;
        let message = self.latest_message(&pr_now).unwrap_or_default();
        self.check(
            message.text.contains(&format!("{pr_env} inactive")),
            "its Slack message says so",
        )?;

        // 13 -----------------------------------------------------------------------------------
        self.step("Ada asks what runs where: /cimon list");
        let reply = self.slash(ADA, "list").await?;
        let listed = reply
            .slash_message()
            .map(|(m, _)| text(&m))
            .unwrap_or_default();
        self.check(
            [
                "production",
                "staging",
                "test",
                "preview",
                "pr42",
                world::TAG,
            ]
            .iter()
            .all(|word| listed.contains(word)),
            "the list shows production, staging, test, preview and pr42",
        )?;

        Box::pin(self.lanes(&repository)).await?;

        // 17 -----------------------------------------------------------------------------------
        self.step(
            "A bad release is rolled back: a preview, the rollback, a lock, the bad commit kept out (preview, then production)",
        );
        Box::pin(self.rollback(&repository)).await?;

        // 18 -----------------------------------------------------------------------------------
        self.step("Behind the scenes: each function holds only what its profile grants");
        Box::pin(self.profiles()).await?;

        // 19 -----------------------------------------------------------------------------------
        Box::pin(self.workflow_file(&repository)).await?;

        // 20 -----------------------------------------------------------------------------------
        Box::pin(self.freeze()).await?;

        // 21 -----------------------------------------------------------------------------------
        Box::pin(self.backends(&repository)).await?;

        // 22 -----------------------------------------------------------------------------------
        Box::pin(self.approvals(&repository)).await?;

        // 23 -----------------------------------------------------------------------------------
        Box::pin(self.notifications(&repository)).await?;

        // 24 -----------------------------------------------------------------------------------
        Box::pin(self.board()).await?;

        // 25 -----------------------------------------------------------------------------------
        self.step("Looking back");
        self.say("Everything deploybot recorded, newest first:");
        let all = self.app.deployments().await?;
        for d in &all {
            let line = format!(
                "{INDENT}{:<10} {:<10} {:<16} {}  {}",
                d.environment.to_string(),
                d.state.to_string(),
                d.git_ref.short_name(),
                d.sha.short(),
                d.id
            );
            self.out.line(line);
        }
        self.check(all.len() == 32, "thirty-two deployments were wished for")?;
        let messages = self.app.fakes.slack.messages(&channel);
        let posted: HashSet<&str> = messages.iter().map(|m| m.ts.as_str()).collect();
        let own: HashSet<&str> = all.iter().filter_map(|d| d.slack_ts.as_deref()).collect();
        // pr44's environment is kept out of #web by the workflow file (`channel: none`).
        let in_web: Vec<&Deployment> = all
            .iter()
            .filter(|d| d.environment.to_string() != "pr44")
            .collect();
        self.check(
            in_web
                .iter()
                .all(|d| d.slack_ts.as_deref().is_some_and(|ts| posted.contains(ts)))
                && own.len() == in_web.len()
                && in_web.len() == all.len() - 1,
            "one Slack message per deployment, edited in place (but pr44's, kept out of #web)",
        )?;
        self.check(
            messages.len() == all.len() + 16,
            "and three about each of preview's two locks and production's rollback lock (locked, unlocked, what went next), one about a fork's pull request, five about the workflow file (in force, a broken version refused, then three versions in force: two CIs, approvals, notifications), one saying what deploys after the freeze and the on-call mention; pr44 has none (`channel: none`)",
        )?;
        let edits: usize = messages.iter().map(|m| m.edits()).sum();
        self.say(format!(
            "#web holds {} messages, edited {edits} times in all.",
            messages.len()
        ));
        let on_github = self.app.fakes.github.deployments(&repository);
        let ran = all.iter().filter(|d| !d.state.never_ran()).count();
        self.check(
            on_github.len() == ran && ran == all.len() - 4,
            "GitHub has one deployment for each that ran; the two superseded ones and the two refused ones never reached it",
        )?;
        self.check(
            self.app.failures().is_empty(),
            "no background invocation failed",
        )?;
        Ok(())
    }

    /// A push of `hex` to main (preview), following `parent` on GitHub.
    async fn push_main(&mut self, hex: &str, parent: Option<&str>, who: Person) -> Step<Reply> {
        self.push_main_changing(hex, parent, who, &[]).await
    }

    /// Chapter 19: the team's own workflow file comes into force with the push that adds it,
    /// `develop` deploys `qa`, `/cimon config` says so, and a broken version is refused with
    /// its line while the last valid one stays in force.
    async fn workflow_file(&mut self, repository: &Repository) -> Step {
        const LANDED: &str = "f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6f6";
        const DEVELOP: &str = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a";
        const BROKEN: &str = "1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b";
        const FILE: &str = "version: 1
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
";
        self.step("The team writes .github/deploybot.yml: develop deploys qa");
        // First, a stranger's pull request from a fork proposes a file with a mistake.
        const FORK_HEAD: &str = "2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c";
        const FORK_NEXT: &str = "3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d";
        let proposed = FILE.replace("  qa:\n", "  qa:\n    deploy_on_friday: false\n");
        self.app.fakes.github.set_file(
            repository,
            WORKFLOW_PATH,
            &sha(FORK_HEAD)?,
            Some(&proposed),
        );
        let seen = self.app.fakes.slack.messages(&self.channel()?).len();
        let fork_pr = |action: &str, head: &str| {
            let mut e = github_events::pull_request(
                world::REPOSITORY,
                action,
                43,
                "patch-1",
                head,
                "eve-outside",
            );
            e["pull_request"]["head"]["repo"]["full_name"] = "eve-outside/web".into();
            e["pull_request"]["head"]["label"] = "eve-outside:patch-1".into();
            e
        };
        let reply = self
            .github(
                "pull_request",
                &fork_pr("opened", FORK_HEAD),
                "pull request #43 from a fork, changing .github/deploybot.yml",
            )
            .await?;
        self.check(reply.is_success(), "deploybot accepts the pull request")?;
        let runs = self.app.fakes.github.check_runs(repository);
        let fork_head = sha(FORK_HEAD)?;
        self.check(
            runs.iter().any(|r| {
                r.name == "deploybot/config"
                    && r.head_sha == fork_head
                    && r.conclusion.as_deref() == Some("failure")
                    && r.annotations
                        .iter()
                        .any(|a| a.start_line == 9 && a.message.contains("`deploy_on_friday`"))
            }),
            "its head gets the deploybot/config check run: failure, annotated on line 9",
        )?;
        self.github(
            "pull_request",
            &fork_pr("synchronize", FORK_NEXT),
            "a second push to the fork's pull request",
        )
        .await?;
        let told = self.channel_texts_since(seen)?;
        self.check(
            told.len() == 1 && told[0].contains("#43") && told[0].contains("fork"),
            "the channel is told once that a fork's pull request is not deployed, not on every push",
        )?;

        let github = &self.app.fakes.github;
        github.set_file(repository, WORKFLOW_PATH, &sha(LANDED)?, Some(FILE));
        self.say("Ada commits .github/deploybot.yml to main: the environments as before, and qa, which follows develop.");
        let seen = self.app.fakes.slack.messages(&self.channel()?).len();
        self.push_main_changing(
            LANDED,
            Some("e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5"),
            ADA,
            &[WORKFLOW_PATH],
        )
        .await?;
        let landed = self.preview_of(LANDED).await?;
        let main = Expect::success(
            Environment::Preview,
            PipelineTarget::Branch(world::DEFAULT_BRANCH.into()),
        );
        self.run_pipeline(landed, &main).await?;
        let told = self.channel_texts_since(seen)?;
        self.check(
            told.iter()
                .any(|t| t.contains("now follows `.github/deploybot.yml`")),
            "the channel is told the file is in force, as of the commit that added it",
        )?;

        let qa = Environment::parse("qa").map_err(|e| Failed(e.to_string()))?;
        self.app.fakes.github.set_branch(
            repository,
            "develop",
            &sha(DEVELOP)?,
            Some(ADA.github_login),
        );
        let push = github_events::push(world::REPOSITORY, "develop", DEVELOP, ADA.github_login);
        let deployed = self
            .event_deploys(
                "push",
                &push,
                "push to develop",
                &Expect::success(qa.clone(), PipelineTarget::Branch("develop".into())),
            )
            .await?;
        self.check(
            deployed.environment == qa && deployed.sha == sha(DEVELOP)?,
            "the push to develop deployed qa",
        )?;

        let reply = self.slash(ADA, "config").await?;
        let config = reply
            .slash_message()
            .map(|(m, _)| text(&m))
            .unwrap_or_default();
        self.check(
            config.contains(&format!(
                "from `.github/deploybot.yml` at commit `{}`",
                &LANDED[..7]
            )) && config.contains("`qa`: deployed by pushes to `develop`"),
            "/cimon config shows qa and that the workflow comes from the file at that commit",
        )?;

        let broken = FILE.replace(
            "    on: { push: [develop] }",
            "    on: { push: [develop] }\n    deploy_on_friday: false",
        );
        self.app
            .fakes
            .github
            .set_file(repository, WORKFLOW_PATH, &sha(BROKEN)?, Some(&broken));
        let seen = self.app.fakes.slack.messages(&self.channel()?).len();
        self.push_main_changing(BROKEN, Some(LANDED), LINUS, &[WORKFLOW_PATH])
            .await?;
        let after = self.preview_of(BROKEN).await?;
        self.run_pipeline(after, &main).await?;
        let told = self.channel_texts_since(seen)?;
        self.check(
            told.iter().any(|t| {
                t.contains("is not valid, so the last valid version stays in force")
                    && t.contains("Line 10")
                    && t.contains("`deploy_on_friday`")
            }),
            "a broken version is refused with its line, and the last valid one stays in force",
        )?;
        let project = self
            .app
            .store
            .project_by_repository(repository)
            .await
            .map_err(|e| Failed(e.to_string()))?;
        let landed = sha(LANDED)?;
        self.check(
            project
                .and_then(|p| p.workflow)
                .and_then(|w| w.file)
                .is_some_and(|f| f.commit == landed),
            "the file in force is still the one of the commit that added it",
        )?;
        Ok(())
    }

    /// Chapter 19: a freeze set from Slack holds pushes to preview in the lane, a deployment
    /// by hand is refused with until when and why, `status` shows the snowflake, and
    /// `unfreeze` lets the newest push deploy.
    async fn freeze(&mut self) -> Step {
        const FIRST: &str = "4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e4e";
        const NEWEST: &str = "5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f";
        self.step("Linus freezes preview for the release party; pushes wait until unfreeze");
        let reply = self
            .slash(LINUS, "freeze preview for 2h release party")
            .await?;
        let (said, everyone) = reply
            .slash_message()
            .map(|(m, everyone)| (text(&m), everyone))
            .unwrap_or_default();
        self.check(
            everyone && said.contains("froze preview") && said.contains("release party"),
            "the channel is told preview is frozen for 2h, by whom and why",
        )?;
        let on_github = self
            .app
            .fakes
            .github
            .deployments(&self.app.repository)
            .len();
        self.push_main(FIRST, Some("1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b"), ADA)
            .await?;
        self.push_main(NEWEST, Some(FIRST), GRACE).await?;
        let first = self.preview_of(FIRST).await?;
        let newest = self.preview_of(NEWEST).await?;
        self.check(
            first.state == DeploymentState::Superseded,
            "the first push is superseded by the newer one while it waits",
        )?;
        self.check(
            newest.state == DeploymentState::Waiting
                && newest
                    .description
                    .as_deref()
                    .is_some_and(|d| d.contains("preview is frozen until")),
            "the newest push waits in the lane: \"preview is frozen until … (frozen by Linus — release party)\"",
        )?;
        self.check(
            self.app
                .fakes
                .github
                .deployments(&self.app.repository)
                .len()
                == on_github,
            "nothing reached GitHub while preview is frozen",
        )?;
        let reply = self.slash(ADA, "deploy main to preview").await?;
        let refusal = reply.slash_message().map(|(m, _)| m);
        let refused = refusal.as_ref().map(text).unwrap_or_default();
        self.check(
            refused.contains("preview is frozen until") && refused.contains("release party"),
            "Ada's deployment by hand is refused, saying until when and why",
        )?;
        let value = refusal
            .as_ref()
            .and_then(|m| buttons(m, ACTION_FREEZE_OVERRIDE).into_iter().next());
        let value = self.require(
            value,
            "the refusal offers a reason field and [Override…], to let this one deployment through",
        )?;
        let seen = self.app.fakes.slack.responses().len();
        self.press(ADA, "Override…", ACTION_FREEZE_OVERRIDE, &value)
            .await?;
        let asked = self
            .responses_since(seen)
            .iter()
            .any(|r| text(&r.response.message).contains("Write why preview cannot wait"));
        self.check(
            asked
                && self
                    .app
                    .fakes
                    .github
                    .deployments(&self.app.repository)
                    .len()
                    == on_github,
            "[Override…] with the reason left empty asks for one, and nothing deploys",
        )?;
        self.say("Ada decides it can wait for the release party to end.");
        let reply = self.slash(ADA, "status").await?;
        let status = reply
            .slash_message()
            .map(|(m, _)| text(&m))
            .unwrap_or_default();
        self.check(
            status.contains(":snowflake: frozen for 2h more"),
            "/cimon status shows ❄ and the time left on preview",
        )?;
        let seen = self.app.fakes.slack.messages(&self.channel()?).len();
        let reply = self.slash(LINUS, "unfreeze preview").await?;
        self.check(
            reply
                .slash_message()
                .is_some_and(|(m, everyone)| everyone && text(&m).contains("unfroze preview")),
            "Linus unfreezes preview and the channel is told",
        )?;
        self.settle().await?;
        let told = self.channel_texts_since(seen)?;
        self.check(
            told.iter().any(|t| {
                t.contains(&format!("deploying `{}`", &NEWEST[..7]))
                    && t.contains("came while it was frozen")
            }),
            "the channel is told what waited and what deploys now",
        )?;
        let newest = self.get(&newest.id).await?;
        let main = Expect::success(
            Environment::Preview,
            PipelineTarget::Branch(world::DEFAULT_BRANCH.into()),
        );
        self.run_pipeline(newest, &main).await?;
        Ok(())
    }

    /// Chapter 21: the workflow file moves preview to GitHub Actions and production to
    /// CircleCI's GitHub App integration (a `circleci/` project slug and a pipeline
    /// definition). A push to main dispatches the Actions workflow with the deployment's
    /// inputs, GitHub's `workflow_run` webhooks move it to in progress and success; a second
    /// push is cancelled with the [Cancel] button on its message; a tag goes out through
    /// CircleCI's `/pipeline/run`.
    async fn backends(&mut self, repository: &Repository) -> Step {
        const ON_ACTIONS: &str = "6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a";
        const CANCELLED: &str = "7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b";
        const SLUG: &str =
            "circleci/8d1f3e2a-5c6b-4d7e-9f80-1a2b3c4d5e6f/a7c2b1d0-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
        const DEFINITION: &str = "5b0e1f2a-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
        const TAG: &str = "v1.5.2";
        let file = format!(
            "version: 1
environments:
  pr:
    name: \"pr{{number}}\"
    on: pull_request
    queue: {{ running: cancel }}
  preview:
    on: {{ push: [default] }}
    backend:
      github_actions:
        workflow: deploy.yml
  qa:
    on: {{ push: [develop] }}
  test:
    on: {{ push: [\"release*\", \"release*/**\"] }}
  staging:
    promote_from: test
  production:
    on: {{ tag: [\"v{{semver}}\"] }}
    production: true
    backend:
      circleci:
        project_slug: {SLUG}
        definition_id: {DEFINITION}
"
        );
        self.step(
            "preview moves to GitHub Actions, production to CircleCI's GitHub App; a run is cancelled from Slack, then re-run",
        );
        self.app
            .fakes
            .github
            .set_file(repository, WORKFLOW_PATH, &sha(ON_ACTIONS)?, Some(&file));
        self.say("Grace commits a workflow file whose preview deploys with the Actions workflow deploy.yml and whose production starts CircleCI pipeline definitions.");
        self.push_main_changing(
            ON_ACTIONS,
            Some("5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f5f"),
            GRACE,
            &[WORKFLOW_PATH],
        )
        .await?;
        let preview = self.preview_of(ON_ACTIONS).await?;
        let preview = self.run_on_actions(preview).await?;
        let run_id = preview.pipeline_id.clone().unwrap_or_default();
        self.actions_event(&run_id, "in_progress").await?;
        self.check(
            self.get(&preview.id).await?.state == DeploymentState::InProgress,
            "GitHub's workflow_run `in_progress` moves the deployment to in progress",
        )?;
        self.app.fakes.actions.finish(&run_id, "success");
        self.actions_event(&run_id, "completed").await?;
        let done = self.get(&preview.id).await?;
        self.check(
            done.state == DeploymentState::Success,
            "`completed` with conclusion `success`: preview succeeded",
        )?;
        let states = self.github_states(&done);
        self.check(
            states.last().map(String::as_str) == Some("success"),
            format!("GitHub's deployment statuses: {}", states.join(" → ")),
        )?;

        self.push_main(CANCELLED, Some(ON_ACTIONS), LINUS).await?;
        let second = self.preview_of(CANCELLED).await?;
        let second = self.run_on_actions(second).await?;
        let second_run = second.pipeline_id.clone().unwrap_or_default();
        self.app.fakes.actions.start(&second_run);
        self.actions_event(&second_run, "in_progress").await?;
        let message = self.latest_message(&second).unwrap_or_default();
        self.check(
            buttons(&message, ACTION_CANCEL_DEPLOYMENT) == [second.id.as_str()],
            "the running deployment's message offers [Cancel] (behind a confirm dialog)",
        )?;
        self.press(
            GRACE,
            "Cancel",
            ACTION_CANCEL_DEPLOYMENT,
            second.id.as_str(),
        )
        .await?;
        let run = self.app.fakes.actions.run(&second_run);
        self.check(
            run.as_ref().and_then(|r| r.conclusion.as_deref()) == Some("cancelled"),
            "deploybot cancelled the run on GitHub Actions",
        )?;
        let cancelled = self.get(&second.id).await?;
        let by_grace = format!("cancelled by <@{}>", GRACE.slack_user);
        self.check(
            cancelled.state == DeploymentState::Error
                && cancelled.description.as_deref() == Some(by_grace.as_str()),
            "the deployment ends `error` \"cancelled by @Grace\" at once",
        )?;
        self.actions_event(&second_run, "completed").await?;
        let after = self.get(&second.id).await?;
        self.check(
            after.state == cancelled.state && after.description == cancelled.description,
            "GitHub's own `cancelled` afterwards changes nothing",
        )?;
        self.say("Linus re-runs the cancelled run on GitHub (attempt 2): preview last deployed it, and nothing stands in the way.");
        self.app.fakes.actions.rerun(&second_run);
        self.app.fakes.actions.start(&second_run);
        self.actions_event(&second_run, "in_progress").await?;
        let reopened = self.get(&second.id).await?;
        self.check(
            reopened.state == DeploymentState::InProgress
                && reopened.ci_attempt == Some(2)
                && reopened.description.as_deref() == Some("re-run on GitHub Actions (attempt 2)"),
            "deploybot follows the re-run: the deployment is in progress again, on attempt 2",
        )?;
        self.app.fakes.actions.finish(&second_run, "success");
        self.actions_event(&second_run, "completed").await?;
        self.check(
            self.get(&second.id).await?.state == DeploymentState::Success,
            "the latest attempt decides: preview succeeded",
        )?;

        self.app.fakes.ci.set_definitions(SLUG, &[DEFINITION]);
        let tag = github_events::tag(world::REPOSITORY, TAG, ON_ACTIONS, ADA.github_login);
        let before = self.deployment_ids().await?;
        let reply = self
            .github("push", &tag, &format!("tag {TAG} pushed"))
            .await?;
        self.check(reply.status == 202, "deploybot accepts the tag")?;
        let production = self
            .new_deployment(Environment::Production, &before)
            .await?;
        self.announce().await?;
        let production = self.get(&production.id).await?;
        let pipeline = self
            .app
            .fakes
            .ci
            .pipeline(production.pipeline_id.as_deref().unwrap_or_default());
        let pipeline = self.require(pipeline, "production's CircleCI pipeline started")?;
        self.check(
            pipeline.project_slug == SLUG
                && pipeline.definition_id.as_deref() == Some(DEFINITION)
                && pipeline.target == PipelineTarget::Tag(TAG.into()),
            "it was started through /pipeline/run: the circleci/ project, its definition, checkout of the tag",
        )?;
        self.say("CircleCI → deploybot: job `build` of the deploy workflow finished; the workflow goes on");
        let reply = self
            .app
            .circleci_job_completed(&pipeline.id, "build")
            .await?;
        self.reply_line(&reply);
        self.settle().await?;
        self.check(
            self.get(&production.id).await?.state == DeploymentState::InProgress,
            "CircleCI's first job-completed moves production to in progress",
        )?;
        self.complete(&pipeline, "success").await?;
        let done = self.get(&production.id).await?;
        self.check(
            done.state == DeploymentState::Success,
            "production succeeded on CircleCI's GitHub App integration",
        )?;
        Ok(())
    }

    /// A deployment on GitHub Actions, just created: GitHub announces it, deploybot dispatches
    /// the workflow with the deployment's inputs. Returns the record, `queued` with the run.
    async fn run_on_actions(&mut self, created: Deployment) -> Step<Deployment> {
        let runs_before = self.app.fakes.actions.runs().len();
        let announced = self.announce().await?;
        self.check(
            announced
                .iter()
                .any(|a| Some(a.deployment.id) == created.github_deployment_id),
            "deploybot accepts GitHub's deployment event",
        )?;
        let runs = self.app.fakes.actions.runs();
        self.check(
            runs.len() == runs_before + 1,
            "one GitHub Actions run is dispatched",
        )?;
        let run = self.require(runs.last().cloned(), "the run exists")?;
        let input = |name: &str| run.inputs.get(name).map(String::as_str);
        self.check(
            run.workflow == "deploy.yml"
                && run.branch == world::DEFAULT_BRANCH
                && input("environment") == Some("preview")
                && input("sha") == Some(created.sha.as_str())
                && input("deployment_id") == Some(created.id.as_str())
                && input("rollback") == Some("false"),
            format!(
                "deploy.yml runs on main (its own version) with inputs environment, sha, ref, deployment_id, version ({}), url, rollback",
                input("version").unwrap_or_default()
            ),
        )?;
        let queued = self.get(&created.id).await?;
        self.check(
            queued.state == DeploymentState::Queued
                && queued.pipeline_id.as_deref() == Some(run.id.to_string().as_str())
                && queued.build_url.as_deref() == Some(run.html_url().as_str()),
            "the deployment is `queued` with the run's id; its log link is the run's page",
        )?;
        Ok(queued)
    }

    /// GitHub's signed `workflow_run` webhook for the run `id` as it is now.
    async fn actions_event(&mut self, id: &str, action: &str) -> Step {
        let body = self.app.fakes.actions.workflow_run_event(id, action);
        let body = self.require(body, format!("GitHub knows workflow run {id}"))?;
        let reply = self
            .github("workflow_run", &body, &format!("workflow_run {action}"))
            .await?;
        self.check(
            reply.is_success(),
            format!("deploybot accepts workflow_run `{action}`"),
        )?;
        self.settle().await
    }

    /// Chapter 22: production needs an approval. The workflow file gains `approvals:`; Ada
    /// tags a release, which waits for approval; Ada cannot approve her own deployment; Grace
    /// approves, and the release goes out by itself with Grace named on GitHub.
    async fn approvals(&mut self, repository: &Repository) -> Step {
        const WITH_APPROVALS: &str = "8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c8c";
        const RELEASE: &str = "9d9d9d9d9d9d9d9d9d9d9d9d9d9d9d9d9d9d9d9d";
        const TAG: &str = "v1.6.0";
        const FILE: &str = "version: 1
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
    approvals:
      rules:
        - name: release
          from: { users: [ada-l, grace-h] }
          count: 1
      expires_after: 4h
      notify_approvers: true
";
        self.step(
            "Production needs an approval: Ada tags v1.6.0, Grace approves, it goes out by itself",
        );
        self.app.fakes.github.set_file(
            repository,
            WORKFLOW_PATH,
            &sha(WITH_APPROVALS)?,
            Some(FILE),
        );
        self.say("Linus commits `approvals:` for production to .github/deploybot.yml: one of Ada or Grace must approve, never the person who asked.");
        let seen = self.app.fakes.slack.messages(&self.channel()?).len();
        self.push_main_changing(
            WITH_APPROVALS,
            Some("7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b"),
            LINUS,
            &[WORKFLOW_PATH],
        )
        .await?;
        let landed = self.preview_of(WITH_APPROVALS).await?;
        let main = Expect::success(
            Environment::Preview,
            PipelineTarget::Branch(world::DEFAULT_BRANCH.into()),
        );
        self.run_pipeline(landed, &main).await?;
        self.check(
            self.channel_texts_since(seen)?
                .iter()
                .any(|t| t.contains("now follows `.github/deploybot.yml`")),
            "the version with approvals is in force",
        )?;

        self.app
            .fakes
            .github
            .set_tag(repository, TAG, &sha(RELEASE)?, Some(ADA.github_login));
        let before = self.deployment_ids().await?;
        let reply = self
            .github(
                "push",
                &github_events::tag(world::REPOSITORY, TAG, RELEASE, ADA.github_login),
                &format!("tag {TAG} pushed by Ada"),
            )
            .await?;
        self.check(reply.status == 202, "deploybot accepts the push event")?;
        let waiting = self
            .new_deployment(Environment::Production, &before)
            .await?;
        self.check(
            waiting.state == DeploymentState::Waiting,
            "the release waits in production's lane",
        )?;
        let shown = self
            .latest_message(&waiting)
            .map(|m| text(&m))
            .unwrap_or_default();
        self.check(
            shown.contains("Waiting for approval — release 0/1 — requested by @Ada Lovelace — expires in 4h")
                && shown.contains("[Approve]")
                && shown.contains("[Reject]"),
            "its message: \"Waiting for approval — release 0/1 — requested by @Ada — expires in 4h\" with [Approve] and [Reject]",
        )?;
        let on_github = self.app.fakes.github.deployments(repository).len();

        let seen = self.app.fakes.slack.responses().len();
        self.press(ADA, "Approve", ACTION_APPROVE, waiting.id.as_str())
            .await?;
        let said: Vec<String> = self
            .responses_since(seen)
            .iter()
            .map(|r| text(&r.response.message))
            .collect();
        self.check(
            said.iter()
                .any(|t| t.contains("You can't approve this deployment: you asked for it.")),
            "Ada is told she cannot approve her own deployment",
        )?;
        let still = self.get(&waiting.id).await?;
        self.check(
            still.state == DeploymentState::Waiting
                && self.app.fakes.github.deployments(repository).len() == on_github,
            "nothing changed: the release still waits, and nothing reached GitHub",
        )?;

        // `notify_approvers`: Grace, the one other approver, has the message in her direct
        // messages, with its buttons; she approves there.
        let grace = self.require(GRACE.slack_id(), "Grace's Slack id")?;
        let copy = self
            .app
            .fakes
            .slack
            .direct_messages(&grace)
            .into_iter()
            .find(|m| {
                m.latest()
                    .is_some_and(|v| text(v).contains("Waiting for approval — release 0/1"))
            });
        let copy = self.require(
            copy,
            "Grace, the approver who is not Ada, gets the waiting release in her direct messages",
        )?;
        let approve = copy
            .latest()
            .and_then(|m| buttons(m, ACTION_APPROVE).into_iter().next());
        let approve = self.require(
            approve,
            "her copy carries [Approve], naming the repository so it works outside #web",
        )?;
        let (dm, dm_ts) = (copy.channel.clone(), copy.ts.clone());
        let seen = self.app.fakes.slack.responses().len();
        self.say("Grace presses [Approve] in her direct messages");
        let reply = self
            .app
            .press_in(GRACE, dm.as_str(), ACTION_APPROVE, &approve)
            .await?;
        self.reply_line(&reply);
        self.check(reply.status == 200, "Slack gets HTTP 200 for the press")?;
        self.settle().await?;
        let said: Vec<String> = self
            .responses_since(seen)
            .iter()
            .map(|r| text(&r.response.message))
            .collect();
        self.check(
            said.iter().any(|t| t.contains("was the last one needed")),
            "Grace's approval was the one needed",
        )?;
        let edited = self
            .app
            .fakes
            .slack
            .message(&dm, &dm_ts)
            .and_then(|versions| versions.last().cloned());
        self.check(
            edited.is_some_and(|m| buttons(&m, ACTION_APPROVE).is_empty()),
            "her copy is edited with the message: no [Approve] any more",
        )?;
        let created = self.get(&waiting.id).await?;
        let approved = self
            .app
            .fakes
            .github
            .deployments(repository)
            .into_iter()
            .find(|g| Some(g.id) == created.github_deployment_id);
        self.check(
            approved.is_some_and(|g| {
                g.description
                    .as_deref()
                    .is_some_and(|d| d.contains("approved by @grace-h (release)"))
                    && g.payload["approvals"][0]["login"] == "grace-h"
            }),
            "the release went to GitHub by itself, \"approved by @grace-h (release)\" in its description and payload",
        )?;
        let expect = Expect::success(Environment::Production, PipelineTarget::Tag(TAG.into()));
        self.run_pipeline(created, &expect).await?;
        Ok(())
    }

    fn channel(&self) -> Step<SlackChannelId> {
        SlackChannelId::parse(world::CHANNEL).map_err(|e| Failed(format!("channel id: {e}")))
    }

    /// The latest text of every channel message posted after the first `seen`.
    fn channel_texts_since(&self, seen: usize) -> Step<Vec<String>> {
        Ok(self
            .app
            .fakes
            .slack
            .messages(&self.channel()?)
            .iter()
            .skip(seen)
            .filter_map(|m| m.latest().map(text))
            .collect())
    }

    /// A push of `hex` to main whose commit changed `files`.
    async fn push_main_changing(
        &mut self,
        hex: &str,
        parent: Option<&str>,
        who: Person,
        files: &[&str],
    ) -> Step<Reply> {
        let repository = self.app.repository.clone();
        let commit = sha(hex)?;
        if let Some(parent) = parent {
            self.app
                .fakes
                .github
                .set_parent(&repository, &commit, &sha(parent)?);
        }
        self.app.fakes.github.set_branch(
            &repository,
            world::DEFAULT_BRANCH,
            &commit,
            Some(who.github_login),
        );
        let mut push = github_events::push(
            world::REPOSITORY,
            world::DEFAULT_BRANCH,
            hex,
            who.github_login,
        );
        let changed: Vec<serde_json::Value> = files.iter().map(|f| (*f).into()).collect();
        push["commits"][0]["modified"] = changed.into();
        let what = if files.is_empty() {
            format!("push of {} to main", &hex[..7])
        } else {
            format!(
                "push of {} to main, changing {}",
                &hex[..7],
                files.join(", ")
            )
        };
        let reply = self.github("push", &push, &what).await?;
        self.check(reply.status == 202, "deploybot accepts the push")?;
        Ok(reply)
    }

    /// The newest preview deployment of commit `hex`.
    async fn preview_of(&mut self, hex: &str) -> Step<Deployment> {
        let commit = sha(hex)?;
        let found = self
            .app
            .deployments()
            .await?
            .into_iter()
            .find(|d| d.environment == Environment::Preview && d.sha == commit);
        self.require(
            found,
            format!("a preview deployment of {} exists", &hex[..7]),
        )
    }

    /// The pipeline of a deployment that was just dispatched: GitHub announces it, the
    /// pipeline starts.
    async fn start_pipeline(&mut self, d: &Deployment) -> Step<FakePipeline> {
        self.announce().await?;
        let started = self.get(&d.id).await?;
        let pipeline = started.pipeline_id.as_deref().and_then(|id| {
            self.app
                .fakes
                .ci
                .pipelines()
                .into_iter()
                .find(|p| p.id == id)
        });
        self.require(pipeline, format!("the pipeline of {} runs", d.sha.short()))
    }

    async fn lanes(&mut self, repository: &Repository) -> Step {
        const A: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
        const B: &str = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
        const C: &str = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";
        const D: &str = "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4";
        const E: &str = "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5";
        let preview = Environment::Preview;

        // 14 -----------------------------------------------------------------------------------
        self.step("Three pushes to main in a row: one deploys at a time, the newest goes next");
        self.push_main(A, Some(world::HOTFIX_SHA), ADA).await?;
        let a = self.preview_of(A).await?;
        self.check(
            a.state == DeploymentState::Created,
            "the first is dispatched at once: preview is free",
        )?;
        let a_pipeline = self.start_pipeline(&a).await?;
        self.push_main(B, Some(A), LINUS).await?;
        let b = self.preview_of(B).await?;
        self.check(
            b.state == DeploymentState::Ready,
            "the second waits in line while the first deploys",
        )?;
        let message = self.latest_message(&b).unwrap_or_default();
        self.check(
            text(&message).contains("In line for preview"),
            "its message says it is in line",
        )?;
        self.push_main(C, Some(B), ADA).await?;
        let b = self.get(&b.id).await?;
        let c = self.preview_of(C).await?;
        self.check(
            b.state == DeploymentState::Superseded && c.state == DeploymentState::Ready,
            "the third supersedes the second, which never ran; the third waits",
        )?;
        let message = self.latest_message(&b).unwrap_or_default();
        self.check(
            text(&message).contains("superseded by `c3c3c3c`"),
            "the second's message says `superseded by c3c3c3c`",
        )?;
        self.check(
            self.app
                .fakes
                .github
                .deployments(repository)
                .iter()
                .all(|g| g.sha != b.sha && g.sha != c.sha),
            "GitHub and CircleCI see only what runs: nothing for the waiting ones",
        )?;
        self.complete(&a_pipeline, "success").await?;
        let a = self.get(&a.id).await?;
        let c = self.get(&c.id).await?;
        self.check(
            a.state == DeploymentState::Success && c.state == DeploymentState::Created,
            "the first succeeds, and the lane dispatches the newest",
        )?;
        let c_pipeline = self.start_pipeline(&c).await?;
        self.complete(&c_pipeline, "success").await?;
        let c = self.get(&c.id).await?;
        self.check(
            c.state == DeploymentState::Success,
            "preview runs c3c3c3c, the newest push",
        )?;
        let old_failure = self
            .app
            .deployments()
            .await?
            .into_iter()
            .find(|d| d.environment == preview && d.state == DeploymentState::Failure);
        let old_failure = self.require(old_failure, "the hotfix's old failure is still there")?;
        let before = self.deployment_ids().await?;
        let seen = self.app.fakes.slack.responses().len();
        self.press(LINUS, "Retry", ACTION_RETRY, old_failure.id.as_str())
            .await?;
        let refused = self
            .responses_since(seen)
            .iter()
            .any(|r| text(&r.response.message).contains("would take preview backwards"));
        self.check(
            refused && self.deployment_ids().await? == before,
            "Retry on that old failure is refused: a newer deployment succeeded since",
        )?;

        // 15 -----------------------------------------------------------------------------------
        self.step("Grace locks preview to test a migration; a push waits and deploys on unlock");
        let reply = self
            .slash(GRACE, "lock preview for 30m testing the migration")
            .await?;
        self.check(reply.status == 200, "the lock is taken")?;
        let channel = SlackChannelId::parse(world::CHANNEL)
            .map_err(|e| Failed(format!("channel id: {e}")))?;
        let told = self
            .app
            .fakes
            .slack
            .messages(&channel)
            .iter()
            .filter_map(|m| m.versions.last())
            .any(|m| text(m).contains("locked by") && text(m).contains("testing the migration"));
        self.check(
            told,
            "#web is told who locked preview, why and until when, with [Unlock] [Extend 1h]",
        )?;
        self.push_main(D, Some(C), LINUS).await?;
        let d = self.preview_of(D).await?;
        self.check(
            d.state == DeploymentState::Waiting,
            "Linus's push waits: it is not dropped",
        )?;
        let message = self.latest_message(&d).unwrap_or_default();
        self.check(
            text(&message).contains("waiting: preview is locked by")
                && text(&message).contains("testing the migration"),
            "its message says: waiting, preview is locked by Grace — testing the migration",
        )?;
        self.check(
            self.app
                .fakes
                .github
                .deployments(repository)
                .iter()
                .all(|g| g.sha != d.sha),
            "nothing reached GitHub for it yet",
        )?;
        let reply = self.slash(ADA, "status").await?;
        let status = reply
            .slash_message()
            .map(|(m, _)| text(&m))
            .unwrap_or_default();
        self.check(
            status.contains("locked by")
                && status.contains("testing the migration")
                && status.contains("1 deployment waits in line"),
            "/cimon status shows preview's lock, its reason and the push waiting in line",
        )?;
        self.slash(GRACE, "unlock preview").await?;
        let d = self.get(&d.id).await?;
        self.check(
            d.state == DeploymentState::Created,
            "on unlock the waiting push is dispatched",
        )?;
        let d_pipeline = self.start_pipeline(&d).await?;
        self.complete(&d_pipeline, "success").await?;
        let key = LaneKey {
            repository: repository.clone(),
            environment: preview,
        };
        let history = self
            .app
            .store
            .lock_history(&key, 10)
            .await
            .map_err(|e| Failed(e.to_string()))?;
        self.check(
            history.len() == 2,
            "the lock and the unlock are kept in preview's lock history",
        )?;

        // 16 -----------------------------------------------------------------------------------
        self.step("CircleCI's completion webhook is lost; the watchdog finds out and moves on");
        self.push_main(E, Some(D), ADA).await?;
        let e = self.preview_of(E).await?;
        let e_pipeline = self.start_pipeline(&e).await?;
        self.say(format!(
            "CircleCI finishes pipeline #{} — and its webhook never arrives.",
            e_pipeline.number
        ));
        self.app
            .fakes
            .ci
            .completion_payload(
                &e_pipeline.id,
                "success",
                &deploybot_core::signature::SigningSecret::new("never-sent"),
            )
            .map_err(|err| Failed(format!("finishing the pipeline: {err}")))?;
        let timeout = self.app.functions.config().deployment_timeout;
        self.say(format!(
            "{} later (this demo's DEPLOYBOT_DEPLOYMENT_TIMEOUT) the watchdog sweeps.",
            deploybot_core::lane::format_duration(timeout)
        ));
        tokio::time::sleep(timeout + Duration::from_millis(200)).await;
        invoke::call(&self.app.invoker, &DeploymentCreateRequest::Watchdog)
            .await
            .map_err(|err| Failed(format!("the watchdog's sweep: {err}")))?;
        self.settle().await?;
        let e = self.get(&e.id).await?;
        self.check(
            e.state == DeploymentState::Success,
            "the watchdog asked CircleCI: the deployment is `success`",
        )?;
        let states = self.github_states(&e);
        self.check(
            states.last().map(String::as_str) == Some("success"),
            "GitHub's deployment says success, as if the webhook had come",
        )?;
        let lane = self
            .app
            .store
            .get_lane(&key)
            .await
            .map_err(|err| Failed(err.to_string()))?;
        self.check(
            lane.is_some_and(|l| l.running.is_none() && l.current.as_ref() == Some(&e.id)),
            "preview is free, and runs e5e5e5e",
        )?;
        Ok(())
    }

    /// Chapter 17: preview runs `e5e5e5e`, which broke the login page. Grace rolls back: the
    /// preview shows from → to, [Roll back] deploys `d4d4d4d` again first in line, preview is
    /// locked by Grace, the release rolled away from says so, a push of `e5e5e5e` is refused
    /// with the sentence why, and the fix on top of it deploys after unlock.
    async fn rollback(&mut self, repository: &Repository) -> Step {
        const D: &str = "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4";
        const E: &str = "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5";
        const FIX: &str = "f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7";
        let bad = self.preview_of(E).await?;
        let seen = self.app.fakes.slack.responses().len();
        self.slash(GRACE, "rollback preview the login page is blank")
            .await?;
        let preview = self
            .responses_since(seen)
            .into_iter()
            .map(|r| r.response.message)
            .rfind(|m| !buttons(m, ACTION_ROLLBACK).is_empty());
        let preview = self.require(preview, "Grace gets the rollback preview")?;
        for line in message_lines(&preview) {
            self.say(format!("(only Grace sees) {line}"));
        }
        let shown = text(&preview);
        self.check(
            shown.contains("from `main` @ `e5e5e5e`") && shown.contains("to `main` @ `d4d4d4d`"),
            "the preview shows from e5e5e5e to d4d4d4d, who deployed each and when",
        )?;
        let value = buttons(&preview, ACTION_ROLLBACK).concat();
        self.press(GRACE, "Roll back", ACTION_ROLLBACK, &value)
            .await?;
        let rollback = self
            .app
            .deployments()
            .await?
            .into_iter()
            .find(|d| d.trigger.is_rollback());
        let rollback = self.require(rollback, "the rollback is a deployment of its own")?;
        self.check(
            rollback.sha == sha(D)? && rollback.state == DeploymentState::Created,
            "it deploys d4d4d4d again, created on GitHub at once",
        )?;
        let on_github = self
            .app
            .fakes
            .github
            .deployments(repository)
            .into_iter()
            .find(|g| Some(g.id) == rollback.github_deployment_id);
        self.check(
            on_github.is_some_and(|g| {
                g.task.as_deref() == Some("deploy:rollback")
                    && g.auto_merge == Some(false)
                    && g.required_contexts == Some(Vec::new())
            }),
            "on GitHub: task deploy:rollback, auto_merge false, no required contexts",
        )?;
        let pipeline = self.start_pipeline(&rollback).await?;
        self.check(
            pipeline.parameter("rollback").as_deref() == Some("true"),
            "CircleCI's pipeline gets rollback: true (the example config skips the build)",
        )?;
        self.complete(&pipeline, "success").await?;
        let key = LaneKey {
            repository: repository.clone(),
            environment: Environment::Preview,
        };
        let lane = self
            .app
            .store
            .get_lane(&key)
            .await
            .map_err(|e| Failed(e.to_string()))?;
        let lock = lane.and_then(|l| l.lock);
        self.check(
            lock.is_some_and(|l| {
                l.holder.as_str() == GRACE.slack_user
                    && l.reason.as_deref()
                        == Some("rolled back from `e5e5e5e`: the login page is blank")
            }),
            "preview is locked by Grace: rolled back from `e5e5e5e`: the login page is blank",
        )?;
        let bad = self.get(&bad.id).await?;
        self.check(
            bad.state == DeploymentState::Inactive
                && bad
                    .description
                    .as_deref()
                    .is_some_and(|d| d.starts_with("rolled back by")),
            "the release rolled away from is inactive: rolled back by Grace",
        )?;

        let before = self.app.fakes.github.deployments(repository).len();
        self.push_main(E, Some(D), LINUS).await?;
        let again = self
            .app
            .deployments()
            .await?
            .into_iter()
            .find(|d| d.sha == bad.sha && d.id != bad.id);
        let again = self.require(again, "the push of e5e5e5e is an intent")?;
        let why = again.description.clone().unwrap_or_default();
        self.say(format!("→ {why}"));
        self.check(
            again.state == DeploymentState::Skipped
                && why.starts_with("not deployed: `e5e5e5e` was rolled back from preview"),
            "pushed again, e5e5e5e is refused at once with the sentence why",
        )?;
        self.check(
            self.app.fakes.github.deployments(repository).len() == before,
            "nothing reached GitHub for it",
        )?;
        self.push_main(FIX, Some(E), ADA).await?;
        let fix = self.preview_of(FIX).await?;
        self.check(
            fix.state == DeploymentState::Waiting,
            "Ada's fix on top of e5e5e5e is not bad: it waits for Grace's lock",
        )?;
        self.slash(GRACE, "unlock preview").await?;
        let fix = self.get(&fix.id).await?;
        self.check(
            fix.state == DeploymentState::Created,
            "on unlock the fix is dispatched",
        )?;
        let fix_pipeline = self.start_pipeline(&fix).await?;
        self.complete(&fix_pipeline, "success").await?;
        let fix = self.get(&fix.id).await?;
        self.check(
            fix.state == DeploymentState::Success,
            "preview runs the fix f7f7f7f",
        )?;
        Box::pin(self.rollback_production(repository)).await
    }

    /// Chapter 17, production: v1.5.0 ships two pull requests (its message says which, and
    /// Ada hears hers is live); it breaks checkout. Grace rolls production back to v1.4.0: the
    /// preview lists the pull requests the rollback removes, the rollback deploys, production
    /// is locked, v1.5.0 tagged again is refused with the sentence why, and v1.5.1 with the
    /// fix deploys once Grace unlocks.
    async fn rollback_production(&mut self, repository: &Repository) -> Step {
        const CHECKOUT: &str = "a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4";
        const CART: &str = "b2c3d4e5b2c3d4e5b2c3d4e5b2c3d4e5b2c3d4e5";
        const FIXED: &str = "c3d4e5f6c3d4e5f6c3d4e5f6c3d4e5f6c3d4e5f6";
        let github = self.app.fakes.github.clone();
        let release = sha(world::RELEASE_SHA)?;
        github.merge_pull_request(
            repository,
            &sha(CHECKOUT)?,
            812,
            "Faster checkout",
            Some(ADA.github_login),
        );
        github.set_parent(repository, &sha(CHECKOUT)?, &release);
        github.merge_pull_request(
            repository,
            &sha(CART)?,
            813,
            "Cache the cart",
            Some(LINUS.github_login),
        );
        github.set_parent(repository, &sha(CART)?, &sha(CHECKOUT)?);
        github.set_tag(repository, "v1.5.0", &sha(CART)?, Some(ADA.github_login));
        let tag = github_events::tag(world::REPOSITORY, "v1.5.0", CART, ADA.github_login);
        let bad = self
            .event_deploys(
                "push",
                &tag,
                "tag v1.5.0 pushed",
                &Expect::success(
                    Environment::Production,
                    PipelineTarget::Tag("v1.5.0".into()),
                ),
            )
            .await?;
        let message = self.latest_message(&bad).unwrap_or_default();
        let shown = text(&message);
        for line in message_lines(&message)
            .into_iter()
            .filter(|l| l.contains('#') || l.contains("shipping"))
        {
            self.say(format!("(in #web) {line}"));
        }
        self.check(
            shown.contains("What's shipping") && shown.contains("#813") && shown.contains("#812"),
            "its message lists what ships since v1.4.0: pull requests #813 and #812",
        )?;
        let ada = slack_user(ADA)?;
        let direct = self.app.fakes.slack.direct_messages(&ada);
        self.check(
            direct
                .iter()
                .filter(|m| {
                    m.latest().is_some_and(|m| {
                        text(m).contains("#812") && text(m).contains("is live in production")
                    })
                })
                .count()
                == 1,
            "Ada (linked) hears once, directly, that #812 is live in production",
        )?;

        let seen = self.app.fakes.slack.responses().len();
        self.slash(GRACE, "rollback production checkout is broken")
            .await?;
        let preview = self
            .responses_since(seen)
            .into_iter()
            .map(|r| r.response.message)
            .rfind(|m| !buttons(m, ACTION_ROLLBACK).is_empty());
        let preview = self.require(preview, "Grace gets the production rollback preview")?;
        for line in message_lines(&preview) {
            self.say(format!("(only Grace sees) {line}"));
        }
        let shown = text(&preview);
        self.check(
            shown.contains("What the rollback removes")
                && shown.contains("#813")
                && shown.contains("#812"),
            "the preview lists the pull requests the rollback removes",
        )?;
        let value = buttons(&preview, ACTION_ROLLBACK).concat();
        self.press(GRACE, "Roll back", ACTION_ROLLBACK, &value)
            .await?;
        let rollback = self
            .app
            .deployments()
            .await?
            .into_iter()
            .find(|d| d.trigger.is_rollback() && d.environment == Environment::Production);
        let rollback = self.require(rollback, "the production rollback is a deployment")?;
        self.check(
            rollback.sha == release && rollback.state == DeploymentState::Created,
            "it deploys v1.4.0's commit again",
        )?;
        let pipeline = self.start_pipeline(&rollback).await?;
        self.complete(&pipeline, "success").await?;
        let key = LaneKey {
            repository: repository.clone(),
            environment: Environment::Production,
        };
        let lock = self
            .app
            .store
            .get_lane(&key)
            .await
            .map_err(|e| Failed(e.to_string()))?
            .and_then(|l| l.lock);
        self.check(
            lock.is_some_and(|l| {
                l.holder.as_str() == GRACE.slack_user
                    && l.reason.as_deref() == Some("rolled back from `b2c3d4e`: checkout is broken")
            }),
            "production is locked by Grace: rolled back from `b2c3d4e`: checkout is broken",
        )?;

        // The next automatic deployment of the bad commit: v1.5.0 pushed again.
        let before = github.deployments(repository).len();
        self.github("push", &tag, "tag v1.5.0 pushed again").await?;
        let again = self.app.deployments().await?.into_iter().find(|d| {
            d.sha == bad.sha && d.id != bad.id && d.environment == Environment::Production
        });
        let again = self.require(again, "the tag's second push is an intent")?;
        let why = again.description.clone().unwrap_or_default();
        self.say(format!("→ {why}"));
        self.check(
            again.state == DeploymentState::Skipped
                && why.starts_with("not deployed: `b2c3d4e` was rolled back from production by"),
            "v1.5.0 is refused at once with the sentence why",
        )?;
        self.check(
            github.deployments(repository).len() == before,
            "nothing reached GitHub for it",
        )?;

        // The fix, tagged v1.5.1, waits for the lock and deploys after unlock.
        github.set_parent(repository, &sha(FIXED)?, &sha(CART)?);
        github.set_tag(repository, "v1.5.1", &sha(FIXED)?, Some(LINUS.github_login));
        let fixed_tag = github_events::tag(world::REPOSITORY, "v1.5.1", FIXED, LINUS.github_login);
        self.github("push", &fixed_tag, "tag v1.5.1 pushed").await?;
        let fix = self
            .app
            .deployments()
            .await?
            .into_iter()
            .find(|d| d.sha == sha(FIXED).unwrap_or_else(|_| release.clone()));
        let fix = self.require(fix, "v1.5.1 is an intent")?;
        self.check(
            fix.state == DeploymentState::Waiting,
            "v1.5.1 carries the fix: it is not bad, it waits for Grace's lock",
        )?;
        self.slash(GRACE, "unlock production").await?;
        let fix = self.get(&fix.id).await?;
        let fix = self
            .run_pipeline(
                fix,
                &Expect::success(
                    Environment::Production,
                    PipelineTarget::Tag("v1.5.1".into()),
                ),
            )
            .await?;
        self.check(
            fix.state == DeploymentState::Success,
            "production runs v1.5.1",
        )
    }

    /// Every function of the server runs with exactly the tables, clients and callees of its
    /// Lambda profile: a reach outside it is refused with a sentence, here as on AWS.
    async fn profiles(&mut self) -> Step {
        use deploybot_core::invoke::{FunctionName, SlackMessageRequest};
        use deploybot_core::profile::PROFILES;
        for profile in &PROFILES {
            self.say(format!(
                "{:<26} {}",
                profile.function.as_str(),
                profile.describe()
            ));
        }
        let webhook = self.app.functions.state(FunctionName::CircleciWebhook);
        let refused = match webhook.users() {
            Ok(_) => None,
            Err(error) => Some(error.to_string()),
        };
        let refused = self.require(
            refused,
            "circleci-webhook reaching the user table is refused",
        )?;
        self.say(format!("→ {refused}"));
        self.check(
            refused.contains("outside its profile") && refused.contains("circleci-webhook"),
            "the refusal names the function, its profile and what it tried to reach",
        )?;
        let invoked = invoke::call(
            webhook.invoker().map_err(|e| Failed(e.to_string()))?,
            &SlackMessageRequest::Channel {
                channel: SlackChannelId::parse(world::CHANNEL)
                    .map_err(|e| Failed(format!("channel id: {e}")))?,
                message: Message::text("never sent"),
            },
        )
        .await;
        let refused = invoked.err().map(|e| e.to_string());
        let refused = self.require(
            refused,
            "circleci-webhook invoking slack-message, which it may not, is refused",
        )?;
        self.say(format!("→ {refused}"));
        Ok(())
    }

    async fn check_link(&mut self, person: Person) -> Step {
        let user = slack_user(person)?;
        let link = self
            .app
            .store
            .user_by_slack(&user)
            .await
            .map_err(|e| Failed(e.to_string()))?;
        let login = GithubLogin::parse(person.github_login)
            .map_err(|e| Failed(format!("{}: {e}", person.github_login)))?;
        self.check(
            link.is_some_and(|l| l.github_login == login),
            format!(
                "the store links {} ↔ {}",
                person.github_login, person.slack_user
            ),
        )
    }

    /// After a failure: what the store and the background invocations say.
    async fn diagnose(&mut self, why: &str) {
        self.out.line(String::new());
        self.out.line(format!("What went wrong: {why}"));
        for failure in self.app.failures() {
            self.out.line(format!(
                "  failed invocation {}: {} (payload {})",
                failure.function, failure.error, failure.payload
            ));
        }
        match self.app.deployments().await {
            Ok(all) => {
                self.out.line("  deployments in the store, newest first:");
                for d in all {
                    self.out.line(format!(
                        "    {} {} {} {} github={:?} pipeline={:?} ts={:?} {}",
                        d.id,
                        d.environment,
                        d.state,
                        d.git_ref.short_name(),
                        d.github_deployment_id,
                        d.pipeline_id,
                        d.slack_ts,
                        d.description.unwrap_or_default()
                    ));
                }
            }
            Err(e) => self
                .out
                .line(format!("  (could not list deployments: {e})")),
        }
    }
}

fn slack_user(person: Person) -> Step<SlackUserId> {
    person
        .slack_id()
        .ok_or_else(|| Failed(format!("{} is not a Slack user id", person.slack_user)))
}
