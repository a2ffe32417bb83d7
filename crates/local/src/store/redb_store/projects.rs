//! The redb store's project table: bindings (with the channel index), the last unbinding of
//! each repository and revoked workspaces.

use super::*;

#[async_trait]
impl ProjectStore for RedbStore {
    async fn bind_project(&self, project: &Project) -> Result<BindOutcome, StoreError> {
        let project = project.clone();
        self.write(move |transaction| {
            let mut projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            let mut by_channel = transaction
                .open_table(PROJECT_BY_CHANNEL)
                .or_backend("project_by_channel")?;
            let repository = project.repository.as_str();
            let channel = project.channel.as_str();
            if let Some(existing) = get_json::<Project>(&projects, "projects", repository)? {
                return Ok(if existing.channel == project.channel {
                    BindOutcome::AlreadyBound
                } else {
                    BindOutcome::RepositoryTaken {
                        channel: existing.channel,
                    }
                });
            }
            if let Some(bound) = get_string(&by_channel, "project_by_channel", channel)? {
                let repository = Repository::parse(&bound).map_err(|error| {
                    StoreError::Corrupt(format!("project_by_channel {channel}: {error}"))
                })?;
                return Ok(BindOutcome::ChannelTaken { repository });
            }
            projects
                .insert(repository, encode(&project)?.as_str())
                .or_backend("projects")?;
            by_channel
                .insert(channel, repository)
                .or_backend("project_by_channel")?;
            if let Some(id) = project.github_id {
                transaction
                    .open_table(PROJECT_BY_GITHUB_ID)
                    .or_backend("project_by_github_id")?
                    .insert((id, repository), ())
                    .or_backend("project_by_github_id")?;
            }
            Ok(BindOutcome::Bound)
        })
        .await
    }

    async fn project_by_channel(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        let channel = channel.clone();
        self.read(move |transaction| {
            let by_channel = transaction
                .open_table(PROJECT_BY_CHANNEL)
                .or_backend("project_by_channel")?;
            let Some(repository) = get_string(&by_channel, "project_by_channel", channel.as_str())?
            else {
                return Ok(None);
            };
            let projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            get_json(&projects, "projects", &repository)
        })
        .await
    }

    async fn project_by_repository(
        &self,
        repository: &Repository,
    ) -> Result<Option<Project>, StoreError> {
        let repository = repository.clone();
        self.read(move |transaction| {
            let projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            get_json(&projects, "projects", repository.as_str())
        })
        .await
    }

    async fn project_by_github_id(&self, github_id: u64) -> Result<Option<Project>, StoreError> {
        self.read(move |transaction| {
            let by_github_id = transaction
                .open_table(PROJECT_BY_GITHUB_ID)
                .or_backend("project_by_github_id")?;
            let Some(entry) = by_github_id
                .range((github_id, "")..)
                .or_backend("project_by_github_id")?
                .next()
            else {
                return Ok(None);
            };
            let (key, _) = entry.or_backend("project_by_github_id")?;
            let (id, repository) = key.value();
            if id != github_id {
                return Ok(None);
            }
            let projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            get_json(&projects, "projects", repository)
        })
        .await
    }

    async fn set_project_github_id(
        &self,
        project: &Project,
        github_id: u64,
    ) -> Result<bool, StoreError> {
        let project = project.clone();
        self.write(move |transaction| {
            let mut projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            let repository = project.repository.as_str();
            let Some(mut stored) = get_json::<Project>(&projects, "projects", repository)? else {
                return Ok(false);
            };
            if stored.channel != project.channel || stored.github_id.is_some() {
                return Ok(false);
            }
            stored.github_id = Some(github_id);
            projects
                .insert(repository, encode(&stored)?.as_str())
                .or_backend("projects")?;
            transaction
                .open_table(PROJECT_BY_GITHUB_ID)
                .or_backend("project_by_github_id")?
                .insert((github_id, repository), ())
                .or_backend("project_by_github_id")?;
            Ok(true)
        })
        .await
    }

    async fn move_project(
        &self,
        from: &Repository,
        to: &Repository,
        github_id: Option<u64>,
    ) -> Result<MoveOutcome, StoreError> {
        let (from, to) = (from.clone(), to.clone());
        self.write(move |transaction| {
            let mut projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            let Some(mut project) = get_json::<Project>(&projects, "projects", from.as_str())?
            else {
                return Ok(MoveOutcome::NotBound);
            };
            if let Some(existing) = get_json::<Project>(&projects, "projects", to.as_str())? {
                return Ok(MoveOutcome::Taken {
                    channel: existing.channel,
                });
            }
            let mut by_github_id = transaction
                .open_table(PROJECT_BY_GITHUB_ID)
                .or_backend("project_by_github_id")?;
            if let Some(id) = project.github_id {
                by_github_id
                    .remove((id, from.as_str()))
                    .or_backend("project_by_github_id")?;
            }
            project.repository = to.clone();
            if project.github_id.is_none() {
                project.github_id = github_id;
            }
            if let Some(id) = project.github_id {
                by_github_id
                    .insert((id, to.as_str()), ())
                    .or_backend("project_by_github_id")?;
            }
            projects.remove(from.as_str()).or_backend("projects")?;
            projects
                .insert(to.as_str(), encode(&project)?.as_str())
                .or_backend("projects")?;
            transaction
                .open_table(PROJECT_BY_CHANNEL)
                .or_backend("project_by_channel")?
                .insert(project.channel.as_str(), to.as_str())
                .or_backend("project_by_channel")?;
            Ok(MoveOutcome::Moved(Box::new(project)))
        })
        .await
    }

    async fn update_project(&self, project: &Project) -> Result<bool, StoreError> {
        let project = project.clone();
        self.write(move |transaction| {
            let mut projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            let repository = project.repository.as_str();
            let Some(mut stored) = get_json::<Project>(&projects, "projects", repository)? else {
                return Ok(false);
            };
            if stored.channel != project.channel {
                return Ok(false);
            }
            stored.channel_name = project.channel_name;
            stored.team = project.team;
            stored.settings = project.settings;
            stored.workflow = project.workflow;
            projects
                .insert(repository, encode(&stored)?.as_str())
                .or_backend("projects")?;
            Ok(true)
        })
        .await
    }

    async fn unbind_project(
        &self,
        channel: &SlackChannelId,
    ) -> Result<Option<Project>, StoreError> {
        let channel = channel.clone();
        self.write(move |transaction| {
            let mut by_channel = transaction
                .open_table(PROJECT_BY_CHANNEL)
                .or_backend("project_by_channel")?;
            let Some(repository) = by_channel
                .remove(channel.as_str())
                .or_backend("project_by_channel")?
                .map(|value| value.value().to_owned())
            else {
                return Ok(None);
            };
            let mut projects = transaction.open_table(PROJECTS).or_backend("projects")?;
            let removed = projects
                .remove(repository.as_str())
                .or_backend("projects")?
                .map(|json| json.value().to_owned());
            let removed: Option<Project> = removed
                .map(|json| decode("projects", &repository, &json))
                .transpose()?;
            if let Some(id) = removed.as_ref().and_then(|p| p.github_id) {
                transaction
                    .open_table(PROJECT_BY_GITHUB_ID)
                    .or_backend("project_by_github_id")?
                    .remove((id, repository.as_str()))
                    .or_backend("project_by_github_id")?;
            }
            Ok(removed)
        })
        .await
    }

    async fn record_unbinding(&self, record: &Unbinding) -> Result<(), StoreError> {
        let record = record.clone();
        self.write(move |transaction| {
            let mut unbindings = transaction
                .open_table(UNBINDINGS)
                .or_backend("unbindings")?;
            unbindings
                .insert(record.repository.as_str(), encode(&record)?.as_str())
                .or_backend("unbindings")?;
            Ok(())
        })
        .await
    }

    async fn last_unbinding(
        &self,
        repository: &Repository,
    ) -> Result<Option<Unbinding>, StoreError> {
        let repository = repository.clone();
        self.read(move |transaction| {
            let unbindings = transaction
                .open_table(UNBINDINGS)
                .or_backend("unbindings")?;
            get_json(&unbindings, "unbindings", repository.as_str())
        })
        .await
    }

    async fn set_team_revoked(&self, team: &SlackTeamId, revoked: bool) -> Result<(), StoreError> {
        let team = team.clone();
        self.write(move |transaction| {
            let mut revoked_teams = transaction
                .open_table(REVOKED_TEAMS)
                .or_backend("revoked_teams")?;
            if revoked {
                revoked_teams
                    .insert(team.as_str(), ())
                    .or_backend("revoked_teams")?;
            } else {
                revoked_teams
                    .remove(team.as_str())
                    .or_backend("revoked_teams")?;
            }
            Ok(())
        })
        .await
    }

    async fn is_team_revoked(&self, team: &SlackTeamId) -> Result<bool, StoreError> {
        let team = team.clone();
        self.read(move |transaction| {
            let revoked_teams = transaction
                .open_table(REVOKED_TEAMS)
                .or_backend("revoked_teams")?;
            Ok(revoked_teams
                .get(team.as_str())
                .or_backend("revoked_teams")?
                .is_some())
        })
        .await
    }
}
