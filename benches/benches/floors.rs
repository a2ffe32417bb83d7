//! The per-byte floor of a large signed GitHub event, and the alternatives ADR 0009 weighed:
//! HMAC-SHA256 through `sha2` (what `deploybot_core::signature` uses) and through aws-lc-rs,
//! and the webhook's `PushEvent` parsed by `serde_json` (what the handler uses), `sonic-rs` and
//! `simd-json`, plus the validating passes that keep nothing. All on the 30 KB push of the
//! `push_30kb` benchmarks. Nothing here passes or fails on time; the figures go to
//! docs/performance.md.
//!
//! Run: `cargo bench -p deploybot-benches --features floors --bench floors`.

use criterion::{Criterion, criterion_group, criterion_main};
use deploybot_app::webhook_payloads::github::PushEvent;
use deploybot_benches::payloads::{GITHUB_SECRET, push_payload_30k};
use deploybot_core::signature::{SigningSecret, sign_github};
use serde::de::IgnoredAny;
use std::hint::black_box;
use std::time::Duration;

fn hmac(c: &mut Criterion) {
    let body = push_payload_30k();
    let secret = SigningSecret::new(GITHUB_SECRET);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, GITHUB_SECRET.as_bytes());
    let mut group = c.benchmark_group("floors/hmac_sha256_30kb");
    group.throughput(criterion::Throughput::Bytes(body.len() as u64));
    group.bench_function("sha2", |b| {
        b.iter(|| sign_github(&secret, black_box(&body)))
    });
    group.bench_function("aws_lc_rs", |b| {
        b.iter(|| aws_lc_rs::hmac::sign(&key, black_box(&body)))
    });
    group.finish();
}

fn json(c: &mut Criterion) {
    let body = push_payload_30k();
    let mut group = c.benchmark_group("floors/json_30kb");
    group.throughput(criterion::Throughput::Bytes(body.len() as u64));
    group.bench_function("serde_json_push_event", |b| {
        b.iter(|| PushEvent::parse(black_box(&body)).is_ok())
    });
    group.bench_function("serde_json_validate_only", |b| {
        b.iter(|| serde_json::from_slice::<IgnoredAny>(black_box(&body)).is_ok())
    });
    group.bench_function("sonic_rs_push_event", |b| {
        b.iter(|| sonic_rs::from_slice::<PushEvent>(black_box(&body)).is_ok())
    });
    group.bench_function("simd_json_push_event", |b| {
        // simd-json parses in place: the copy is part of what it costs.
        b.iter(|| {
            let mut copy = black_box(&body).clone();
            simd_json::serde::from_slice::<PushEvent>(&mut copy).is_ok()
        })
    });
    group.finish();
}

criterion_group! {
    name = floors;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = hmac, json
}
criterion_main!(floors);
