//! The fake GitHub's REST API over HTTP: App authentication (JWT → installation token) and
//! the routes deploybot calls, answered from the same state as the direct port
//! implementation, with GitHub's JSON shapes, pagination (`Link` headers) and errors.

use super::{
    AcceptedAppJwt, DeploymentAnswer, DeploymentRequest, FAKE_APP_ID, Failure, FakeAnnotation,
    FakeCheckRun, FakeComment, FakeDeployment, FakeDeploymentStatus, FakeGitHub,
    INSTALLATION_TOKEN_LIFETIME_SECS, IssuedToken, TEST_ONLY_APP_PUBLIC_KEY_PEM, combined_state,
};
use crate::fakes::server::{FakeServer, SeenRequest};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use deploybot_core::{Repository, Sha, Timestamp};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

#[derive(Clone)]
struct Ctx {
    fake: FakeGitHub,
    base_url: Arc<OnceLock<String>>,
}

impl Ctx {
    fn base(&self) -> &str {
        self.base_url.get().map_or("", String::as_str)
    }
}

impl FakeGitHub {
    /// Serves this fake's state over HTTP on 127.0.0.1 until the returned server is dropped.
    /// Point the adapter's `GITHUB_API_URL` at [`FakeServer::base_url`].
    ///
    /// # Panics
    /// When no local port can be bound (a broken test machine, not a test outcome).
    pub async fn serve(&self) -> FakeServer {
        let ctx = Ctx {
            fake: self.clone(),
            base_url: Arc::new(OnceLock::new()),
        };
        let router = Router::new().fallback(handle).with_state(ctx.clone());
        let server = FakeServer::start(router)
            .await
            .expect("bind 127.0.0.1:0 for the fake GitHub");
        let _ = ctx.base_url.set(server.base_url().to_owned());
        server
    }

    /// Every HTTP request the fake received, oldest first (with headers and body).
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.lock().requests.clone()
    }
}

async fn handle(
    State(ctx): State<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = match uri.query() {
        Some(query) => format!("{method} {}?{query}", uri.path()),
        None => format!("{method} {}", uri.path()),
    };
    {
        let mut state = ctx.fake.lock();
        state
            .requests
            .push(SeenRequest::from_parts(&method, &uri, &headers, &body));
        state.calls.push(call);
    }
    let query: HashMap<String, String> =
        serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    let segments: Vec<String> = uri
        .path()
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match route(&ctx, &method, &segments, &query, &headers, &body).await {
        Ok(response) => response,
        Err(failure) => failure_response(failure),
    }
}

async fn route(
    ctx: &Ctx,
    method: &Method,
    segments: &[&str],
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Failure> {
    match (method, segments) {
        (_, ["login", "oauth", ..] | ["user"] | ["user", "repos"]) => {
            super::oauth::route(&ctx.fake, method, segments, query, headers, body)
        }
        (&Method::POST, ["settings", "apps", "new"])
        | (&Method::POST, ["organizations", _, "settings", "apps", "new"]) => {
            Ok(ctx.fake.register_from_manifest(segments, query, body))
        }
        (&Method::POST, ["app-manifests", code, "conversions"]) => {
            let app = ctx.fake.convert_manifest_code(code)?;
            Ok(json_response(StatusCode::CREATED, app))
        }
        (&Method::POST, ["app", "installations", id, "access_tokens"]) => {
            app_jwt(ctx, headers)?;
            let id: u64 = id.parse().map_err(|_| Failure::not_found())?;
            issue_token(ctx, id)
        }
        (&Method::GET, ["repos", owner, name, "installation"]) => {
            app_jwt(ctx, headers)?;
            let repository = parse_repository(owner, name)?;
            let installation_id = ctx.fake.op_installation(&repository)?;
            installation(ctx, repository.owner(), installation_id)
        }
        (&Method::GET, ["users", owner, "installation"]) => {
            app_jwt(ctx, headers)?;
            let installation_id = ctx.fake.op_owner_installation(owner)?;
            installation(ctx, owner, installation_id)
        }
        (&Method::GET, ["orgs", org, "teams", slug, "members"]) => {
            team_members(ctx, org, slug, headers).await
        }
        (_, ["repos", owner, name, rest @ ..]) => {
            let repository = parse_repository(owner, name)?;
            api(ctx, method, &repository, rest, query, headers, body).await
        }
        (_, ["repositories", id, rest @ ..]) => {
            let id: u64 = id.parse().map_err(|_| Failure::not_found())?;
            let repository = {
                let state = ctx.fake.lock();
                state
                    .repos
                    .iter()
                    .find(|(_, r)| r.id == id)
                    .map(|(name, _)| name.clone())
                    .ok_or_else(Failure::not_found)?
            };
            api(ctx, method, &repository, rest, query, headers, body).await
        }
        _ => Err(Failure::not_found()),
    }
}

/// `GET /orgs/{org}/teams/{team_slug}/members`: an installation token of the organisation,
/// then scripted faults; one page (teams in tests are small).
async fn team_members(
    ctx: &Ctx,
    org: &str,
    slug: &str,
    headers: &HeaderMap,
) -> Result<Response, Failure> {
    let bad = || Failure::new(401, "Bad credentials");
    let team = deploybot_core::approval::Team::parse(&format!("{org}/{slug}"))
        .map_err(|_| Failure::not_found())?;
    let repository = {
        let token = bearer(headers).ok_or_else(bad)?;
        let now = ctx.fake.now();
        let state = ctx.fake.lock();
        let issued = state.tokens.get(token).ok_or_else(bad)?;
        if issued.expires_at <= now {
            return Err(bad());
        }
        state
            .repos
            .iter()
            .find(|(name, repo)| {
                name.owner().eq_ignore_ascii_case(org)
                    && repo.installation_id == issued.installation_id
            })
            .map(|(name, _)| name.clone())
            .ok_or_else(Failure::not_found)?
    };
    ctx.fake.apply_faults().await?;
    let items: Vec<Value> = ctx
        .fake
        .op_team_members(&repository, &team)?
        .iter()
        .enumerate()
        .map(|(i, login)| {
            let id = 6_000_000 + i as u64;
            json!({
                "login": login.as_str(),
                "id": id,
                "node_id": format!("MDQ6VXNlcj{id}"),
                "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
                "url": format!("{}/users/{}", ctx.base(), login.as_str()),
                "html_url": format!("https://github.com/{}", login.as_str()),
                "type": "User",
                "site_admin": false
            })
        })
        .collect();
    Ok(json_response(StatusCode::OK, Value::Array(items)))
}

/// An API route: installation token first, then scripted faults, then the operation.
async fn api(
    ctx: &Ctx,
    method: &Method,
    repository: &Repository,
    rest: &[&str],
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, Failure> {
    installation_token(ctx, repository, headers)?;
    ctx.fake.apply_faults().await?;
    let fake = &ctx.fake;
    let (repo_id, full_name) = fake.repo_read(repository, |r| (r.id, repository.to_string()))?;
    let repo_base = format!("{}/repos/{full_name}", ctx.base());
    match (method, rest) {
        (&Method::GET, []) => {
            let (_, default_branch) = fake.op_repository(repository)?;
            Ok(json_response(
                StatusCode::OK,
                repository_json(ctx.base(), repository, repo_id, &default_branch),
            ))
        }
        (&Method::GET, ["collaborators"]) => {
            let items: Vec<Value> = fake
                .op_collaborators(repository)?
                .iter()
                .enumerate()
                .map(|(i, login)| {
                    let id = 5_000_000 + i as u64;
                    json!({
                        "login": login.as_str(),
                        "id": id,
                        "node_id": format!("MDQ6VXNlcj{id}"),
                        "avatar_url": format!("https://avatars.githubusercontent.com/u/{id}?v=4"),
                        "url": format!("{}/users/{}", ctx.base(), login.as_str()),
                        "html_url": format!("https://github.com/{}", login.as_str()),
                        "type": "User",
                        "site_admin": false,
                        "permissions": {"admin": false, "maintain": false, "push": true, "triage": true, "pull": true},
                        "role_name": "write"
                    })
                })
                .collect();
            Ok(paginated(ctx, repo_id, "collaborators", query, items))
        }
        (&Method::GET, ["commits", reference @ ..]) if !reference.is_empty() => {
            commit_routes(ctx, repository, repo_id, &repo_base, reference, query)
        }
        (&Method::GET, ["contents", path @ ..]) if !path.is_empty() => {
            let path = path.join("/");
            let commit = query
                .get("ref")
                .and_then(|r| Sha::parse(r).ok())
                .ok_or_else(Failure::not_found)?;
            let file = fake
                .op_file(repository, &path, &commit)?
                .ok_or_else(Failure::not_found)?;
            use base64::Engine as _;
            let encoded = base64::engine::general_purpose::STANDARD.encode(file.text.as_bytes());
            // GitHub wraps the base64 at 60 characters.
            let wrapped: Vec<&str> = encoded
                .as_bytes()
                .chunks(60)
                .filter_map(|c| std::str::from_utf8(c).ok())
                .collect();
            let name = path.rsplit('/').next().unwrap_or(&path).to_owned();
            Ok(json_response(
                StatusCode::OK,
                json!({
                    "type": "file",
                    "encoding": "base64",
                    "size": file.text.len(),
                    "name": name,
                    "path": path,
                    "content": format!("{}\n", wrapped.join("\n")),
                    "sha": file.blob,
                    "url": format!("{repo_base}/contents/{path}?ref={commit}"),
                    "git_url": format!("{repo_base}/git/blobs/{}", file.blob),
                    "html_url": format!("https://github.com/{full_name}/blob/{commit}/{path}"),
                    "download_url": format!("https://raw.githubusercontent.com/{full_name}/{commit}/{path}"),
                    "_links": {
                        "self": format!("{repo_base}/contents/{path}?ref={commit}"),
                        "git": format!("{repo_base}/git/blobs/{}", file.blob),
                        "html": format!("https://github.com/{full_name}/blob/{commit}/{path}")
                    }
                }),
            ))
        }
        (&Method::GET, ["compare", range]) => {
            let (base, head) = range.split_once("...").ok_or_else(Failure::not_found)?;
            let base = Sha::parse(base).map_err(|_| Failure::not_found())?;
            let head = Sha::parse(head).map_err(|_| Failure::not_found())?;
            let status = fake.op_compare(repository, &base, &head)?;
            let files: Vec<Value> = fake
                .op_changed_files(repository, &base, &head)?
                .into_iter()
                .map(|path| {
                    let file = fake.op_file(repository, &path, &head).ok().flatten();
                    let blob = file.as_ref().map(|f| f.blob.clone());
                    json!({
                        "sha": blob,
                        "filename": path,
                        "status": if file.is_some() { "modified" } else { "removed" },
                        "additions": 1,
                        "deletions": 1,
                        "changes": 2,
                        "blob_url": format!("https://github.com/{full_name}/blob/{head}/{path}"),
                        "raw_url": format!("https://github.com/{full_name}/raw/{head}/{path}"),
                        "contents_url": format!("{repo_base}/contents/{path}?ref={head}"),
                        "patch": "@@ -1 +1 @@"
                    })
                })
                .collect();
            let (listed, total) = fake.op_compare_commits(repository, &base, &head)?;
            let commits: Vec<Value> = listed
                .iter()
                .map(|(sha, info)| compared_commit(ctx, &repo_base, &full_name, sha, info))
                .collect();
            Ok(json_response(
                StatusCode::OK,
                json!({
                    "url": format!("{repo_base}/compare/{base}...{head}"),
                    "html_url": format!("https://github.com/{full_name}/compare/{base}...{head}"),
                    "permalink_url": format!("https://github.com/{full_name}/compare/{base}...{head}"),
                    "diff_url": format!("https://github.com/{full_name}/compare/{base}...{head}.diff"),
                    "patch_url": format!("https://github.com/{full_name}/compare/{base}...{head}.patch"),
                    "status": status,
                    "ahead_by": total,
                    "behind_by": 0,
                    "total_commits": total,
                    "commits": commits,
                    "files": files
                }),
            ))
        }
        (&Method::POST, ["check-runs"]) => {
            let request = parse_body(body)?;
            let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
            let missing = |key: &str| {
                Failure::new(
                    422,
                    format!("Invalid request.\n\n\"{key}\" wasn't supplied."),
                )
            };
            let name = text(&request, "name").ok_or_else(|| missing("name"))?;
            let head_sha = text(&request, "head_sha")
                .and_then(|s| Sha::parse(&s).ok())
                .ok_or_else(|| missing("head_sha"))?;
            let output = request.get("output").cloned().unwrap_or(Value::Null);
            let mut annotations = Vec::new();
            for a in output
                .get("annotations")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let line = |key: &str| {
                    a.get(key)
                        .and_then(Value::as_u64)
                        .ok_or_else(|| missing(key))
                };
                annotations.push(FakeAnnotation {
                    path: text(a, "path").ok_or_else(|| missing("path"))?,
                    start_line: line("start_line")?,
                    end_line: line("end_line")?,
                    annotation_level: text(a, "annotation_level")
                        .ok_or_else(|| missing("annotation_level"))?,
                    message: text(a, "message").ok_or_else(|| missing("message"))?,
                });
            }
            let run = FakeCheckRun {
                id: 0,
                name,
                head_sha,
                status: text(&request, "status").unwrap_or_else(|| "queued".to_owned()),
                conclusion: text(&request, "conclusion"),
                title: text(&output, "title"),
                summary: text(&output, "summary"),
                annotations,
            };
            let run = fake.op_create_check_run(repository, run)?;
            Ok(json_response(
                StatusCode::CREATED,
                json!({
                    "id": run.id,
                    "head_sha": run.head_sha.as_str(),
                    "node_id": format!("CR_kwDO{:010}", run.id),
                    "external_id": "",
                    "url": format!("{repo_base}/check-runs/{}", run.id),
                    "html_url": format!("https://github.com/{full_name}/runs/{}", run.id),
                    "details_url": null,
                    "status": run.status,
                    "conclusion": run.conclusion,
                    "started_at": rfc3339(fake.now()),
                    "completed_at": rfc3339(fake.now()),
                    "output": {
                        "title": run.title,
                        "summary": run.summary,
                        "text": null,
                        "annotations_count": run.annotations.len(),
                        "annotations_url": format!("{repo_base}/check-runs/{}/annotations", run.id)
                    },
                    "name": run.name,
                    "check_suite": {"id": run.id + 1_000_000},
                    "app": {"id": FAKE_APP_ID.parse::<u64>().unwrap_or(0), "slug": "deploybot", "name": "deploybot"},
                    "pull_requests": []
                }),
            ))
        }
        (&Method::GET, ["deployments"]) => {
            let items: Vec<Value> = fake
                .deployments(repository)
                .iter()
                .rev()
                .filter(|d| query.get("sha").is_none_or(|s| *s == d.sha.as_str()))
                .filter(|d| query.get("ref").is_none_or(|r| *r == d.git_ref))
                .filter(|d| query.get("environment").is_none_or(|e| *e == d.environment))
                .map(|d| deployment_json(&repo_base, d))
                .collect();
            Ok(paginated(ctx, repo_id, "deployments", query, items))
        }
        (&Method::POST, ["deployments"]) => create_deployment(fake, repository, &repo_base, body),
        (&Method::GET, ["deployments", id]) => {
            let id = parse_id(id)?;
            let deployment = fake
                .deployments(repository)
                .into_iter()
                .find(|d| d.id == id)
                .ok_or_else(Failure::not_found)?;
            Ok(json_response(
                StatusCode::OK,
                deployment_json(&repo_base, &deployment),
            ))
        }
        (&Method::POST, ["deployments", id, "statuses"]) => {
            let id = parse_id(id)?;
            let request: Value = parse_body(body)?;
            let text = |key: &str| request.get(key).and_then(Value::as_str).map(str::to_owned);
            let status = FakeDeploymentStatus {
                id: 0,
                state: text("state").ok_or_else(|| {
                    Failure::new(422, "Invalid request.\n\n\"state\" wasn't supplied.")
                })?,
                log_url: text("log_url").or_else(|| text("target_url")),
                environment_url: text("environment_url"),
                description: text("description"),
                auto_inactive: request.get("auto_inactive").and_then(Value::as_bool),
            };
            let (deployment, status) = fake.op_create_status(repository, id, status)?;
            Ok(json_response(
                StatusCode::CREATED,
                status_json(&repo_base, &deployment, &status),
            ))
        }
        (&Method::GET, ["deployments", id, "statuses"]) => {
            let id = parse_id(id)?;
            let deployment = fake
                .deployments(repository)
                .into_iter()
                .find(|d| d.id == id)
                .ok_or_else(Failure::not_found)?;
            let items = deployment
                .statuses
                .iter()
                .rev()
                .map(|s| status_json(&repo_base, &deployment, s))
                .collect();
            Ok(paginated(
                ctx,
                repo_id,
                &format!("deployments/{id}/statuses"),
                query,
                items,
            ))
        }
        (&Method::GET, ["issues", number, "comments"]) => {
            let pr = parse_id(number)?;
            let items = fake
                .op_list_comments(repository, pr)?
                .iter()
                .map(|c| comment_json(&repo_base, c))
                .collect();
            Ok(paginated(
                ctx,
                repo_id,
                &format!("issues/{pr}/comments"),
                query,
                items,
            ))
        }
        (&Method::POST, ["issues", number, "comments"]) => {
            let pr = parse_id(number)?;
            let body = comment_body(body)?;
            let comment = fake.op_create_comment(repository, pr, &body)?;
            Ok(json_response(
                StatusCode::CREATED,
                comment_json(&repo_base, &comment),
            ))
        }
        (&Method::PATCH, ["issues", "comments", id]) => {
            let id = parse_id(id)?;
            let body = comment_body(body)?;
            let comment = fake.op_edit_comment(repository, id, &body)?;
            Ok(json_response(
                StatusCode::OK,
                comment_json(&repo_base, &comment),
            ))
        }
        (_, ["actions", rest @ ..]) => {
            let actions = fake.actions().ok_or_else(Failure::not_found)?;
            actions_api(&actions, method, repository, rest, query, body)
        }
        _ => Err(Failure::not_found()),
    }
}

/// GitHub Actions' REST API over the attached runs: `POST
/// .../actions/workflows/{workflow}/dispatches` (200 with the run's id when
/// `return_run_details` is asked, 204 otherwise; 404 for a workflow the repository does not
/// have; 422 for a ref other than the default branch or an input the workflow does not
/// declare), `GET .../actions/runs/{id}`, `GET .../actions/workflows/{workflow}/runs` and
/// `POST .../actions/runs/{id}/cancel` (202; 409 once the run finished).
fn actions_api(
    actions: &crate::fakes::github_actions::FakeActions,
    method: &Method,
    repository: &Repository,
    rest: &[&str],
    query: &HashMap<String, String>,
    body: &[u8],
) -> Result<Response, Failure> {
    use crate::fakes::github_actions::DispatchRefusal;
    match (method, rest) {
        (&Method::POST, ["workflows", workflow, "dispatches"]) => {
            let body: Value = serde_json::from_slice(body)
                .map_err(|_| Failure::with_message(400, "Problems parsing JSON"))?;
            if body.get("return_run_details").is_some() && actions.refuses_run_details() {
                return Err(Failure::with_message(
                    422,
                    "Invalid request.\n\n\"return_run_details\" is not a permitted key.",
                ));
            }
            let Some(branch) = body.get("ref").and_then(Value::as_str) else {
                return Err(Failure::with_message(
                    422,
                    "Invalid request.\n\n\"ref\" wasn't supplied.",
                ));
            };
            let inputs: std::collections::BTreeMap<String, String> = body
                .get("inputs")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| {
                            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                            (k.clone(), v)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let run = actions
                .dispatch(repository, workflow, branch, inputs)
                .map_err(|refusal| match refusal {
                    DispatchRefusal::NoWorkflow => Failure::not_found(),
                    DispatchRefusal::NoRef => {
                        Failure::with_message(422, format!("No ref found for: {branch}"))
                    }
                    DispatchRefusal::UndeclaredInputs(names) => {
                        Failure::with_message(422, format!("Unexpected inputs provided: {names:?}"))
                    }
                    DispatchRefusal::Scripted(message) => Failure::with_message(422, message),
                })?;
            if body.get("return_run_details").and_then(Value::as_bool) == Some(true) {
                Ok(json_response(
                    StatusCode::OK,
                    json!({
                        "workflow_run_id": run.id,
                        "run_url": format!("https://api.github.com/repos/{repository}/actions/runs/{}", run.id),
                        "html_url": run.html_url(),
                    }),
                ))
            } else {
                Ok(StatusCode::NO_CONTENT.into_response())
            }
        }
        (&Method::GET, ["runs", id]) => {
            let run = actions
                .run(id)
                .filter(|r| &r.repository == repository)
                .ok_or_else(Failure::not_found)?;
            Ok(json_response(
                StatusCode::OK,
                crate::fakes::github_actions::run_json(&run),
            ))
        }
        (&Method::POST, ["runs", id, "cancel"]) => {
            let known = actions.run(id).filter(|r| &r.repository == repository);
            let Some(run) = known else {
                return Err(Failure::not_found());
            };
            if run.status == "completed" {
                return Err(Failure::with_message(
                    409,
                    "Cannot cancel a workflow run that is completed.",
                ));
            }
            actions.cancel(id).map_err(|_| Failure::not_found())?;
            Ok(json_response(StatusCode::ACCEPTED, json!({})))
        }
        (&Method::GET, ["workflows", workflow, "runs"]) => {
            let runs: Vec<Value> = actions
                .runs()
                .iter()
                .rev()
                .filter(|r| &r.repository == repository && r.workflow == *workflow)
                .filter(|r| query.get("branch").is_none_or(|b| *b == r.branch))
                .map(crate::fakes::github_actions::run_json)
                .collect();
            Ok(json_response(
                StatusCode::OK,
                json!({"total_count": runs.len(), "workflow_runs": runs}),
            ))
        }
        _ => Err(Failure::not_found()),
    }
}

fn commit_routes(
    ctx: &Ctx,
    repository: &Repository,
    repo_id: u64,
    repo_base: &str,
    reference: &[&str],
    query: &HashMap<String, String>,
) -> Result<Response, Failure> {
    let fake = &ctx.fake;
    match reference {
        [sha, "pulls"] => {
            let sha = Sha::parse(sha).map_err(|_| Failure::new(422, "No commit found for SHA"))?;
            let full_name = repository.as_str();
            let pulls: Vec<Value> = fake
                .op_commit_pulls(repository, &sha)?
                .into_iter()
                .map(|pr| pull_request_json(ctx, repo_base, full_name, &pr))
                .collect();
            Ok(json_response(StatusCode::OK, Value::Array(pulls)))
        }
        [r @ .., "status"] if !r.is_empty() => {
            let (sha, checks) = fake.op_commit_checks(repository, &r.join("/"))?;
            let statuses: Vec<Value> = checks
                .statuses
                .iter()
                .enumerate()
                .map(|(i, (context, state))| {
                    json!({
                        "url": format!("{repo_base}/statuses/{sha}"),
                        "avatar_url": "https://avatars.githubusercontent.com/oa/4808?v=4",
                        "id": 7_000_000 + i as u64,
                        "node_id": format!("SC_kwDO{i}"),
                        "state": state,
                        "description": format!("Your tests {state}"),
                        "target_url": format!("https://ci.example.com/{context}/{i}"),
                        "context": context,
                        "created_at": rfc3339(fake.now()),
                        "updated_at": rfc3339(fake.now())
                    })
                })
                .collect();
            Ok(json_response(
                StatusCode::OK,
                json!({
                    "state": combined_state(&checks.statuses),
                    "statuses": statuses,
                    "sha": sha.as_str(),
                    "total_count": checks.statuses.len(),
                    "repository": {"id": repo_id, "full_name": repository.as_str()},
                    "commit_url": format!("{repo_base}/commits/{sha}"),
                    "url": format!("{repo_base}/commits/{sha}/status")
                }),
            ))
        }
        [r @ .., "check-runs"] if !r.is_empty() => {
            let (sha, checks) = fake.op_commit_checks(repository, &r.join("/"))?;
            let runs: Vec<Value> = checks
                .runs
                .iter()
                .map(|run| {
                    let completed = run.status == "completed";
                    json!({
                        "id": run.id,
                        "head_sha": sha.as_str(),
                        "node_id": format!("CR_kwDO{}", run.id),
                        "external_id": "",
                        "url": format!("{repo_base}/check-runs/{}", run.id),
                        "html_url": format!("https://github.com/{}/runs/{}", repository.as_str(), run.id),
                        "details_url": format!("https://ci.example.com/runs/{}", run.id),
                        "status": run.status,
                        "conclusion": run.conclusion,
                        "started_at": rfc3339(fake.now()),
                        "completed_at": completed.then(|| rfc3339(fake.now())),
                        "output": {"title": null, "summary": null, "text": null, "annotations_count": 0},
                        "name": run.name,
                        "check_suite": {"id": run.id + 1},
                        "app": {"id": 1000, "slug": "ci", "name": "CI"},
                        "pull_requests": []
                    })
                })
                .collect();
            let total = runs.len();
            let (page, link) = paginate(
                ctx,
                repo_id,
                &format!("commits/{sha}/check-runs"),
                query,
                runs,
            );
            // GitHub wraps this list in an object.
            let response = json_response(
                StatusCode::OK,
                json!({"total_count": total, "check_runs": page}),
            );
            Ok(with_link(response, link))
        }
        [r @ .., "check-suites"] if !r.is_empty() => {
            let (sha, checks) = fake.op_commit_checks(repository, &r.join("/"))?;
            let suites: Vec<Value> = checks
                .suites
                .iter()
                .map(|s| {
                    json!({
                        "id": s.id,
                        "node_id": format!("CS_kwDO{}", s.id),
                        "head_branch": null,
                        "head_sha": sha.as_str(),
                        "status": s.status,
                        "conclusion": s.conclusion,
                        "url": format!("{repo_base}/check-suites/{}", s.id),
                        "before": null,
                        "after": sha.as_str(),
                        "pull_requests": [],
                        "app": {
                            "id": 1000 + s.id % 97,
                            "slug": s.app.to_ascii_lowercase().replace(' ', "-"),
                            "name": s.app
                        },
                        "created_at": rfc3339(fake.now()),
                        "updated_at": rfc3339(fake.now()),
                        "rerequestable": true,
                        "runs_rerequestable": true,
                        "latest_check_runs_count": s.check_runs,
                        "check_runs_url": format!("{repo_base}/check-suites/{}/check-runs", s.id)
                    })
                })
                .collect();
            let total = suites.len();
            let (page, link) = paginate(
                ctx,
                repo_id,
                &format!("commits/{sha}/check-suites"),
                query,
                suites,
            );
            // GitHub wraps this list in an object.
            let response = json_response(
                StatusCode::OK,
                json!({"total_count": total, "check_suites": page}),
            );
            Ok(with_link(response, link))
        }
        r => {
            let reference = r.join("/");
            let (sha, author, message) = fake.op_resolve(repository, &reference)?;
            let now = rfc3339(fake.now());
            let author_json = author.as_ref().map(|login| {
                json!({
                    "login": login.as_str(),
                    "id": 6_000_000,
                    "type": "User",
                    "site_admin": false,
                    "html_url": format!("https://github.com/{}", login.as_str())
                })
            });
            let person = json!({"name": "A Developer", "email": "dev@example.com", "date": now});
            Ok(json_response(
                StatusCode::OK,
                json!({
                    "sha": sha.as_str(),
                    "node_id": format!("C_kwDO{}", sha.short()),
                    "commit": {
                        "author": person,
                        "committer": person,
                        "message": message,
                        "tree": {"sha": sha.as_str(), "url": format!("{repo_base}/git/trees/{sha}")},
                        "url": format!("{repo_base}/git/commits/{sha}"),
                        "comment_count": 0,
                        "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null}
                    },
                    "url": format!("{repo_base}/commits/{sha}"),
                    "html_url": format!("https://github.com/{repository}/commit/{sha}"),
                    "comments_url": format!("{repo_base}/commits/{sha}/comments"),
                    "author": author_json,
                    "committer": author_json,
                    "parents": [],
                    "stats": {"total": 2, "additions": 1, "deletions": 1},
                    "files": []
                }),
            ))
        }
    }
}

fn create_deployment(
    fake: &FakeGitHub,
    repository: &Repository,
    repo_base: &str,
    body: &[u8],
) -> Result<Response, Failure> {
    let request: Value = parse_body(body)?;
    let git_ref = request
        .get("ref")
        .and_then(Value::as_str)
        .ok_or_else(|| Failure::new(422, "Invalid request.\n\n\"ref\" wasn't supplied."))?
        .to_owned();
    let environment = request
        .get("environment")
        .and_then(Value::as_str)
        .unwrap_or("production")
        .to_owned();
    let payload = match request.get("payload") {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(text)) => serde_json::from_str(text).unwrap_or(json!({})),
        Some(other) => other.clone(),
    };
    let required_contexts = match request.get("required_contexts") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        Some(_) => {
            return Err(Failure::new(
                422,
                "Invalid request.\n\nFor 'properties/required_contexts', it is not an array.",
            ));
        }
    };
    let production_default = environment == "production";
    let deployment_request = DeploymentRequest {
        repository: repository.clone(),
        git_ref: git_ref.clone(),
        environment,
        description: request
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_owned),
        payload,
        transient_environment: request
            .get("transient_environment")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        production_environment: request
            .get("production_environment")
            .and_then(Value::as_bool)
            .unwrap_or(production_default),
        auto_merge: request.get("auto_merge").and_then(Value::as_bool),
        required_contexts,
        task: request
            .get("task")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    match fake.op_create_deployment(deployment_request)? {
        DeploymentAnswer::Created(deployment) => Ok(json_response(
            StatusCode::CREATED,
            deployment_json(repo_base, &deployment),
        )),
        DeploymentAnswer::Merged => {
            let default_branch = fake.op_default_branch(repository)?;
            Ok(json_response(
                StatusCode::ACCEPTED,
                json!({"message": format!("Auto-merged {default_branch} into {git_ref} on deployment.")}),
            ))
        }
        DeploymentAnswer::ChecksFailed(contexts) => {
            let contexts: Vec<Value> = contexts
                .iter()
                .map(|(context, state)| json!({"context": context, "state": state}))
                .collect();
            Ok(json_response(
                StatusCode::CONFLICT,
                json!({
                    "message": format!("Conflict: Commit status checks failed for {git_ref}."),
                    "errors": [{
                        "contexts": contexts,
                        "resource": "Deployment",
                        "field": "required_contexts",
                        "code": "invalid"
                    }],
                    "documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment",
                    "status": "409"
                }),
            ))
        }
    }
}

// ---- authentication -------------------------------------------------------------------------

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .or_else(|| value.strip_prefix("token "))
        .map(str::trim)
}

/// Verifies the App JWT (RS256 with the test-only key, `iss` = the fake's app id, not
/// expired, `exp` at most 10 minutes ahead, `iat` not in the future) by the fake's clock.
fn app_jwt(ctx: &Ctx, headers: &HeaderMap) -> Result<AcceptedAppJwt, Failure> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
    let refuse = |why: &str| {
        Failure::new(
            401,
            format!("A JSON web token could not be decoded ({why})"),
        )
    };
    let token = bearer(headers).ok_or_else(|| refuse("no bearer token"))?;
    let key = DecodingKey::from_rsa_pem(TEST_ONLY_APP_PUBLIC_KEY_PEM.as_bytes())
        .map_err(|_| refuse("the fake's public key is unreadable"))?;
    let mut validation = Validation::new(Algorithm::RS256);
    // Times are checked below against the fake's clock, not the system's.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "iat", "iss"]);
    let claims = decode::<Value>(token, &key, &validation)
        .map_err(|e| refuse(&format!("signature or shape: {e}")))?
        .claims;
    let iss = match claims.get("iss") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(refuse("no iss")),
    };
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| refuse("no iat"))?;
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| refuse("no exp"))?;
    let now = ctx.fake.now().secs();
    if iss != FAKE_APP_ID {
        return Err(refuse("iss is not this app's id"));
    }
    if exp <= now {
        return Err(Failure::new(
            401,
            "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        ));
    }
    if exp > now + 600 {
        return Err(Failure::new(
            401,
            "'Expiration time' claim ('exp') is too far in the future",
        ));
    }
    if iat > now + 60 {
        return Err(Failure::new(
            401,
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        ));
    }
    let accepted = AcceptedAppJwt { iss, iat, exp };
    ctx.fake.lock().accepted_jwts.push(accepted.clone());
    Ok(accepted)
}

/// GitHub's installation object (`GET /repos/{owner}/{repo}/installation`,
/// `GET /users/{username}/installation`).
fn installation(ctx: &Ctx, owner: &str, installation_id: u64) -> Result<Response, Failure> {
    let base = ctx.base();
    let created = rfc3339(Timestamp::from_secs(1_700_000_000));
    Ok(json_response(
        StatusCode::OK,
        json!({
            "id": installation_id,
            "client_id": "Iv1.fake0000000000",
            "account": {
                "login": owner,
                "id": 9_000_000 + installation_id,
                "type": "Organization",
                "site_admin": false,
                "html_url": format!("https://github.com/{owner}")
            },
            "repository_selection": "selected",
            "access_tokens_url": format!("{base}/app/installations/{installation_id}/access_tokens"),
            "repositories_url": format!("{base}/installation/repositories"),
            "html_url": format!("https://github.com/organizations/{owner}/settings/installations/{installation_id}"),
            "app_id": FAKE_APP_ID.parse::<u64>().unwrap_or(0),
            "app_slug": "deploybot",
            "target_id": 9_000_000 + installation_id,
            "target_type": "Organization",
            "permissions": {
                "contents": "read",
                "deployments": "write",
                "issues": "write",
                "pull_requests": "write",
                "statuses": "read",
                "checks": "write",
                "metadata": "read",
                "members": "read"
            },
            "events": ["check_run", "check_suite", "deployment", "deployment_status", "pull_request", "push", "status"],
            "created_at": created,
            "updated_at": created,
            "single_file_name": null,
            "has_multiple_single_files": false,
            "single_file_paths": [],
            "suspended_by": null,
            "suspended_at": null
        }),
    ))
}

fn issue_token(ctx: &Ctx, installation_id: u64) -> Result<Response, Failure> {
    let now = ctx.fake.now();
    let expires_at = now.plus_secs(INSTALLATION_TOKEN_LIFETIME_SECS);
    let mut state = ctx.fake.lock();
    state.token_requests += 1;
    if !state
        .installations
        .values()
        .any(|id| *id == installation_id)
    {
        return Err(Failure::not_found());
    }
    let serial = state.next_id();
    let token = format!("ghs_fake{installation_id:010}x{serial:020}");
    state.tokens.insert(
        token.clone(),
        IssuedToken {
            installation_id,
            expires_at,
        },
    );
    Ok(json_response(
        StatusCode::CREATED,
        json!({
            "token": token,
            "expires_at": rfc3339(expires_at),
            "permissions": {"deployments": "write", "issues": "write", "checks": "write", "contents": "read", "metadata": "read"},
            "repository_selection": "selected"
        }),
    ))
}

/// The request must carry a live installation token of the repository's installation.
fn installation_token(
    ctx: &Ctx,
    repository: &Repository,
    headers: &HeaderMap,
) -> Result<(), Failure> {
    let bad = || Failure::new(401, "Bad credentials");
    let token = bearer(headers).ok_or_else(bad)?;
    let now = ctx.fake.now();
    let state = ctx.fake.lock();
    let issued = state.tokens.get(token).ok_or_else(bad)?;
    if issued.expires_at <= now {
        return Err(bad());
    }
    match state.repos.get(repository) {
        // An installation token of another account: GitHub refuses it.
        Some(repo) if repo.installation_id != issued.installation_id => Err(bad()),
        Some(_) => Ok(()),
        None => Err(Failure::not_found()),
    }
}

// ---- JSON shapes ----------------------------------------------------------------------------

fn repository_json(base: &str, repository: &Repository, id: u64, default_branch: &str) -> Value {
    let owner = repository.owner();
    json!({
        "id": id,
        "node_id": format!("R_kgDO{id}"),
        "name": repository.name(),
        "full_name": repository.as_str(),
        "private": true,
        "owner": {"login": owner, "id": 9_100_000, "type": "Organization", "site_admin": false},
        "html_url": format!("https://github.com/{repository}"),
        "description": "A repository in the fake GitHub",
        "fork": false,
        "url": format!("{base}/repos/{repository}"),
        "default_branch": default_branch,
        "visibility": "private",
        "archived": false,
        "disabled": false,
        "permissions": {"admin": false, "maintain": false, "push": true, "triage": true, "pull": true}
    })
}

fn deployment_json(repo_base: &str, d: &FakeDeployment) -> Value {
    json!({
        "url": format!("{repo_base}/deployments/{}", d.id),
        "id": d.id,
        "node_id": format!("DE_kwDO{}", d.id),
        "sha": d.sha.as_str(),
        "ref": d.git_ref,
        "task": "deploy",
        "payload": d.payload,
        "original_environment": d.environment,
        "environment": d.environment,
        "description": d.description,
        "creator": {"login": "deploybot[bot]", "id": 8_000_000, "type": "Bot", "site_admin": false},
        "created_at": rfc3339(d.created_at),
        "updated_at": rfc3339(d.created_at),
        "statuses_url": format!("{repo_base}/deployments/{}/statuses", d.id),
        "repository_url": repo_base,
        "transient_environment": d.transient_environment,
        "production_environment": d.production_environment
    })
}

fn status_json(repo_base: &str, d: &FakeDeployment, s: &FakeDeploymentStatus) -> Value {
    json!({
        "url": format!("{repo_base}/deployments/{}/statuses/{}", d.id, s.id),
        "id": s.id,
        "node_id": format!("DES_kwDO{}", s.id),
        "state": s.state,
        "creator": {"login": "deploybot[bot]", "id": 8_000_000, "type": "Bot", "site_admin": false},
        "description": s.description.clone().unwrap_or_default(),
        "environment": d.environment,
        "target_url": s.log_url.clone().unwrap_or_default(),
        "log_url": s.log_url.clone().unwrap_or_default(),
        "environment_url": s.environment_url.clone().unwrap_or_default(),
        "created_at": rfc3339(d.created_at),
        "updated_at": rfc3339(d.created_at),
        "deployment_url": format!("{repo_base}/deployments/{}", d.id),
        "repository_url": repo_base
    })
}

fn comment_json(repo_base: &str, c: &FakeComment) -> Value {
    json!({
        "id": c.id,
        "node_id": format!("IC_kwDO{}", c.id),
        "url": format!("{repo_base}/issues/comments/{}", c.id),
        "html_url": format!("https://github.com/pull/{}#issuecomment-{}", c.pr, c.id),
        "body": c.body,
        "user": {"login": "deploybot[bot]", "id": 8_000_000, "type": "Bot", "site_admin": false},
        "created_at": "2024-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
        "issue_url": format!("{repo_base}/issues/{}", c.pr),
        "author_association": "NONE"
    })
}

// ---- plumbing -------------------------------------------------------------------------------

fn parse_repository(owner: &str, name: &str) -> Result<Repository, Failure> {
    Repository::parse(&format!("{owner}/{name}")).map_err(|_| Failure::not_found())
}

fn parse_id(text: &str) -> Result<u64, Failure> {
    text.parse().map_err(|_| Failure::not_found())
}

fn parse_body(body: &[u8]) -> Result<Value, Failure> {
    serde_json::from_slice(body)
        .map_err(|_| Failure::new(400, "Problems parsing JSON"))
        .and_then(|v: Value| {
            if v.is_object() {
                Ok(v)
            } else {
                Err(Failure::new(400, "Problems parsing JSON"))
            }
        })
}

fn comment_body(body: &[u8]) -> Result<String, Failure> {
    parse_body(body)?
        .get("body")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| Failure::new(422, "Invalid request.\n\n\"body\" wasn't supplied."))
}

/// One page of `items` (`per_page` default 30, at most 100; `page` from 1) with GitHub's
/// `Link` header. Links point at `/repositories/{id}/...` as GitHub's often do, so clients
/// must follow them as given.
fn paginated(
    ctx: &Ctx,
    repo_id: u64,
    tail: &str,
    query: &HashMap<String, String>,
    items: Vec<Value>,
) -> Response {
    let (page, link) = paginate(ctx, repo_id, tail, query, items);
    with_link(json_response(StatusCode::OK, Value::Array(page)), link)
}

fn with_link(mut response: Response, link: Option<HeaderValue>) -> Response {
    if let Some(link) = link {
        response.headers_mut().insert("link", link);
    }
    response
}

/// One page of `items` and its `Link` header (see [`paginated`]).
fn paginate(
    ctx: &Ctx,
    repo_id: u64,
    tail: &str,
    query: &HashMap<String, String>,
    items: Vec<Value>,
) -> (Vec<Value>, Option<HeaderValue>) {
    let per_page = query
        .get("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(30)
        .clamp(1, 100);
    let page = query
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let last = items.len().div_ceil(per_page).max(1);
    let page_items: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let mut others: Vec<(&String, &String)> = query
        .iter()
        .filter(|(k, _)| k.as_str() != "page" && k.as_str() != "per_page")
        .collect();
    others.sort();
    let link_to = |n: usize| {
        let mut q = String::new();
        for (k, v) in &others {
            q.push_str(&format!("{k}={v}&"));
        }
        format!(
            "<{}/repositories/{repo_id}/{tail}?{q}per_page={per_page}&page={n}>",
            ctx.base()
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if page > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    let link = if links.is_empty() {
        None
    } else {
        HeaderValue::from_str(&links.join(", ")).ok()
    };
    (page_items, link)
}

pub(super) fn json_response(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(
        "x-github-api-version-selected",
        HeaderValue::from_static("2022-11-28"),
    );
    response
}

fn failure_response(failure: Failure) -> Response {
    let status = StatusCode::from_u16(failure.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = json_response(status, failure.body);
    let headers = response.headers_mut();
    if let Some(secs) = failure.retry_after
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        headers.insert("retry-after", value);
    }
    if let Some(reset) = failure.ratelimit_reset
        && let Ok(value) = HeaderValue::from_str(&reset.to_string())
    {
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
        headers.insert("x-ratelimit-reset", value);
    }
    response
}

fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `2024-05-01T12:00:00Z` for a timestamp (UTC, whole seconds).
pub(crate) fn rfc3339(ts: Timestamp) -> String {
    let secs = ts.secs();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// A user as GitHub embeds it in other objects (the simple-user shape).
fn simple_user(ctx: &Ctx, login: &str) -> Value {
    json!({
        "login": login,
        "id": 583_231,
        "node_id": "MDQ6VXNlcjU4MzIzMQ==",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
        "url": format!("{}/users/{login}", ctx.base()),
        "html_url": format!("https://github.com/{login}"),
        "type": "User",
        "site_admin": false
    })
}

/// One commit of a comparison, in the shape of GitHub's compare example.
fn compared_commit(
    ctx: &Ctx,
    repo_base: &str,
    full_name: &str,
    sha: &Sha,
    info: &super::CommitInfo,
) -> Value {
    let name = info.author.as_ref().map_or("Someone", |a| a.as_str());
    let person = json!({
        "name": name,
        "email": format!("{name}@example.com"),
        "date": "2011-04-14T16:00:49Z"
    });
    json!({
        "url": format!("{repo_base}/commits/{sha}"),
        "sha": sha.as_str(),
        "node_id": "MDY6Q29tbWl0NmRjYjA5YjViNTc4NzVmMzM0ZjYxYWViZWQ2OTVlMmU0MTkzZGI1ZQ==",
        "html_url": format!("https://github.com/{full_name}/commit/{sha}"),
        "comments_url": format!("{repo_base}/commits/{sha}/comments"),
        "commit": {
            "url": format!("{repo_base}/git/commits/{sha}"),
            "author": person,
            "committer": person,
            "message": info.message,
            "tree": {"url": format!("{repo_base}/tree/{sha}"), "sha": sha.as_str()},
            "comment_count": 0,
            "verification": {"verified": false, "reason": "unsigned", "signature": null, "payload": null}
        },
        "author": info.author.as_ref().map(|a| simple_user(ctx, a.as_str())),
        "committer": info.author.as_ref().map(|a| simple_user(ctx, a.as_str())),
        "parents": info.parent.as_ref().map(|p| vec![json!({
            "url": format!("{repo_base}/commits/{p}"),
            "sha": p.as_str()
        })]).unwrap_or_default()
    })
}

/// A merged pull request in the shape of GitHub's "list pull requests associated with a
/// commit" example (the fields deploybot reads, and their neighbours).
fn pull_request_json(
    ctx: &Ctx,
    repo_base: &str,
    full_name: &str,
    pr: &super::FakePullRequest,
) -> Value {
    let n = pr.number;
    json!({
        "url": format!("{repo_base}/pulls/{n}"),
        "id": 1_000_000 + n,
        "node_id": "MDExOlB1bGxSZXF1ZXN0MQ==",
        "html_url": format!("https://github.com/{full_name}/pull/{n}"),
        "diff_url": format!("https://github.com/{full_name}/pull/{n}.diff"),
        "patch_url": format!("https://github.com/{full_name}/pull/{n}.patch"),
        "issue_url": format!("{repo_base}/issues/{n}"),
        "number": n,
        "state": "closed",
        "locked": false,
        "title": pr.title,
        "user": pr.author.as_ref().map(|a| simple_user(ctx, a.as_str())),
        "body": "Please pull these awesome changes",
        "created_at": "2011-01-26T19:01:12Z",
        "updated_at": "2011-01-26T19:01:12Z",
        "closed_at": "2011-01-26T19:01:12Z",
        "merged_at": "2011-01-26T19:01:12Z",
        "merge_commit_sha": "e5bd3914e2e596debea16f433f57875b5b90bcd6",
        "draft": false,
        "author_association": "CONTRIBUTOR"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_utc() {
        assert_eq!(rfc3339(Timestamp::from_secs(0)), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(Timestamp::from_secs(1_468_275_250)),
            "2016-07-11T22:14:10Z"
        );
        assert_eq!(
            rfc3339(Timestamp::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn percent_decoding_keeps_plain_text() {
        assert_eq!(percent_decode("release%2F1.2"), "release/1.2");
        assert_eq!(percent_decode("main"), "main");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
