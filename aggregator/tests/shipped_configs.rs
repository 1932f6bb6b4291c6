//! The group configs shipped in `configs/groups/` parse, with the groups
//! and labels they document.

use ksurf_aggregator::config;

#[test]
fn shipped_group_configs_parse() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/groups");
    let summary = |file: &str| -> Vec<String> {
        config::load(&root.join(file))
            .unwrap()
            .iter()
            .map(|g| format!("{} {} {}", g.name, g.mode.as_str(), g.label.as_str()))
            .collect()
    };
    assert_eq!(
        summary("ubuntu-depsurf-groups.toml"),
        [
            "Regular consecutive version",
            "Arch baseline arch",
            "Flavor baseline flavor",
            "Revision consecutive revision"
        ]
    );
    assert_eq!(
        summary("debian-groups.toml"),
        [
            "Regular consecutive version",
            "Arch baseline arch",
            "Flavor baseline flavor"
        ]
    );
}
