//! deploybot-app's integration tests, in one test binary (one link instead of one per file):
//! the handlers behind `deploybot_app::http::router` and the invoked functions, on the
//! in-memory store with the fakes of Slack, GitHub and CircleCI. Each module is one area; the
//! `*_support` modules are the harnesses they share.

mod hostile_support;
mod slack_support;
mod workflow_support;

mod approvals;
mod cancel;
mod ci_actions;
mod faults_github;
mod faults_races;
mod faults_services;
mod freezes;
mod home;
mod hostile_payloads;
mod hostile_requests;
mod lanes;
mod leases;
mod locks;
mod notify;
mod observability;
mod profiles;
mod rollback;
mod rollback_preview;
mod shipping;
mod slack_command;
mod slack_event;
mod slack_interactive;
mod watchdog;
mod web;
mod workflow_checks;
mod workflow_file;
mod workflow_file_check;
mod workflow_pull_request;
mod workflow_push;
mod workflow_rename;
