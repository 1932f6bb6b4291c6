//! The config kind on the `fixtures/kconfig/` ELFs: a build configuration
//! kept in `.rodata` between `IKCFG_ST` and `IKCFG_ED` (`CONFIG_IKCONFIG`),
//! whole and with its gzip stream cut short; and a config given from
//! outside ([`kconfig::attach`]) after the image's own.

use std::path::PathBuf;

use ksurf_dataset::{DependencyKind, TableName};
use ksurf_extractor::kconfig::{self, ConfigSource, KconfigRow};
use ksurf_extractor::{extract, tables, IdentityOverrides};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kconfig")
        .join(name)
}

fn rows(x: &[KconfigRow]) -> Vec<String> {
    x.iter()
        .map(|r| format!("{}={}", r.name, r.value.as_deref().unwrap_or("<not set>")))
        .collect()
}

/// The rows of `fixtures/kconfig/config`, by hand: sorted, one per name,
/// `CONFIG_DEBUG_INFO_BTF` set by its later line.
const EXPECTED: [&str; 11] = [
    "CONFIG_CC_IS_GCC=y",
    "CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"",
    "CONFIG_CMDLINE=\"console=ttyS0 quiet \\\"x\\\"\"",
    "CONFIG_DEBUG_INFO_BTF=y",
    "CONFIG_DEFAULT_HOSTNAME=\"(none)\"",
    "CONFIG_EXT4_FS=m",
    "CONFIG_IKCONFIG=y",
    "CONFIG_IKCONFIG_PROC=y",
    "CONFIG_ILLEGAL_POINTER_VALUE=0xdead000000000000",
    "CONFIG_LOCALVERSION=\"\"",
    "CONFIG_LOG_BUF_SHIFT=17",
];

fn expected() -> Vec<String> {
    EXPECTED.iter().map(|r| r.to_string()).collect()
}

#[test]
fn the_images_own_config_is_read_from_rodata() {
    let x = extract(&fixture("ikconfig.elf"), &IdentityOverrides::default()).unwrap();
    assert_eq!(x.kind_errors, vec![]);
    assert_eq!(x.config_source, Some(ConfigSource::Ikconfig));
    assert_eq!(rows(&x.kconfig), expected());
    // The parser agrees with the text the blob was made from.
    let text = std::fs::read(fixture("config")).unwrap();
    assert_eq!(kconfig::parse(&text).unwrap(), x.kconfig);

    let batches = tables::image_tables(&x).unwrap();
    let (_, kconfig) = batches
        .iter()
        .find(|(t, _)| *t == TableName::Kconfig)
        .unwrap();
    assert_eq!(kconfig.num_rows(), 11);
    let (_, images) = batches
        .iter()
        .find(|(t, _)| *t == TableName::Images)
        .unwrap();
    let options = images
        .column_by_name("kconfig_options")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::UInt32Array>()
        .unwrap();
    assert_eq!(options.value(0), 11);
    let source = images
        .column_by_name("config_source")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .unwrap();
    assert_eq!(source.value(0), "ikconfig");
}

#[test]
fn a_file_given_from_outside_does_not_replace_the_images_own() {
    let mut x = extract(&fixture("ikconfig.elf"), &IdentityOverrides::default()).unwrap();
    let used = kconfig::attach(
        &mut x,
        ConfigSource::File("config-other".into()),
        "config-other",
        b"CONFIG_OTHER=y\n",
    );
    assert!(!used);
    assert_eq!(x.config_source, Some(ConfigSource::Ikconfig));
    assert_eq!(rows(&x.kconfig), expected());
}

#[test]
fn a_truncated_gzip_stream_is_a_config_error_and_the_other_tables_stay() {
    let path = fixture("ikconfig-truncated.elf");
    let x = extract(&path, &IdentityOverrides::default()).unwrap();
    let whole = extract(&fixture("ikconfig.elf"), &IdentityOverrides::default()).unwrap();
    assert_eq!(x.kconfig, vec![]);
    assert_eq!(x.config_source, Some(ConfigSource::Ikconfig));
    assert_eq!(x.kind_errors.len(), 1, "{:?}", x.kind_errors);
    let e = &x.kind_errors[0];
    assert_eq!(e.kind, DependencyKind::Config);
    assert!(
        e.message
            .starts_with(&format!("{}: .rodata+0x", path.display()))
            && e.message
                .contains("gzip stream between IKCFG_ST and IKCFG_ED does not decode"),
        "{}",
        e.message
    );
    // The functions and symbols are those of the whole build.
    let names = |x: &ksurf_extractor::Extraction| -> Vec<String> {
        x.statuses.iter().map(|s| s.name.clone()).collect()
    };
    assert_eq!(names(&x), names(&whole));
    assert!(names(&x).contains(&"ikconfig_size".to_owned()));
    assert_eq!(x.symbols.len(), whole.symbols.len());
    assert_eq!(x.unit_errors, vec![]);
    // Its tables are written all the same, the kind error in `images`.
    let batches = tables::image_tables(&x).unwrap();
    assert_eq!(batches.len(), TableName::ALL.len());
}

#[test]
fn an_image_without_ikconfig_has_no_config_until_one_is_attached() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kfuncs/kfuncs.elf");
    let mut x = extract(&path, &IdentityOverrides::default()).unwrap();
    assert_eq!(x.config_source, None);
    assert_eq!(x.kconfig, vec![]);
    assert!(x
        .kind_errors
        .iter()
        .all(|e| e.kind != DependencyKind::Config));
    let text = std::fs::read(fixture("config")).unwrap();
    assert!(kconfig::attach(
        &mut x,
        ConfigSource::File("config".into()),
        "config",
        &text
    ));
    assert_eq!(x.config_source, Some(ConfigSource::File("config".into())));
    assert_eq!(rows(&x.kconfig), expected());

    // A malformed one: a config error naming the file and line, no rows.
    let mut y = extract(&path, &IdentityOverrides::default()).unwrap();
    assert!(kconfig::attach(
        &mut y,
        ConfigSource::File("config-bad".into()),
        "config-bad",
        b"CONFIG_A=y\nCONFIG_B=\"cut",
    ));
    assert_eq!(y.kconfig, vec![]);
    let errors: Vec<_> = y
        .kind_errors
        .iter()
        .filter(|e| e.kind == DependencyKind::Config)
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        errors,
        ["config-bad: line 2: CONFIG_B: string without its closing quote"]
    );
}
