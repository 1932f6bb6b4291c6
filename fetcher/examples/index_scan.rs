//! Times discovery over a real `Packages` index (plain or compressed):
//! decode, deb822 split, kernel package recognition.
//!
//! `cargo run --release -p ksurf-fetcher --example index_scan -- <Packages[.xz|.gz|.lz4-decoded]> [debian|ubuntu]`

use std::time::Instant;

use ksurf_fetcher::index::{decode_index, discover_in_index, IndexRequest};
use ksurf_fetcher::naming::Distro;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: index_scan <Packages> [debian|ubuntu]");
    let distro = match args.next().as_deref() {
        Some("ubuntu") => Distro::Ubuntu,
        _ => Distro::Debian,
    };
    let bytes = std::fs::read(&path).expect("reading the index");
    let started = Instant::now();
    let text = decode_index(&bytes, &path).unwrap_or_else(|e| panic!("{e}"));
    let decoded = started.elapsed();
    let request = IndexRequest {
        source: "bench".into(),
        distro,
        base_url: "http://mirror.invalid".into(),
        suite: "bench".into(),
        pocket: None,
        component: "main".into(),
        arch: "amd64".into(),
        companion: false,
    };
    let paragraphs = ksurf_fetcher::control::parse(&text, &path).unwrap().len();
    let split = started.elapsed() - decoded;
    let t = Instant::now();
    let found = discover_in_index(&request, &text).unwrap_or_else(|e| panic!("{e}"));
    let discovered = t.elapsed();
    println!(
        "{} bytes in, {} bytes of text, {paragraphs} paragraphs; decode {:.3}s, split {:.3}s, discover {:.3}s; {} kernel debug packages, {} rejected",
        bytes.len(),
        text.len(),
        decoded.as_secs_f64(),
        split.as_secs_f64(),
        discovered.as_secs_f64(),
        found.candidates.len(),
        found.rejected.len()
    );
}
