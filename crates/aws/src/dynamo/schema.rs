//! The DynamoDB schema in one place: table roles and the environment variables naming them,
//! key and index attribute names, and [`TABLE_SPECS`], from which `create_tables` builds the
//! tables (and against which the SAM template can be checked). See `docs/data-model.md`.

/// The sort-key value of every guard ("claim") item in the project and user tables. Real
/// sort keys are Slack ids (upper-case letters and digits), so a value starting with `#`
/// can never clash with one.
pub const CLAIM_SORT_KEY: &str = "#claim";

/// Attribute of a claim item: the id on the other side of the one-to-one relation.
pub const CLAIMED_BY: &str = "claimed_by";

/// Attribute names and key prefixes of the project table.
pub mod project {
    /// Partition key: the repository (`owner/name`), or a `#`-prefixed guard / flag key.
    pub const PARTITION_KEY: &str = "repository";
    /// Sort key: the Slack channel id of a binding, or [`super::CLAIM_SORT_KEY`].
    pub const SORT_KEY: &str = "slack_channelid";
    /// Present only on binding items (never on guards): the channel index's key.
    pub const CHANNEL_INDEX_KEY: &str = "idx_channel";
    /// The global secondary index by channel.
    pub const CHANNEL_INDEX: &str = "by_channel";
    /// Present only on binding items that know their repository's GitHub id (N): the GitHub id
    /// index's key.
    pub const GITHUB_ID_INDEX_KEY: &str = "idx_github_id";
    /// The global secondary index by GitHub repository id (sparse).
    pub const GITHUB_ID_INDEX: &str = "by_github_id";
    /// Partition-key prefix of a channel's claim item (`#channel#C123`).
    pub const CHANNEL_CLAIM_PREFIX: &str = "#channel#";
    /// Partition-key prefix of a Slack workspace's "tokens revoked" flag item (`#team#T123`).
    pub const TEAM_FLAG_PREFIX: &str = "#team#";
    /// Sort key of a team flag item.
    pub const TEAM_FLAG_SORT_KEY: &str = "#revoked";
    /// Sort key of a repository's last-unbinding item (partition: the repository).
    pub const UNBINDING_SORT_KEY: &str = "#unbound";
}

/// Attribute names and key prefixes of the user table.
pub mod user {
    /// Partition key: the GitHub login, or a `#`-prefixed guard key.
    pub const PARTITION_KEY: &str = "github_username";
    /// Sort key: the Slack user id of a link, or [`super::CLAIM_SORT_KEY`].
    pub const SORT_KEY: &str = "slack_userid";
    /// Present only on link items (never on guards): the Slack user index's key.
    pub const SLACK_USER_INDEX_KEY: &str = "idx_slack_user";
    /// The global secondary index by Slack user.
    pub const SLACK_USER_INDEX: &str = "by_slack_user";
    /// Partition-key prefix of a Slack user's claim item (`#slack#U123`).
    pub const SLACK_CLAIM_PREFIX: &str = "#slack#";
    /// Partition-key prefix of a person's own settings item (`#person#U123`).
    pub const PERSON_PREFIX: &str = "#person#";
    /// Sort key of a person's settings item.
    pub const PERSON_SORT_KEY: &str = "#person";
    /// A person's direct-message preference (S: `all`, `failures`, `none`).
    pub const DIRECT_PREFERENCE: &str = "direct_preference";
    /// When the person's Home tab was last published (N, Unix milliseconds).
    pub const HOME_PUBLISHED_AT: &str = "home_published_at";
    /// Partition-key prefix of a channel's Home viewers (`#home#C123`; sort key: the Slack
    /// user id).
    pub const HOME_VIEWERS_PREFIX: &str = "#home#";
    /// When the person last opened a Home tab showing the channel's repository (N, Unix
    /// milliseconds).
    pub const HOME_OPENED_AT: &str = "home_opened_at";
    /// The TTL attribute (Unix **seconds**), on Home viewer items only: a viewer is kept for
    /// the day its opening counts for, so a channel's viewers partition holds the people of
    /// about the last day (DynamoDB deletes lazily; reads still filter by the opening's time).
    /// Links, claims and settings never carry it.
    pub const TTL_ATTRIBUTE: &str = "expires_at";
}

/// Attribute and index names of the deployment table. Every `idx_*` attribute exists only to
/// feed an index: it is written when its source field has a value and absent otherwise, so an
/// index never holds a stale entry.
pub mod deployment {
    /// Partition key: the repository (`owner/name`).
    pub const PARTITION_KEY: &str = "repository";
    /// Sort key: the deployment id (sorts newest first).
    pub const SORT_KEY: &str = "id";
    /// The optimistic-concurrency counter.
    pub const VERSION: &str = "version";
    /// When the deployment was created (Unix milliseconds); sort key of the waiting index.
    pub const CREATED_AT: &str = "created_at";

    /// `owner/name#<sha>`.
    pub const SHA_INDEX_KEY: &str = "idx_repository_sha";
    pub const SHA_INDEX: &str = "by_sha";
    /// `owner/name#<environment>`.
    pub const ENVIRONMENT_INDEX_KEY: &str = "idx_repository_environment";
    pub const ENVIRONMENT_INDEX: &str = "by_environment";
    /// The CI pipeline id (absent until a pipeline was started).
    pub const PIPELINE_INDEX_KEY: &str = "idx_pipeline_id";
    pub const PIPELINE_INDEX: &str = "by_pipeline_id";
    /// The GitHub deployment id, a number (absent until GitHub created the deployment).
    pub const GITHUB_DEPLOYMENT_INDEX_KEY: &str = "idx_github_deployment_id";
    pub const GITHUB_DEPLOYMENT_INDEX: &str = "by_github_deployment_id";
    /// [`WAITING_PARTITION`] while the state is `waiting_for_checks`, absent otherwise: the
    /// waiting index is sparse and holds only waiting deployments.
    pub const WAITING_INDEX_KEY: &str = "idx_waiting";
    pub const WAITING_INDEX: &str = "waiting";
    /// The one value of [`WAITING_INDEX_KEY`].
    pub const WAITING_PARTITION: &str = "waiting_for_checks";
    /// The deployment's place in its lane's line (a number); sort key of the pending index.
    pub const SEQ: &str = "seq";
    /// `owner/name#<environment>` (the lane) while the state is pending (`waiting`, `ready`,
    /// `waiting_for_checks`), absent otherwise: the pending index is sparse and holds each
    /// lane's queue only.
    pub const PENDING_INDEX_KEY: &str = "idx_lane_pending";
    pub const PENDING_INDEX: &str = "pending";
    /// `owner/name#<environment>` (the lane) once the deployment succeeded (`succeeded_at`
    /// set, kept when it becomes inactive), absent otherwise: the succeeded index is sparse
    /// and holds each lane's successes, newest first by id (a rollback's history).
    pub const SUCCEEDED_INDEX_KEY: &str = "idx_lane_succeeded";
    pub const SUCCEEDED_INDEX: &str = "succeeded";
}

/// Attribute names, sort-key prefixes and the index of the lane table. One partition per
/// repository holds three kinds of items, told apart by the sort key's prefix: each lane's
/// record, each lane's arrival counter and each lane's lock history entries.
pub mod lane {
    /// Partition key: the repository (`owner/name`).
    pub const PARTITION_KEY: &str = "repository";
    /// Sort key: [`RECORD_PREFIX`], [`SEQ_PREFIX`] or [`HISTORY_PREFIX`] and the environment.
    pub const SORT_KEY: &str = "key";
    /// `lane#<environment>`: the lane record.
    pub const RECORD_PREFIX: &str = "lane#";
    /// `seq#<environment>`: the lane's arrival counter (only [`NEXT_SEQ`]).
    pub const SEQ_PREFIX: &str = "seq#";
    /// `history#<environment>#<at, Unix milliseconds, 19 digits>#<unique suffix>`: one lock
    /// history entry.
    pub const HISTORY_PREFIX: &str = "history#";
    /// `bad#<environment>#<rollback deployment id>`: the commits one rollback took out of the
    /// lane (ids sort newest first, so the newest rollback comes first).
    pub const BAD_PREFIX: &str = "bad#";
    /// `approval#<environment>#<sha>#<workflow version>`: one approval request, whole in
    /// [`APPROVAL_REQUEST`], its [`VERSION`] beside it for the conditional save.
    pub const APPROVAL_PREFIX: &str = "approval#";
    /// The approval request item's attribute holding the request.
    pub const APPROVAL_REQUEST: &str = "request";
    /// The counter item's attribute: the last arrival number handed out.
    pub const NEXT_SEQ: &str = "next_seq";
    /// The lane record's optimistic-concurrency counter.
    pub const VERSION: &str = "version";
    /// When the watchdog is due (Unix milliseconds); sort key of the due index.
    pub const DUE_AT: &str = "due_at";
    /// [`DUE_PARTITION`] while the record has a `due_at`, absent otherwise: the due index is
    /// sparse and holds only lanes with something due.
    pub const DUE_INDEX_KEY: &str = "idx_due";
    pub const DUE_INDEX: &str = "due";
    /// The one value of [`DUE_INDEX_KEY`].
    pub const DUE_PARTITION: &str = "due";
}

/// Attribute names of the delivery table.
pub mod delivery {
    /// Partition key: the idempotency key (delivery / event id).
    pub const PARTITION_KEY: &str = "id";
    /// The TTL attribute: Unix **seconds**, rounded up, after which DynamoDB may delete the
    /// item (lazily, often hours later).
    pub const TTL_ATTRIBUTE: &str = "expires_at";
    /// The exact expiry in Unix milliseconds, which the conditional write compares, so a key
    /// whose TTL passed counts as absent whether or not DynamoDB has deleted it yet. While the
    /// key is leased this is the lease's end; once done, the end of its keep time.
    pub const EXPIRES_AT_MILLIS: &str = "expires_at_ms";
    /// `true` once the work is done; absent or `false` while the key is leased.
    pub const DONE: &str = "done";
}

/// The type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// `S`
    String,
    /// `N`
    Number,
}

impl KeyType {
    /// The DynamoDB type letter (`S`, `N`).
    pub const fn code(self) -> &'static str {
        match self {
            KeyType::String => "S",
            KeyType::Number => "N",
        }
    }
}

/// One key attribute (partition or sort key of a table or an index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAttribute {
    pub name: &'static str,
    pub kind: KeyType,
}

const fn string_key(name: &'static str) -> KeyAttribute {
    KeyAttribute {
        name,
        kind: KeyType::String,
    }
}

const fn number_key(name: &'static str) -> KeyAttribute {
    KeyAttribute {
        name,
        kind: KeyType::Number,
    }
}

/// A global secondary index. Every index projects all attributes, so a lookup is one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: &'static str,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
}

/// Which of the five tables: the store's tables as the function profiles name them.
pub use deploybot_core::profile::Table as TableRole;

/// A table's key schema, indexes and TTL ([`TABLE_SPECS`]).
pub trait TableSpecOf {
    fn spec(self) -> &'static TableSpec;
}

impl TableSpecOf for TableRole {
    fn spec(self) -> &'static TableSpec {
        match self {
            TableRole::Project => &TABLE_SPECS[0],
            TableRole::User => &TABLE_SPECS[1],
            TableRole::Deployment => &TABLE_SPECS[2],
            TableRole::Delivery => &TABLE_SPECS[3],
            TableRole::Lane => &TABLE_SPECS[4],
        }
    }
}

/// One table's key schema, indexes and TTL attribute. Billing is on demand for every table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    pub role: TableRole,
    pub partition_key: KeyAttribute,
    pub sort_key: Option<KeyAttribute>,
    pub indexes: &'static [IndexSpec],
    /// The attribute DynamoDB's TTL reads (Unix seconds), when the table expires items.
    pub ttl_attribute: Option<&'static str>,
    /// Whether the table holds what people typed (bindings, settings, links) and so deserves
    /// point-in-time recovery.
    pub point_in_time_recovery: bool,
}

/// The five tables, in [`TableRole::ALL`] order.
pub const TABLE_SPECS: [TableSpec; 5] = [
    TableSpec {
        role: TableRole::Project,
        partition_key: string_key(project::PARTITION_KEY),
        sort_key: Some(string_key(project::SORT_KEY)),
        indexes: &[
            IndexSpec {
                name: project::CHANNEL_INDEX,
                partition_key: string_key(project::CHANNEL_INDEX_KEY),
                sort_key: None,
            },
            IndexSpec {
                name: project::GITHUB_ID_INDEX,
                partition_key: number_key(project::GITHUB_ID_INDEX_KEY),
                sort_key: None,
            },
        ],
        ttl_attribute: None,
        point_in_time_recovery: true,
    },
    TableSpec {
        role: TableRole::User,
        partition_key: string_key(user::PARTITION_KEY),
        sort_key: Some(string_key(user::SORT_KEY)),
        indexes: &[IndexSpec {
            name: user::SLACK_USER_INDEX,
            partition_key: string_key(user::SLACK_USER_INDEX_KEY),
            sort_key: None,
        }],
        ttl_attribute: Some(user::TTL_ATTRIBUTE),
        point_in_time_recovery: true,
    },
    TableSpec {
        role: TableRole::Deployment,
        partition_key: string_key(deployment::PARTITION_KEY),
        sort_key: Some(string_key(deployment::SORT_KEY)),
        indexes: &[
            IndexSpec {
                name: deployment::SHA_INDEX,
                partition_key: string_key(deployment::SHA_INDEX_KEY),
                sort_key: Some(string_key(deployment::SORT_KEY)),
            },
            IndexSpec {
                name: deployment::ENVIRONMENT_INDEX,
                partition_key: string_key(deployment::ENVIRONMENT_INDEX_KEY),
                sort_key: Some(string_key(deployment::SORT_KEY)),
            },
            IndexSpec {
                name: deployment::PIPELINE_INDEX,
                partition_key: string_key(deployment::PIPELINE_INDEX_KEY),
                sort_key: None,
            },
            IndexSpec {
                name: deployment::GITHUB_DEPLOYMENT_INDEX,
                partition_key: number_key(deployment::GITHUB_DEPLOYMENT_INDEX_KEY),
                sort_key: None,
            },
            IndexSpec {
                name: deployment::WAITING_INDEX,
                partition_key: string_key(deployment::WAITING_INDEX_KEY),
                sort_key: Some(number_key(deployment::CREATED_AT)),
            },
            IndexSpec {
                name: deployment::PENDING_INDEX,
                partition_key: string_key(deployment::PENDING_INDEX_KEY),
                sort_key: Some(number_key(deployment::SEQ)),
            },
            IndexSpec {
                name: deployment::SUCCEEDED_INDEX,
                partition_key: string_key(deployment::SUCCEEDED_INDEX_KEY),
                sort_key: Some(string_key(deployment::SORT_KEY)),
            },
        ],
        ttl_attribute: None,
        point_in_time_recovery: false,
    },
    TableSpec {
        role: TableRole::Delivery,
        partition_key: string_key(delivery::PARTITION_KEY),
        sort_key: None,
        indexes: &[],
        ttl_attribute: Some(delivery::TTL_ATTRIBUTE),
        point_in_time_recovery: false,
    },
    TableSpec {
        role: TableRole::Lane,
        partition_key: string_key(lane::PARTITION_KEY),
        sort_key: Some(string_key(lane::SORT_KEY)),
        indexes: &[IndexSpec {
            name: lane::DUE_INDEX,
            partition_key: string_key(lane::DUE_INDEX_KEY),
            sort_key: Some(number_key(lane::DUE_AT)),
        }],
        ttl_attribute: None,
        point_in_time_recovery: false,
    },
];

/// Why the table names could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableNamesError {
    #[error("environment variable {variable} is not set: it names the {role} table")]
    Missing {
        variable: &'static str,
        role: TableRole,
    },
    #[error("environment variable {variable} is empty: it names the {role} table")]
    Empty {
        variable: &'static str,
        role: TableRole,
    },
}

/// The physical names of the five tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub project: String,
    pub user: String,
    pub deployment: String,
    pub delivery: String,
    pub lane: String,
}

impl TableNames {
    pub fn new(
        project: impl Into<String>,
        user: impl Into<String>,
        deployment: impl Into<String>,
        delivery: impl Into<String>,
        lane: impl Into<String>,
    ) -> Self {
        Self {
            project: project.into(),
            user: user.into(),
            deployment: deployment.into(),
            delivery: delivery.into(),
            lane: lane.into(),
        }
    }

    /// `<prefix>-project`, `<prefix>-user`, ... (tests give each run its own prefix).
    pub fn with_prefix(prefix: &str) -> Self {
        Self::new(
            format!("{prefix}-project"),
            format!("{prefix}-user"),
            format!("{prefix}-deployment"),
            format!("{prefix}-delivery"),
            format!("{prefix}-lane"),
        )
    }

    /// From `DYNAMODB_TABLE_PROJECT`, `DYNAMODB_TABLE_USER`, `DYNAMODB_TABLE_DEPLOYMENT`,
    /// `DYNAMODB_TABLE_DELIVERY` and `DYNAMODB_TABLE_LANE`; the error names the first variable
    /// missing or empty.
    pub fn from_env() -> Result<Self, TableNamesError> {
        Self::from_lookup(|variable| std::env::var(variable).ok())
    }

    /// Like [`TableNames::from_env`], reading variables through `lookup`.
    pub fn from_lookup(
        lookup: impl Fn(&'static str) -> Option<String>,
    ) -> Result<Self, TableNamesError> {
        let read = |role: TableRole| -> Result<String, TableNamesError> {
            let variable = role.env_var();
            match lookup(variable) {
                None => Err(TableNamesError::Missing { variable, role }),
                Some(value) if value.trim().is_empty() => {
                    Err(TableNamesError::Empty { variable, role })
                }
                Some(value) => Ok(value.trim().to_owned()),
            }
        };
        Ok(Self {
            project: read(TableRole::Project)?,
            user: read(TableRole::User)?,
            deployment: read(TableRole::Deployment)?,
            delivery: read(TableRole::Delivery)?,
            lane: read(TableRole::Lane)?,
        })
    }

    /// The physical name of a table.
    pub fn name(&self, role: TableRole) -> &str {
        match role {
            TableRole::Project => &self.project,
            TableRole::User => &self.user,
            TableRole::Deployment => &self.deployment,
            TableRole::Delivery => &self.delivery,
            TableRole::Lane => &self.lane,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn specs_are_in_role_order() {
        for (spec, role) in TABLE_SPECS.iter().zip(TableRole::ALL) {
            assert_eq!(spec.role, role);
            assert_eq!(role.spec().role, role);
        }
    }

    #[test]
    fn table_names_from_lookup_name_the_missing_variable() {
        let mut vars: HashMap<&str, String> = HashMap::from([
            ("DYNAMODB_TABLE_PROJECT", "p".to_owned()),
            ("DYNAMODB_TABLE_USER", "u".to_owned()),
            ("DYNAMODB_TABLE_DEPLOYMENT", "d".to_owned()),
        ]);
        let error = TableNames::from_lookup(|v| vars.get(v).cloned())
            .expect_err("delivery table is missing");
        assert_eq!(
            error,
            TableNamesError::Missing {
                variable: "DYNAMODB_TABLE_DELIVERY",
                role: TableRole::Delivery
            }
        );
        assert!(error.to_string().contains("DYNAMODB_TABLE_DELIVERY"));

        vars.insert("DYNAMODB_TABLE_DELIVERY", "  ".to_owned());
        let error = TableNames::from_lookup(|v| vars.get(v).cloned()).expect_err("empty");
        assert!(matches!(
            error,
            TableNamesError::Empty {
                variable: "DYNAMODB_TABLE_DELIVERY",
                ..
            }
        ));

        vars.insert("DYNAMODB_TABLE_DELIVERY", "x".to_owned());
        let error = TableNames::from_lookup(|v| vars.get(v).cloned()).expect_err("no lane");
        assert_eq!(
            error,
            TableNamesError::Missing {
                variable: "DYNAMODB_TABLE_LANE",
                role: TableRole::Lane
            }
        );

        vars.insert("DYNAMODB_TABLE_LANE", "l".to_owned());
        let names = TableNames::from_lookup(|v| vars.get(v).cloned()).expect("all set");
        assert_eq!(names, TableNames::new("p", "u", "d", "x", "l"));
        assert_eq!(names.name(TableRole::Deployment), "d");
        assert_eq!(names.name(TableRole::Lane), "l");
    }
}
