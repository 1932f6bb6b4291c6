//! Exact kfunc and LSM hook rows of the `fixtures/kfuncs/` ELF.

use std::path::PathBuf;

use ksurf_extractor::{extract, kfuncs, lsm_hooks, IdentityOverrides};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kfuncs/kfuncs.elf")
}

#[test]
fn kfunc_rows() {
    let path = fixture();
    let x = extract(&path, &IdentityOverrides::default()).unwrap();
    let data = std::fs::read(&path).unwrap();
    let rows = kfuncs::extract(&path, &data, &x.entries).unwrap();
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} | {} | {:?} | {:?} | {:?}",
                r.name,
                r.signature.as_ref().map_or("-", |s| s.prototype.as_str()),
                r.sets,
                r.flags,
                r.flag_bits
            )
        })
        .collect();
    assert_eq!(got, ["TODO",]);
}

#[test]
fn lsm_hook_rows() {
    let path = fixture();
    let x = extract(&path, &IdentityOverrides::default()).unwrap();
    let data = std::fs::read(&path).unwrap();
    let rows = lsm_hooks::extract(&path, &data, &x.entries, &x.types).unwrap();
    let got: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} | {} | {:?} | {} | {:?}",
                r.name,
                r.signature.as_ref().map_or("-", |s| s.prototype.as_str()),
                r.signature_source.map(|s| s.as_str()),
                r.bpf_lsm,
                r.signature.as_ref().map(|s| &s.params)
            )
        })
        .collect();
    assert_eq!(got, ["TODO",]);
}
