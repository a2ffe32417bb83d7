//! The App Home tab (docs/notifications.md, "App Home"), published by `slack-message`: when
//! the person opens it (`app_home_opened`, through `slack-event`), and when a deployment they
//! can see changes — one they asked for or wrote, or of a repository whose grid they opened
//! within a day (each opening notes the person as a viewer of each bound channel shown) — at
//! most once a minute per person (the debounce is a conditional write on the person's
//! settings in the user table).
//!
//! Which repositories: the channels the person is in, from Slack's `users.conversations`
//! (one paginated call for the person), each looked up in the project table's channel index.
//! `conversations.members` would need a call per bound channel, and knowing every bound
//! channel would mean scanning the project table. Each repository's grid is read by key and
//! index: its lane partition, then each environment's deployments by id and its queue from
//! the pending index — what `status` reads — and its newest deployment (the environment
//! index, one item).

use crate::http::slack_command::environment_status;
use crate::render::home::{HomeEnvironment, HomeRepository, home_view};
use crate::{AppError, AppState};
use deploybot_core::home::{
    HOME_REFRESH_SECS, HOME_VIEWER_SECS, MAX_HOME_REPOSITORIES, MAX_HOME_VIEWERS, promotion,
};
use deploybot_core::invoke::SlackMessageResponse;
use deploybot_core::notify::{Recipient, Requester, recipient_logins};
use deploybot_core::{Deployment, GithubLogin, SlackUserId};

/// Publishes `user`'s Home tab: always when they `opened` it, otherwise only when the last
/// publish is a minute old.
pub async fn publish(
    state: &AppState,
    user: &SlackUserId,
    opened: bool,
) -> Result<SlackMessageResponse, AppError> {
    let now = state.clock.now();
    let claimed = state
        .users()?
        .claim_home_publish(user, now, HOME_REFRESH_SECS)
        .await?;
    if !claimed && !opened {
        tracing::debug!(%user, "Home tab published less than a minute ago");
        return Ok(SlackMessageResponse::default());
    }
    let slack = state.slack()?;
    let channels = slack.user_channels(user).await?;
    let mut repositories = Vec::new();
    for channel in channels {
        if repositories.len() >= MAX_HOME_REPOSITORIES {
            break;
        }
        let Some(project) = state.projects()?.project_by_channel(&channel).await? else {
            continue;
        };
        if opened {
            // Who looks at this repository's grid: its changes refresh their tab too.
            state.users()?.note_home_viewer(&channel, user, now).await?;
        }
        let policy = state.policy_of(&project);
        let lanes = state.lanes()?.lanes_of(&project.repository).await?;
        let mut statuses = Vec::new();
        for environment in policy.environments() {
            let record = lanes
                .iter()
                .find(|l| l.lane.environment == environment)
                .cloned();
            let frozen = policy.frozen(
                &environment,
                record.as_ref().and_then(|r| r.freeze.as_ref()),
                now,
            );
            let latest = state
                .deployments()?
                .list_deployments(&project.repository, Some(environment.clone()), 1)
                .await?
                .into_iter()
                .next();
            let mut status =
                environment_status(state, &project.repository, environment, record, now).await?;
            status.frozen = frozen;
            statuses.push((status, latest));
        }
        let environments = statuses
            .iter()
            .map(|(status, latest)| {
                let source = policy
                    .workflow()
                    .environment(&status.environment.to_string())
                    .and_then(|spec| spec.promote_from.as_deref())
                    .and_then(|from| {
                        statuses
                            .iter()
                            .find(|(s, _)| s.environment.to_string().eq_ignore_ascii_case(from))
                    })
                    .and_then(|(s, _)| s.current.as_ref().map(|d| &d.sha));
                let promote = promotion(
                    source,
                    status.current.as_ref().map(|d| &d.sha),
                    status.running.as_ref().map(|d| &d.sha),
                );
                HomeEnvironment {
                    status: status.clone(),
                    latest: latest.clone(),
                    promote,
                }
            })
            .collect();
        repositories.push(HomeRepository {
            repository: project.repository.clone(),
            channel: project.channel.clone(),
            environments,
        });
    }
    let logins: Vec<GithubLogin> = repositories
        .iter()
        .flat_map(|r| r.environments.iter())
        .flat_map(|e| {
            e.status
                .current
                .iter()
                .chain(e.status.running.iter())
                .chain(e.latest.iter())
        })
        .flat_map(|d| {
            recipient_logins(
                Recipient::Authors,
                &d.trigger,
                d.commit_author.as_ref(),
                &[],
            )
        })
        .collect();
    let links = if logins.is_empty() {
        Vec::new()
    } else {
        state.users()?.users_by_logins(&logins).await?
    };
    let view = home_view(&repositories, &links, now);
    slack.publish_home(user, &view).await?;
    Ok(SlackMessageResponse::default())
}

/// A deployment changed: the Home tabs of the people it names (who asked, the head commit's
/// author and the pusher: a Home tab shows those, not the comparison's authors) and of
/// the people who opened theirs with its repository on it within a day (at most
/// [`MAX_HOME_VIEWERS`]) are refreshed, each at most once a minute. Failures are logged.
pub async fn refresh_for(state: &AppState, d: &Deployment) {
    let mut people: Vec<SlackUserId> = Vec::new();
    if let Requester::Slack(user) = Requester::of(&d.trigger) {
        people.push(user);
    }
    let users = match state.users() {
        Ok(users) => users,
        Err(error) => {
            tracing::warn!(%error, "no user table to refresh Home tabs");
            return;
        }
    };
    let logins = recipient_logins(
        Recipient::Authors,
        &d.trigger,
        d.commit_author.as_ref(),
        &[],
    );
    if !logins.is_empty() {
        match users.users_by_logins(&logins).await {
            Ok(links) => people.extend(links.into_iter().map(|l| l.slack_user)),
            Err(error) => tracing::warn!(%error, "looking up whose Home tab to refresh"),
        }
    }
    let since = state.clock.now().plus_secs(-HOME_VIEWER_SECS);
    match users
        .home_viewers(&d.slack_channel, since, MAX_HOME_VIEWERS)
        .await
    {
        Ok(viewers) => people.extend(viewers),
        Err(error) => tracing::warn!(%error, "looking up who watches this repository's Home"),
    }
    people.sort();
    people.dedup();
    for user in people {
        if let Err(error) = publish(state, &user, false).await {
            tracing::warn!(%user, %error, "refreshing the Home tab failed");
        }
    }
}
