//! "What's shipping": a comparison's commits with the pull requests GitHub associates with
//! them (`GET /repos/{owner}/{repo}/commits/{sha}/pulls`, asked for the newest
//! [`MAX_LINES`] commits at once; the caller's time budget bounds the whole).

use super::{GitHubClient, wire};
use crate::http::Idempotency;
use deploybot_core::ports::GitHubError;
use deploybot_core::shipping::{Comparison, MAX_LINES, ShippedCommit, ShippedPullRequest};
use deploybot_core::{GithubLogin, Repository, Sha};
use reqwest::{Method, StatusCode};

/// The comparison `base...head` from GitHub's listing, with each of the newest commits'
/// pull requests (the merged ones when there are any; a commit GitHub knows no pull request for has none).
pub(super) async fn comparison(
    client: &GitHubClient,
    repository: &Repository,
    base: &Sha,
    head: &Sha,
    listed: wire::ComparisonCommits,
) -> Result<Comparison, GitHubError> {
    let mut commits = Vec::with_capacity(listed.commits.len());
    for c in listed.commits {
        let sha = Sha::parse(&c.sha)
            .map_err(|e| GitHubError::InvalidResponse(format!("compared commit sha: {e}")))?;
        commits.push(ShippedCommit {
            sha,
            title: c
                .commit
                .message
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned(),
            author: c
                .author
                .and_then(|account| GithubLogin::parse(&account.login).ok()),
            pull_requests: Vec::new(),
        });
    }
    let newest = commits.len().saturating_sub(MAX_LINES);
    let asked = futures_util::future::join_all(
        commits[newest..]
            .iter()
            .map(|c| associated(client, repository, &c.sha)),
    )
    .await;
    let mut pull_requests: Vec<ShippedPullRequest> = Vec::new();
    for (commit, answer) in commits[newest..].iter_mut().zip(asked) {
        for pr in answer? {
            commit.pull_requests.push(pr.number);
            if !pull_requests.iter().any(|p| p.number == pr.number) {
                pull_requests.push(pr);
            }
        }
    }
    Ok(Comparison {
        base: base.clone(),
        head: head.clone(),
        url: listed.html_url,
        total_commits: listed.total_commits.max(commits.len() as u64),
        commits,
        pull_requests,
    })
}

/// The pull requests GitHub associates with one commit (only the merged ones when any is).
async fn associated(
    client: &GitHubClient,
    repository: &Repository,
    sha: &Sha,
) -> Result<Vec<ShippedPullRequest>, GitHubError> {
    let url = client.repo_url(repository, &["commits", sha.as_str(), "pulls"]);
    let answer = client
        .call(repository, Idempotency::Idempotent, Method::GET, &url, None)
        .await?;
    match answer.status {
        StatusCode::OK => {}
        // GitHub answers 422 for a commit no branch holds: it has no pull request.
        StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY => return Ok(Vec::new()),
        _ => {
            return Err(answer.refused(&format!(
                "pull requests of commit {} in {repository}",
                sha.short()
            )));
        }
    }
    let mut prs: Vec<wire::AssociatedPullRequest> = answer.json()?;
    // A commit on the default branch is also in every open pull request branched from it:
    // the merged pull requests are the ones that brought it.
    if prs.iter().any(|p| p.merged_at.is_some()) {
        prs.retain(|p| p.merged_at.is_some());
    }
    Ok(prs
        .into_iter()
        .map(|p| ShippedPullRequest {
            number: p.number,
            title: p.title,
            url: p.html_url,
            author: p
                .user
                .and_then(|account| GithubLogin::parse(&account.login).ok()),
        })
        .collect())
}
