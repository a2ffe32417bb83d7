//! The redb store's user table: links and the Slack-user index.

use super::*;
use deploybot_core::notify::PersonSettings;

#[async_trait]
impl UserStore for RedbStore {
    async fn link_user(&self, link: &UserLink) -> Result<LinkOutcome, StoreError> {
        let link = link.clone();
        self.write(move |transaction| {
            let mut users = transaction.open_table(USERS).or_backend("users")?;
            let mut by_slack = transaction
                .open_table(USER_BY_SLACK)
                .or_backend("user_by_slack")?;
            let login = link.github_login.as_str();
            let slack_user = link.slack_user.as_str();
            if let Some(existing) = get_json::<UserLink>(&users, "users", login)? {
                return Ok(if existing.slack_user == link.slack_user {
                    LinkOutcome::AlreadyLinked
                } else {
                    LinkOutcome::LoginTaken {
                        slack_user: existing.slack_user,
                    }
                });
            }
            if let Some(claimed) = get_string(&by_slack, "user_by_slack", slack_user)? {
                let github_login = GithubLogin::parse(&claimed).map_err(|error| {
                    StoreError::Corrupt(format!("user_by_slack {slack_user}: {error}"))
                })?;
                return Ok(LinkOutcome::SlackUserTaken { github_login });
            }
            users
                .insert(login, encode(&link)?.as_str())
                .or_backend("users")?;
            by_slack
                .insert(slack_user, login)
                .or_backend("user_by_slack")?;
            Ok(LinkOutcome::Linked)
        })
        .await
    }

    async fn user_by_login(&self, login: &GithubLogin) -> Result<Option<UserLink>, StoreError> {
        let login = login.clone();
        self.read(move |transaction| {
            let users = transaction.open_table(USERS).or_backend("users")?;
            get_json(&users, "users", login.as_str())
        })
        .await
    }

    async fn user_by_slack(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        let user = user.clone();
        self.read(move |transaction| {
            let by_slack = transaction
                .open_table(USER_BY_SLACK)
                .or_backend("user_by_slack")?;
            let Some(login) = get_string(&by_slack, "user_by_slack", user.as_str())? else {
                return Ok(None);
            };
            let users = transaction.open_table(USERS).or_backend("users")?;
            get_json(&users, "users", &login)
        })
        .await
    }

    async fn users_by_logins(&self, logins: &[GithubLogin]) -> Result<Vec<UserLink>, StoreError> {
        let mut logins = logins.to_vec();
        logins.sort();
        logins.dedup();
        self.read(move |transaction| {
            let users = transaction.open_table(USERS).or_backend("users")?;
            let mut found = Vec::new();
            for login in &logins {
                if let Some(link) = get_json(&users, "users", login.as_str())? {
                    found.push(link);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn unlink_user(&self, user: &SlackUserId) -> Result<Option<UserLink>, StoreError> {
        let user = user.clone();
        self.write(move |transaction| {
            let mut by_slack = transaction
                .open_table(USER_BY_SLACK)
                .or_backend("user_by_slack")?;
            let Some(login) = by_slack
                .remove(user.as_str())
                .or_backend("user_by_slack")?
                .map(|value| value.value().to_owned())
            else {
                return Ok(None);
            };
            let mut users = transaction.open_table(USERS).or_backend("users")?;
            let removed = users
                .remove(login.as_str())
                .or_backend("users")?
                .map(|json| json.value().to_owned());
            removed
                .map(|json| decode("users", &login, &json))
                .transpose()
        })
        .await
    }

    async fn direct_preference(
        &self,
        user: &SlackUserId,
    ) -> Result<deploybot_core::notify::DirectPreference, StoreError> {
        let user = user.clone();
        self.read(move |transaction| {
            let people = transaction.open_table(PEOPLE).or_backend("people")?;
            let person: Option<PersonSettings> = get_json(&people, "people", user.as_str())?;
            Ok(person.map(|p| p.direct).unwrap_or_default())
        })
        .await
    }

    async fn set_direct_preference(
        &self,
        user: &SlackUserId,
        preference: deploybot_core::notify::DirectPreference,
    ) -> Result<(), StoreError> {
        let user = user.clone();
        self.write(move |transaction| {
            let mut people = transaction.open_table(PEOPLE).or_backend("people")?;
            let mut person: PersonSettings =
                get_json(&people, "people", user.as_str())?.unwrap_or_default();
            person.direct = preference;
            people
                .insert(user.as_str(), encode(&person)?.as_str())
                .or_backend("people")?;
            Ok(())
        })
        .await
    }

    async fn claim_home_publish(
        &self,
        user: &SlackUserId,
        now: Timestamp,
        min_gap_secs: i64,
    ) -> Result<bool, StoreError> {
        let user = user.clone();
        self.write(move |transaction| {
            let mut people = transaction.open_table(PEOPLE).or_backend("people")?;
            let mut person: PersonSettings =
                get_json(&people, "people", user.as_str())?.unwrap_or_default();
            if person
                .home_published_at
                .is_some_and(|at| at > now.plus_secs(-min_gap_secs))
            {
                return Ok(false);
            }
            person.home_published_at = Some(now);
            people
                .insert(user.as_str(), encode(&person)?.as_str())
                .or_backend("people")?;
            Ok(true)
        })
        .await
    }

    async fn note_home_viewer(
        &self,
        channel: &SlackChannelId,
        user: &SlackUserId,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (channel, user) = (channel.clone(), user.clone());
        self.write(move |transaction| {
            let mut viewers = transaction
                .open_table(HOME_VIEWERS)
                .or_backend("home_viewers")?;
            viewers
                .insert((channel.as_str(), user.as_str()), at.millis())
                .or_backend("home_viewers")?;
            Ok(())
        })
        .await
    }

    async fn home_viewers(
        &self,
        channel: &SlackChannelId,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<SlackUserId>, StoreError> {
        let channel = channel.clone();
        self.read(move |transaction| {
            let viewers = transaction
                .open_table(HOME_VIEWERS)
                .or_backend("home_viewers")?;
            let mut found = Vec::new();
            for entry in viewers
                .range((channel.as_str(), "")..)
                .or_backend("home_viewers")?
            {
                if found.len() >= limit {
                    break;
                }
                let (key, at) = entry.or_backend("home_viewers")?;
                let (entry_channel, user) = key.value();
                if entry_channel != channel.as_str() {
                    break;
                }
                if at.value() < since.millis() {
                    continue;
                }
                found.push(SlackUserId::parse(user).map_err(|e| {
                    StoreError::Corrupt(format!("home_viewers: {channel} {user}: {e}"))
                })?);
            }
            Ok(found)
        })
        .await
    }
}
