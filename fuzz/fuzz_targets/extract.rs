//! Feeds arbitrary bytes to `ksurf_extractor::extract_bytes`: it must return
//! `Ok` or `Err`, never panic, hang or exhaust memory.
#![no_main]

use std::path::Path;

use ksurf_extractor::{extract_bytes, IdentityOverrides};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The choice of identity inputs depends on the length only, so the ELF
    // bytes themselves are left for the mutator. One input in four goes
    // through identity detection from the banner, one in four from the
    // file name, the rest with every field overridden (so that identity
    // never masks what the parsing did).
    let all = || Some("x".to_owned());
    let (label, overrides) = match data.len() % 4 {
        0 => (Path::new("fuzz-input.elf"), IdentityOverrides::default()),
        1 => (
            Path::new("vmlinux-6.1.0-47-cloud-amd64"),
            IdentityOverrides::default(),
        ),
        _ => (
            Path::new("fuzz-input.elf"),
            IdentityOverrides {
                distro: all(),
                release: all(),
                flavor: all(),
                arch: all(),
            },
        ),
    };
    let _ = extract_bytes(label, data, &overrides);
});
