//! Replays every seed under `fuzz/seeds/<target>/`, every saved input under
//! `fuzz/corpus/<target>/` (and any crash artifact under
//! `fuzz/artifacts/<target>/`) through the target's entry point, on stable Rust: what the
//! fuzzers found stays checked even where nightly is not available.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for folder in ["seeds", "corpus", "artifacts"] {
        let dir = root.join(folder).join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let data = std::fs::read(entry.path()).expect("readable corpus file");
            run(&data);
            count += 1;
        }
    }
    count
}

#[test]
fn command_grammar() {
    assert!(replay("command_grammar", deploybot_fuzz::command_grammar) > 0);
}

#[test]
fn signatures() {
    assert!(replay("signatures", deploybot_fuzz::signatures) > 0);
}

#[test]
fn github_payloads() {
    assert!(replay("github_payloads", deploybot_fuzz::github_payloads) > 0);
}

#[test]
fn circleci_payloads() {
    assert!(replay("circleci_payloads", deploybot_fuzz::circleci_payloads) > 0);
}

#[test]
fn http_endpoints() {
    assert!(replay("http_endpoints", deploybot_fuzz::http_endpoints) > 0);
}
