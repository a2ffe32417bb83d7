//! The end-to-end tests, in one test binary: the documentation checked against the code, and
//! the whole workflow over HTTP against the local server.

mod board_browser;
mod docs;
mod local_workflow;
