//! Inputs the fuzzer and hand-built generators found to cost gigabytes or
//! minutes (see `fuzz/README.md`); each must now end quickly with exactly
//! this outcome.

use std::path::{Path, PathBuf};

use ksurf_extractor::{extract_bytes, Extraction, IdentityOverrides};

fn run(name: &str) -> Result<Extraction, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/regressions")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let overrides = IdentityOverrides {
        distro: Some("x".into()),
        release: Some("1.0-1-x".into()),
        flavor: Some("x".into()),
        arch: Some("x".into()),
    };
    extract_bytes(Path::new(name), &bytes, &overrides).map_err(|e| e.to_string())
}

/// (units, unit errors, function names, instances) of a run that succeeds.
fn counts(x: &Extraction) -> (u32, usize, usize, usize) {
    (
        x.compile_units,
        x.unit_errors.len(),
        x.statuses.len(),
        x.entries.len(),
    )
}

#[test]
fn shared_and_overlapping_abbreviation_tables_are_parsed_once() {
    let x = run("abbrev-table-shared-by-2800-units.bin").unwrap();
    assert_eq!(counts(&x), (2800, 0, 0, 0));
    let x = run("abbrev-tables-overlapping-per-unit.bin").unwrap();
    assert_eq!(counts(&x), (2600, 0, 0, 0));
}

#[test]
fn line_programs_shared_by_many_units_are_refused_past_a_budget() {
    let x = run("line-program-shared-by-1900-units.bin").unwrap();
    assert_eq!(counts(&x), (1900, 1862, 0, 0));
    assert!(x.unit_errors.iter().all(|e| e
        .message
        .contains("the units' line programs add up to more than 4 times .debug_line")));
}

#[test]
fn implausible_compressed_sizes_are_refused() {
    assert_eq!(
        run("compressed-section-claims-8gib.bin").unwrap_err(),
        "compressed-section-claims-8gib.bin: section .debug_info: declares an uncompressed size of 8589934591 bytes for 3128 compressed bytes, a ratio over 1100:1"
    );
    assert_eq!(
        run("zstd-rle-bomb-2gb.bin").unwrap_err(),
        "zstd-rle-bomb-2gb.bin: section .debug_info: declares an uncompressed size of 1966080000 bytes for 60006 compressed bytes, a ratio over 1100:1"
    );
}

#[test]
fn huge_prototypes_are_dropped_not_rendered_per_entry() {
    let x = run("prototype-28000-params-shared-by-4000-entries.bin").unwrap();
    assert_eq!(counts(&x), (1, 0, 1, 4001));
    assert!(
        x.entries.iter().all(|e| e.signature.is_none()),
        "over 128 parameters"
    );
    // 28000 children that are not parameters: read once, not once per entry.
    let x = run("prototype-die-28000-children-shared-by-4000-entries.bin").unwrap();
    assert_eq!(counts(&x), (1, 0, 1, 4001));
    assert!(x
        .entries
        .iter()
        .all(|e| e.signature.as_ref().map(|s| s.prototype.as_str()) == Some("void g(void);")));
    let x = run("param-names-1kb-x128-shared-by-6000-entries.bin").unwrap();
    assert_eq!(counts(&x), (1, 0, 1, 6001));
    assert!(
        x.entries.iter().all(|e| e.signature.is_none()),
        "over 16 KiB each"
    );
    let x = run("return-type-5000-wide-params-3000-functions.bin").unwrap();
    assert_eq!(counts(&x), (1, 0, 1025, 3000));
    let longest = x
        .entries
        .iter()
        .filter_map(|e| e.signature.as_ref())
        .map(|s| s.prototype.len())
        .max()
        .unwrap_or(0);
    assert!(longest <= 4096 + 4, "prototype of {longest} bytes");
}

#[test]
fn type_cycles_with_fan_out_stay_linear() {
    let x = run("type-cycle-fanout-3.bin").unwrap();
    assert_eq!(counts(&x), (1, 0, 1, 1));
}
