//! Function profiles: for each of the functions, exactly what it is given — its route, the
//! tables it reads and writes, the secrets it loads, the outside clients it builds, the
//! functions it invokes and its time limit. One table ([`PROFILES`]) that the Lambda bootstrap,
//! the local server, the demo and the test harnesses all build a function's state from
//! (`deploybot_app::wiring`), and that `template.yaml` is checked against, so a function that
//! strays outside its profile fails in a local test as it would on AWS.

use crate::invoke::FunctionName;
use std::fmt;

/// One of the store's tables (one DynamoDB table each; one role port each in
/// [`crate::ports`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Channel ↔ repository bindings, their settings, revoked Slack workspaces.
    Project,
    /// GitHub login ↔ Slack user links.
    User,
    /// Deployment records.
    Deployment,
    /// Idempotency keys (deliveries, retried invokes).
    Delivery,
    /// Lanes: each environment's slot, lock, watchdog due time and lock history.
    Lane,
}

impl Table {
    pub const ALL: [Table; 5] = [
        Table::Project,
        Table::User,
        Table::Deployment,
        Table::Delivery,
        Table::Lane,
    ];

    /// Lower-case name (`project`, `user`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Table::Project => "project",
            Table::User => "user",
            Table::Deployment => "deployment",
            Table::Delivery => "delivery",
            Table::Lane => "lane",
        }
    }

    /// The environment variable that names this table on AWS (`DYNAMODB_TABLE_PROJECT`, ...).
    pub const fn env_var(self) -> &'static str {
        match self {
            Table::Project => "DYNAMODB_TABLE_PROJECT",
            Table::User => "DYNAMODB_TABLE_USER",
            Table::Deployment => "DYNAMODB_TABLE_DEPLOYMENT",
            Table::Delivery => "DYNAMODB_TABLE_DELIVERY",
            Table::Lane => "DYNAMODB_TABLE_LANE",
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The names of the secrets a function may load (each a plain variable locally, an SSM
/// parameter or Secrets Manager secret on AWS).
pub mod secret {
    /// Slack request signing secret (`slack-command`, `slack-interactive`, `slack-event`).
    pub const SLACK_SIGNING_SECRET: &str = "SLACK_SIGNING_SECRET";
    /// Slack bot token, `xoxb-...` (`slack-message`).
    pub const SLACK_BOT_TOKEN: &str = "SLACK_BOT_TOKEN";
    /// GitHub webhook secret (`github-webhook`).
    pub const GITHUB_WEBHOOK_SECRET: &str = "GITHUB_WEBHOOK_SECRET";
    /// The GitHub App's private key, PEM (the functions that call GitHub).
    pub const GITHUB_APP_PRIVATE_KEY: &str = "GITHUB_APP_PRIVATE_KEY";
    /// The GitHub App's id, kept in SSM beside its key so that no stack parameter can lose
    /// it (the functions that call GitHub). Not secret, but read like one.
    pub const GITHUB_APP_ID: &str = "GITHUB_APP_ID";
    /// CircleCI API token (the functions with the CI client; optional: an installation that
    /// deploys only with GitHub Actions has none).
    pub const CIRCLECI_TOKEN: &str = "CIRCLECI_TOKEN";
    /// CircleCI webhook signing secret (`circleci-webhook`).
    pub const CIRCLECI_WEBHOOK_SECRET: &str = "CIRCLECI_WEBHOOK_SECRET";
    /// Shared token for CircleCI's legacy `notify` payloads (`circleci-webhook`, optional).
    pub const CIRCLECI_NOTIFY_TOKEN: &str = "CIRCLECI_NOTIFY_TOKEN";
    /// The GitHub App's client id, for signing people in to the board (`web`). Not secret,
    /// but read like one, beside the App's id.
    pub const GITHUB_APP_CLIENT_ID: &str = "GITHUB_APP_CLIENT_ID";
    /// The GitHub App's client secret (`web`): exchanges a sign-in's code for the person's
    /// token, and keys the board's session cookies.
    pub const GITHUB_APP_CLIENT_SECRET: &str = "GITHUB_APP_CLIENT_SECRET";

    /// Every secret name.
    pub const ALL: [&str; 10] = [
        SLACK_SIGNING_SECRET,
        SLACK_BOT_TOKEN,
        GITHUB_WEBHOOK_SECRET,
        GITHUB_APP_PRIVATE_KEY,
        GITHUB_APP_ID,
        CIRCLECI_TOKEN,
        CIRCLECI_WEBHOOK_SECRET,
        CIRCLECI_NOTIFY_TOKEN,
        GITHUB_APP_CLIENT_ID,
        GITHUB_APP_CLIENT_SECRET,
    ];
}

/// The outside services a function talks to (besides the store and other functions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clients {
    pub slack: bool,
    pub github: bool,
    pub ci: bool,
    /// GitHub on a person's behalf (the board's sign-in: OAuth and the person's own token).
    pub github_user: bool,
}

/// An outside client, by name (for error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Slack,
    GitHub,
    Ci,
    GitHubUser,
}

impl Client {
    pub const fn as_str(self) -> &'static str {
        match self {
            Client::Slack => "Slack client",
            Client::GitHub => "GitHub client",
            Client::Ci => "CI client",
            Client::GitHubUser => "GitHub sign-in client",
        }
    }
}

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Clients {
    /// Whether `client` is in the set.
    pub const fn has(self, client: Client) -> bool {
        match client {
            Client::Slack => self.slack,
            Client::GitHub => self.github,
            Client::Ci => self.ci,
            Client::GitHubUser => self.github_user,
        }
    }
}

/// Everything one function is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionProfile {
    pub function: FunctionName,
    /// `POST` route on the HTTP API, for the five HTTP functions.
    pub route: Option<&'static str>,
    pub tables: &'static [Table],
    /// Secrets the function cannot start without.
    pub secrets: &'static [&'static str],
    /// Secrets used when configured.
    pub optional_secrets: &'static [&'static str],
    pub clients: Clients,
    /// Functions it invokes (each gets a `FUNCTION_<NAME>` variable and invoke permission).
    pub invokes: &'static [FunctionName],
    /// Its time limit on Lambda (`Timeout` in `template.yaml`, checked by a test).
    pub timeout_secs: u32,
}

impl FunctionProfile {
    /// Every secret the function may load.
    pub fn all_secrets(&self) -> impl Iterator<Item = &'static str> {
        self.secrets.iter().chain(self.optional_secrets).copied()
    }

    /// The method of its HTTP routes: `GET` for the board, `POST` for the webhooks.
    pub fn http_method(&self) -> &'static str {
        if self.function == FunctionName::Web {
            "GET"
        } else {
            "POST"
        }
    }

    pub fn has_table(&self, table: Table) -> bool {
        self.tables.contains(&table)
    }

    pub fn may_invoke(&self, function: FunctionName) -> bool {
        self.invokes.contains(&function)
    }

    /// How long an idempotency claim of this function is held before another attempt may take
    /// it over: three times the function's time limit, so a claim is never taken from an
    /// attempt that is still running, and a killed attempt's claim frees itself.
    pub fn lease_secs(&self) -> i64 {
        i64::from(self.timeout_secs) * 3
    }

    /// One line saying what the profile grants, for error messages:
    /// `tables project, deployment; clients GitHub; invokes slack-message`.
    pub fn describe(&self) -> String {
        let tables = join(self.tables.iter().map(|t| t.as_str()));
        let clients = join(
            [
                Client::Slack,
                Client::GitHub,
                Client::Ci,
                Client::GitHubUser,
            ]
            .into_iter()
            .filter(|c| self.clients.has(*c))
            .map(|c| match c {
                Client::Slack => "Slack",
                Client::GitHub => "GitHub",
                Client::Ci => "CI",
                Client::GitHubUser => "GitHub sign-in",
            }),
        );
        let invokes = join(self.invokes.iter().map(|f| f.as_str()));
        format!("tables {tables}; clients {clients}; invokes {invokes}")
    }

    /// The sentence for a handler that reached `what` outside this profile.
    pub fn outside(&self, what: &str) -> String {
        format!(
            "{} reached {what}, which is outside its profile ({})",
            self.function,
            self.describe()
        )
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<&str> = items.collect();
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

use FunctionName as F;
use Table as T;

const ALL_TABLES: &[Table] = &[T::Project, T::User, T::Deployment, T::Delivery, T::Lane];
const NO_CLIENTS: Clients = Clients {
    slack: false,
    github: false,
    ci: false,
    github_user: false,
};
/// `Timeout` of the HTTP functions (the template's global default).
const HTTP_TIMEOUT_SECS: u32 = 15;
/// `Timeout` of the invoked functions.
const INVOKED_TIMEOUT_SECS: u32 = 60;

/// The board's `GET` routes (the `web` function; axum's path syntax, as API Gateway's).
pub const WEB_ROUTES: [&str; 7] = [
    "/",
    "/board.css",
    "/signin",
    "/signin/callback",
    "/signout",
    "/repos/{owner}/{name}",
    "/repos/{owner}/{name}/deployments/{id}",
];

/// The functions' profiles, in [`FunctionName::ALL`] order.
pub const PROFILES: [FunctionProfile; 11] = [
    FunctionProfile {
        function: F::SlackCommand,
        route: Some("/slack/command"),
        tables: &[T::Project, T::User, T::Deployment, T::Lane],
        secrets: &[secret::SLACK_SIGNING_SECRET],
        optional_secrets: &[],
        clients: NO_CLIENTS,
        invokes: &[F::SlackMessage, F::GithubDeploymentCreate],
        timeout_secs: HTTP_TIMEOUT_SECS,
    },
    FunctionProfile {
        function: F::SlackInteractive,
        route: Some("/slack/interactive"),
        tables: ALL_TABLES,
        // The GitHub App: whether whoever pressed Approve is in a team an approval rule
        // names (team membership is GitHub's answer, asked when they press).
        secrets: &[
            secret::SLACK_SIGNING_SECRET,
            secret::GITHUB_APP_PRIVATE_KEY,
            secret::GITHUB_APP_ID,
        ],
        optional_secrets: &[],
        clients: Clients {
            github: true,
            ..NO_CLIENTS
        },
        // github-collaborators: the options of a claim offer's type-ahead select
        // (`block_suggestion`), answered while Slack waits.
        invokes: &[
            F::SlackMessage,
            F::GithubDeploymentCreate,
            F::GithubCollaborators,
        ],
        timeout_secs: HTTP_TIMEOUT_SECS,
    },
    FunctionProfile {
        function: F::SlackEvent,
        route: Some("/slack/event"),
        tables: &[T::Project, T::User, T::Delivery],
        secrets: &[secret::SLACK_SIGNING_SECRET],
        optional_secrets: &[],
        clients: NO_CLIENTS,
        invokes: &[F::SlackMessage],
        timeout_secs: HTTP_TIMEOUT_SECS,
    },
    FunctionProfile {
        function: F::SlackMessage,
        route: None,
        // delivery: a mirror channel or user group that cannot be reached is told once
        // (docs/notifications.md); lane: the Home tab's grid (locks, queues).
        tables: &[T::Project, T::User, T::Deployment, T::Delivery, T::Lane],
        secrets: &[secret::SLACK_BOT_TOKEN],
        optional_secrets: &[],
        clients: Clients {
            slack: true,
            ..NO_CLIENTS
        },
        invokes: &[F::GithubCollaborators],
        timeout_secs: INVOKED_TIMEOUT_SECS,
    },
    FunctionProfile {
        function: F::GithubWebhook,
        route: Some("/github/webhook"),
        tables: &[T::Project, T::Deployment, T::Delivery],
        secrets: &[secret::GITHUB_WEBHOOK_SECRET],
        optional_secrets: &[],
        clients: NO_CLIENTS,
        invokes: &[
            F::SlackMessage,
            F::GithubDeploymentCreate,
            F::GithubDeploymentStatus,
            F::CircleciTrigger,
        ],
        timeout_secs: HTTP_TIMEOUT_SECS,
    },
    FunctionProfile {
        function: F::GithubCollaborators,
        route: None,
        tables: &[],
        secrets: &[secret::GITHUB_APP_PRIVATE_KEY, secret::GITHUB_APP_ID],
        optional_secrets: &[],
        clients: Clients {
            github: true,
            ..NO_CLIENTS
        },
        invokes: &[],
        timeout_secs: INVOKED_TIMEOUT_SECS,
    },
    FunctionProfile {
        function: F::GithubDeploymentCreate,
        route: None,
        // The user table (read only): who asked for a deployment that needs approval.
        tables: &[T::Project, T::User, T::Deployment, T::Delivery, T::Lane],
        secrets: &[secret::GITHUB_APP_PRIVATE_KEY, secret::GITHUB_APP_ID],
        optional_secrets: &[secret::CIRCLECI_TOKEN],
        clients: Clients {
            github: true,
            ci: true,
            ..NO_CLIENTS
        },
        invokes: &[
            F::SlackMessage,
            F::GithubDeploymentStatus,
            F::CircleciTrigger,
        ],
        timeout_secs: INVOKED_TIMEOUT_SECS,
    },
    FunctionProfile {
        function: F::GithubDeploymentStatus,
        route: None,
        // project: the lane's gates (the workflow file's freeze windows) when a finished
        // deployment lets the next one go.
        tables: &[T::Project, T::Deployment, T::Lane],
        secrets: &[secret::GITHUB_APP_PRIVATE_KEY, secret::GITHUB_APP_ID],
        optional_secrets: &[secret::CIRCLECI_TOKEN],
        clients: Clients {
            github: true,
            ci: true,
            ..NO_CLIENTS
        },
        invokes: &[F::SlackMessage, F::GithubDeploymentCreate],
        timeout_secs: INVOKED_TIMEOUT_SECS,
    },
    FunctionProfile {
        function: F::CircleciTrigger,
        route: None,
        tables: &[T::Deployment, T::Delivery],
        secrets: &[secret::GITHUB_APP_PRIVATE_KEY, secret::GITHUB_APP_ID],
        optional_secrets: &[secret::CIRCLECI_TOKEN],
        clients: Clients {
            github: true,
            ci: true,
            ..NO_CLIENTS
        },
        invokes: &[F::SlackMessage, F::GithubDeploymentStatus],
        timeout_secs: INVOKED_TIMEOUT_SECS,
    },
    FunctionProfile {
        function: F::CircleciWebhook,
        route: Some("/circleci/webhook"),
        tables: &[T::Deployment, T::Delivery],
        secrets: &[secret::CIRCLECI_WEBHOOK_SECRET],
        optional_secrets: &[secret::CIRCLECI_NOTIFY_TOKEN],
        clients: NO_CLIENTS,
        invokes: &[F::GithubDeploymentStatus],
        timeout_secs: HTTP_TIMEOUT_SECS,
    },
    FunctionProfile {
        function: F::Web,
        // `GET`, at every path of [`WEB_ROUTES`]; `/` stands for them.
        route: Some("/"),
        // Read only: projects by repository, lanes and deployments by key and index, and the
        // user table to name who did what by their GitHub login.
        tables: &[T::Project, T::User, T::Deployment, T::Lane],
        secrets: &[
            secret::GITHUB_APP_CLIENT_ID,
            secret::GITHUB_APP_CLIENT_SECRET,
        ],
        optional_secrets: &[],
        clients: Clients {
            github_user: true,
            ..NO_CLIENTS
        },
        invokes: &[],
        timeout_secs: HTTP_TIMEOUT_SECS,
    },
];

/// What `function` is given.
pub fn profile(function: FunctionName) -> &'static FunctionProfile {
    let index = FunctionName::ALL
        .iter()
        .position(|f| *f == function)
        .unwrap_or_default();
    &PROFILES[index]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn profiles_are_in_function_order_and_complete() {
        for (index, function) in FunctionName::ALL.into_iter().enumerate() {
            assert_eq!(PROFILES[index].function, function);
            assert_eq!(profile(function).function, function);
        }
    }

    #[test]
    fn exactly_the_six_http_functions_have_routes() {
        let routes: HashSet<_> = PROFILES.iter().filter_map(|p| p.route).collect();
        assert_eq!(
            routes,
            HashSet::from([
                "/slack/command",
                "/slack/interactive",
                "/slack/event",
                "/github/webhook",
                "/circleci/webhook",
                "/",
            ])
        );
        assert_eq!(profile(F::Web).http_method(), "GET");
        assert_eq!(profile(F::SlackEvent).http_method(), "POST");
    }

    #[test]
    fn only_invoked_functions_are_invoke_targets() {
        for p in &PROFILES {
            for target in p.invokes {
                assert!(
                    profile(*target).route.is_none(),
                    "{} invokes the HTTP function {target}",
                    p.function
                );
                assert_ne!(*target, p.function, "{} invokes itself", p.function);
            }
        }
    }

    #[test]
    fn secrets_are_known_names() {
        for p in &PROFILES {
            for name in p.all_secrets() {
                assert!(secret::ALL.contains(&name), "{}: {name}", p.function);
            }
        }
    }

    #[test]
    fn an_outside_reach_names_the_function_the_profile_and_the_target() {
        let p = profile(F::CircleciWebhook);
        assert_eq!(
            p.outside("the user table"),
            "circleci-webhook reached the user table, which is outside its profile \
             (tables deployment, delivery; clients none; invokes github-deployment-status)"
        );
        assert_eq!(
            profile(F::GithubCollaborators).describe(),
            "tables none; clients GitHub; invokes none"
        );
    }

    #[test]
    fn leases_outlast_the_time_limit() {
        for p in &PROFILES {
            assert!(p.lease_secs() > i64::from(p.timeout_secs), "{}", p.function);
        }
    }
}
