//! `deploybot-ops`: operator commands run from a laptop against a deployed stack. `install`
//! takes an operator from "stack deployed" to "bot answering": it creates the Slack app from
//! the manifest, registers the GitHub App through GitHub's manifest flow, creates the CircleCI
//! webhooks, and writes every secret to SSM Parameter Store. See docs/adr/0021b-installer.md.
//!
//! None of this is linked into a Lambda function: the functions only read what it writes.

pub mod install;
pub mod manifests;
pub mod ssm;
pub mod state;

pub use install::{Asker, Browser, InstallConfig, InstallError, Installer, Printer, SecretAsk};
