//! Parse + validate of a `create` body through the envelope, beside a floor: decoding the same
//! body with `form_urlencoded::parse` into a `Vec<(String, String)>`.
//!
//! Run with `cargo bench -p amp-contract --bench parse`; figures are in BENCHMARKS.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use amp_contract::envelope::{self, ApiIds, Body, DedicatedIp, Request};
use amp_contract::{Action, CreateAbuseReport, SuspendMethod};
use criterion::{Criterion, Throughput, criterion_main};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{HeaderMap, Method};

const KEY: &str = "bench-key";

fn services(_: u32) -> Option<DedicatedIp> {
    Some(DedicatedIp::None)
}

/// The page's example, as `http_build_query` sends it.
fn typical() -> String {
    let mut report = CreateAbuseReport::new(42, "High I/O");
    report.service_ip = Some("192.0.2.10".parse().unwrap());
    report.suspend_method = SuspendMethod::Timelimit;
    report.allow_unsuspend = true;
    report.additional_info = "Your service is causing high I/O load; please check it.".to_owned();
    report.admin_notes = "Reported by monitoring, ticket #4711.".to_owned();
    report.to_body()
}

/// Every field, and 64 KiB of notes: 32 KiB each of ordinary text (spaces, punctuation,
/// some non-ASCII), so the body exercises `+`, `%XX` and multi-byte UTF-8 throughout.
fn maximal() -> String {
    let line = "Load 12.5 on node-7 & disk 98% full = über-critical; see /var/log (2024).\n";
    let notes: String = line.chars().cycle().take(32 * 1024).collect();
    let mut report = CreateAbuseReport::new(2_147_483_647, "x".repeat(200) + " Hacking Attempts");
    report.service_ip = Some("2001:db8:85a3::8a2e:370:7334".parse().unwrap());
    report.suspend_method = SuspendMethod::Immediate;
    report.allow_unsuspend = true;
    report.additional_info = notes.clone();
    report.admin_notes = notes;
    report.to_body()
}

fn bench_body(c: &mut Criterion, name: &str, body: &str) {
    let mut headers = HeaderMap::new();
    headers.insert("api_id", HeaderValue::from_static(KEY));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    let credentials = ApiIds::from_list(KEY);
    // The body must be accepted, or the bench would measure an error path.
    let request = Request {
        method: &Method::POST,
        headers: &headers,
        body: Body::Complete(body.as_bytes()),
    };
    envelope::handle(&request, &credentials, &services).unwrap();

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("floor: form_urlencoded into Vec<(String, String)>", |b| {
        b.iter(|| {
            let pairs: Vec<(String, String)> = form_urlencoded::parse(black_box(body.as_bytes()))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            black_box(pairs)
        });
    });
    group.bench_function("contract: envelope::handle", |b| {
        b.iter(|| {
            let request = Request {
                method: &Method::POST,
                headers: &headers,
                body: Body::Complete(black_box(body.as_bytes())),
            };
            black_box(envelope::handle(&request, &credentials, &services))
        });
    });
    group.finish();
}

fn parse(c: &mut Criterion) {
    bench_body(c, "typical", &typical());
    bench_body(c, "maximal", &maximal());
}

/// The bench group (written out instead of `criterion_group!`, whose function has no doc).
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    parse(&mut criterion);
}

criterion_main!(benches);
