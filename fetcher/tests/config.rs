//! Config validation: every mistake is reported with the file, the
//! `[[source]]` and the key, exactly as asserted here.

use std::path::Path;

use ksurf_fetcher::config::{
    resolve_companion_url, resolve_env_url, Pocket, RevisionPolicy, SourceKind, UrlSetting,
};
use ksurf_fetcher::FetchConfig;

const GOOD: &str = "[[source]]\nname = \"u\"\nkind = \"ubuntu\"\nurl = \"env:DDEBS\"\nseries = [\"focal\"]\narches = [\"amd64\"]\n";

fn error(text: &str) -> String {
    FetchConfig::parse(text, "c.toml").unwrap_err().to_string()
}

#[test]
fn shipped_configs_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    for name in [
        "ubuntu-depsurf.toml",
        "ubuntu.toml",
        "ubuntu-fleet.toml",
        "debian.toml",
        "debian-local.toml",
    ] {
        FetchConfig::load(&dir.join(name)).unwrap();
    }
    // The fleet walks `linux` and every `linux-*` source package of every
    // series since 16.04, on every arch, pocket and revision.
    let fleet = FetchConfig::load(&dir.join("ubuntu-fleet.toml")).unwrap();
    let s = &fleet.sources[0];
    assert_eq!(s.launchpad_sources, ["linux", "linux-*"]);
    assert_eq!(s.series().first().copied(), Some("xenial"));
    assert_eq!(s.series().len(), 20);
    assert_eq!(s.selectors.arches.len(), 7);
    assert_eq!(s.revision, RevisionPolicy::All);
    assert_eq!(
        s.pockets(),
        [Pocket::Release, Pocket::Security, Pocket::Updates]
    );
}

#[test]
fn defaults_and_other_crates_keys() {
    let text =
        format!("[run]\nthreads = 2\n\n{GOOD}\n[[group]]\nname = \"lts\"\nimages = [\"a\"]\n");
    let c = FetchConfig::parse(&text, "c.toml").unwrap();
    let s = &c.sources[0];
    assert_eq!(
        (s.kind, s.revision),
        (SourceKind::Ubuntu, RevisionPolicy::All)
    );
    assert_eq!(s.url, Some(UrlSetting::Env("DDEBS".into())));
    assert_eq!(s.components, ["main"]);
    assert_eq!(
        s.pockets(),
        [Pocket::Release, Pocket::Security, Pocket::Updates]
    );
    assert_eq!(
        s.suites.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["focal", "focal-security", "focal-updates"]
    );
}

#[test]
fn every_mistake_has_its_message() {
    let cases: Vec<(String, &str)> = vec![
        ("[[source]\n".into(), "c.toml: line 1: unclosed array table, expected `]`"),
        ("run = 1\n".into(), "c.toml: no [[source]] table"),
        (GOOD.replace("arches", "arch"), "c.toml: line 6: unknown field `arch`, expected one of `name`, `kind`, `url`, `path`, `series`, `pockets`, `suites`, `components`, `arches`, `flavors`, `versions`, `releases`, `revision`, `keyring`, `launchpad_sources`, `companion_url`, `companion_keyring`, `modules`, `btf_from_dwarf`"),
        (GOOD.replace("kind = \"ubuntu\"\n", ""), "c.toml: line 1: missing field `kind`"),
        (GOOD.replace("\"ubuntu\"", "\"ubunt\""), "c.toml: line 3: unknown variant `ubunt`, expected one of `ubuntu`, `debian`, `launchpad`, `local`"),
        (GOOD.to_owned() + "revision = \"newest\"\n", "c.toml: line 7: unknown variant `newest`, expected one of `first`, `latest`, `all`"),
        (GOOD.to_owned() + "pockets = [\"backports\"]\n", "c.toml: line 7: unknown variant `backports`, expected one of `release`, `updates`, `security`, `proposed`"),
        (GOOD.replace("[\"amd64\"]", "[\"amd46\"]"), "c.toml: [[source]] #1 (\"u\"): arches: unknown architecture \"amd46\" (known: amd64, arm64, armel, armhf, i386, loong64, mips64el, mipsel, powerpc, ppc64, ppc64el, riscv64, s390x)"),
        (GOOD.replace("arches = [\"amd64\"]\n", ""), "c.toml: [[source]] #1 (\"u\"): arches: missing (list the architectures to fetch, e.g. [\"amd64\"])"),
        (GOOD.replace("[\"amd64\"]", "[]"), "c.toml: [[source]] #1 (\"u\"): arches: empty list"),
        (GOOD.to_owned() + "flavors = [\"gen[\"]\n", "c.toml: [[source]] #1 (\"u\"): flavors: bad pattern \"gen[\": invalid range pattern"),
        (GOOD.to_owned() + "versions = [\"**x\"]\n", "c.toml: [[source]] #1 (\"u\"): versions: bad pattern \"**x\": recursive wildcards must form a single path component"),
        (GOOD.replace("url = \"env:DDEBS\"\n", ""), "c.toml: [[source]] #1 (\"u\"): url: missing"),
        (GOOD.replace("env:DDEBS", "apt"), "c.toml: [[source]] #1 (\"u\"): url: \"apt\" names the machine's Debian mirror, only for kind \"debian\" sources (kind is \"ubuntu\")"),
        (GOOD.replace("env:DDEBS", "env:"), "c.toml: [[source]] #1 (\"u\"): url: \"env:\" does not name an environment variable (env:NAME, NAME of [A-Za-z0-9_])"),
        (GOOD.replace("env:DDEBS", "ftp://x"), "c.toml: [[source]] #1 (\"u\"): url: \"ftp://x\" is not \"apt\", \"env:NAME\" or an http(s) URL"),
        (GOOD.replace("series = [\"focal\"]\n", ""), "c.toml: [[source]] #1 (\"u\"): series: missing"),
        (GOOD.replace("\"focal\"", "\"../focal\""), "c.toml: [[source]] #1 (\"u\"): series: \"../focal\" is not a valid name"),
        (GOOD.to_owned() + "suites = [\"focal\"]\n", "c.toml: [[source]] #1 (\"u\"): suites: not a key of kind \"ubuntu\" sources (use series and pockets)"),
        (GOOD.to_owned() + "path = \"x\"\n", "c.toml: [[source]] #1 (\"u\"): path: not a key of kind \"ubuntu\" sources"),
        (GOOD.to_owned() + "launchpad_sources = [\"linux\"]\n", "c.toml: [[source]] #1 (\"u\"): launchpad_sources: not a key of kind \"ubuntu\" sources"),
        (GOOD.replace("\"ubuntu\"", "\"launchpad\"") + "keyring = \"k.gpg\"\n", "c.toml: [[source]] #1 (\"u\"): keyring: not a key of kind \"launchpad\" sources"),
        (GOOD.replace("\"ubuntu\"", "\"launchpad\"") + "components = [\"main\"]\n", "c.toml: [[source]] #1 (\"u\"): components: not a key of kind \"launchpad\" sources"),
        (GOOD.replace("\"ubuntu\"", "\"debian\""), "c.toml: [[source]] #1 (\"u\"): series: not a key of kind \"debian\" sources (list full suite names in suites)"),
        ("[[source]]\nname = \"d\"\nkind = \"debian\"\nurl = \"apt\"\narches = [\"amd64\"]\n".into(), "c.toml: [[source]] #1 (\"d\"): suites: missing"),
        ("[[source]]\nname = \"l\"\nkind = \"local\"\n".into(), "c.toml: [[source]] #1 (\"l\"): path: missing (the directory holding the packages)"),
        ("[[source]]\nname = \"l\"\nkind = \"local\"\npath = \"d\"\nurl = \"apt\"\n".into(), "c.toml: [[source]] #1 (\"l\"): url: not a key of kind \"local\" sources"),
        ("[[source]]\nname = \"l\"\nkind = \"local\"\npath = \"d\"\nseries = [\"focal\"]\n".into(), "c.toml: [[source]] #1 (\"l\"): series: not a key of kind \"local\" sources"),
        (GOOD.replace("name = \"u\"", "name = \"\""), "c.toml: [[source]] #1 (\"\"): name: empty"),
        (GOOD.to_owned() + "companion_url = \"apt\"\ncompanion_keyring = \"k.gpg\"\n", "c.toml: [[source]] #1 (\"u\"): companion_url: \"apt\" names the machine's Debian mirror, only for kind \"debian\" sources (kind is \"ubuntu\")"),
        (GOOD.to_owned() + "companion_url = \"env:1X\"\n", "c.toml: [[source]] #1 (\"u\"): companion_url: \"env:1X\" does not name an environment variable (env:NAME, NAME of [A-Za-z0-9_])"),
        (GOOD.to_owned() + "companion_url = \"env:ARCHIVE\"\n", "c.toml: [[source]] #1 (\"u\"): companion_keyring: missing (the keyring that verifies the companion archive's Release signature)"),
        (GOOD.to_owned() + "companion_keyring = \"k.gpg\"\n", "c.toml: [[source]] #1 (\"u\"): companion_keyring: given without companion_url"),
        ("[[source]]\nname = \"d\"\nkind = \"debian\"\nurl = \"apt\"\nsuites = [\"bookworm\"]\narches = [\"amd64\"]\ncompanion_url = \"https://a.test\"\n".into(), "c.toml: [[source]] #1 (\"d\"): companion_url: not a key of kind \"debian\" sources"),
        (GOOD.replace("\"ubuntu\"", "\"launchpad\"") + "companion_keyring = \"k.gpg\"\n", "c.toml: [[source]] #1 (\"u\"): companion_keyring: not a key of kind \"launchpad\" sources"),
        (format!("{GOOD}{GOOD}"), "c.toml: [[source]] #2 (\"u\"): name: another [[source]] is already called \"u\""),
    ];
    for (text, message) in cases {
        assert_eq!(error(&text), message, "{text}");
    }
}

#[test]
fn unreadable_file() {
    assert_eq!(
        FetchConfig::load(Path::new("/nonexistent/x.toml"))
            .unwrap_err()
            .to_string(),
        "/nonexistent/x.toml: No such file or directory (os error 2)"
    );
}

#[test]
fn url_from_the_environment() {
    let c = FetchConfig::parse(GOOD, "c.toml").unwrap();
    let s = &c.sources[0];
    assert_eq!(
        resolve_env_url("c.toml", s, &|_| None)
            .unwrap_err()
            .to_string(),
        "c.toml: [[source]] \"u\": url: environment variable DDEBS is not set"
    );
    assert_eq!(
        resolve_env_url("c.toml", s, &|_| Some("not a url".into())).unwrap_err().to_string(),
        "c.toml: [[source]] \"u\": url: environment variable DDEBS holds \"not a url\", not an http(s) URL"
    );
    assert_eq!(
        resolve_env_url("c.toml", s, &|_| Some(" https://ddebs.test/ \n".into())).unwrap(),
        Some("https://ddebs.test".into())
    );
}

#[test]
fn companion_url_from_the_environment() {
    let text = GOOD.to_owned() + "companion_url = \"env:ARCHIVE\"\ncompanion_keyring = \"a.gpg\"\n";
    let c = FetchConfig::parse(&text, "c.toml").unwrap();
    let s = &c.sources[0];
    assert_eq!(s.companion_url, Some(UrlSetting::Env("ARCHIVE".into())));
    assert_eq!(s.companion_keyring.as_deref(), Some(Path::new("a.gpg")));
    assert_eq!(
        resolve_companion_url("c.toml", s, &|_| None)
            .unwrap_err()
            .to_string(),
        "c.toml: [[source]] \"u\": companion_url: environment variable ARCHIVE is not set"
    );
    assert_eq!(
        resolve_companion_url("c.toml", s, &|v| (v == "ARCHIVE")
            .then(|| "http://a.test/ubuntu/".into()))
        .unwrap(),
        Some("http://a.test/ubuntu".into())
    );
    let plain = FetchConfig::parse(GOOD, "c.toml").unwrap();
    assert_eq!(
        resolve_companion_url("c.toml", &plain.sources[0], &|_| None).unwrap(),
        None
    );
}

#[test]
fn modules_key() {
    // Absent: modules are unpacked.
    let c = FetchConfig::parse(GOOD, "c.toml").unwrap();
    assert!(c.sources[0].modules);
    for (value, expected) in [("false", false), ("true", true)] {
        let text = format!("{GOOD}modules = {value}\n");
        let c = FetchConfig::parse(&text, "c.toml").unwrap();
        assert_eq!(c.sources[0].modules, expected, "{value}");
    }
    // A local source takes it too.
    let local = "[[source]]\nname = \"l\"\nkind = \"local\"\npath = \"d\"\nmodules = false\n";
    assert!(!FetchConfig::parse(local, "c.toml").unwrap().sources[0].modules);
    for (value, expected) in [
        (
            "\"no\"",
            "c.toml: [[source]] #1 (\"u\"): modules: expected true or false, not the string \"no\"",
        ),
        (
            "0",
            "c.toml: [[source]] #1 (\"u\"): modules: expected true or false, not the integer 0",
        ),
        (
            "[true]",
            "c.toml: [[source]] #1 (\"u\"): modules: expected true or false, not the array [true]",
        ),
    ] {
        assert_eq!(error(&format!("{GOOD}modules = {value}\n")), expected);
    }
    // The DepSurf-compatible config turns them off on every source (DepSurf
    // covers the vmlinux only); every other shipped config on.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    for (name, sources, modules) in [
        ("ubuntu-depsurf.toml", 4, false),
        ("debian.toml", 1, true),
        ("debian-local.toml", 1, true),
        ("ubuntu.toml", 1, true),
        ("ubuntu-fleet.toml", 1, true),
    ] {
        let config = FetchConfig::load(&dir.join(name)).unwrap();
        assert_eq!(config.sources.len(), sources, "{name}");
        assert!(
            config.sources.iter().all(|s| s.modules == modules),
            "{name}"
        );
    }
}

#[test]
fn launchpad_sources_are_names_or_prefixes() {
    let lp = "[[source]]\nname = \"lp\"\nkind = \"launchpad\"\nurl = \"env:LP\"\nseries = [\"focal\"]\narches = [\"amd64\"]\n";
    let c = FetchConfig::parse(
        &format!("{lp}launchpad_sources = [\"linux\", \"linux-*\"]\n"),
        "c.toml",
    )
    .unwrap();
    assert_eq!(c.sources[0].launchpad_sources, ["linux", "linux-*"]);
    for bad in ["*", "linux-*-aws", "linux/*", "linux**"] {
        assert_eq!(
            error(&format!("{lp}launchpad_sources = [\"{bad}\"]\n")),
            format!("c.toml: [[source]] #1 (\"lp\"): launchpad_sources: {bad:?} is neither a source package name nor a prefix ending in `*`"),
        );
    }
}

#[test]
fn btf_from_dwarf_key() {
    // Absent: only a vmlinux's own .BTF is stored.
    let c = FetchConfig::parse(GOOD, "c.toml").unwrap();
    assert!(!c.sources[0].btf_from_dwarf);
    for (value, expected) in [("false", false), ("true", true)] {
        let text = format!("{GOOD}btf_from_dwarf = {value}\n");
        let c = FetchConfig::parse(&text, "c.toml").unwrap();
        assert_eq!(c.sources[0].btf_from_dwarf, expected, "{value}");
    }
    assert_eq!(
        error(&format!("{GOOD}btf_from_dwarf = \"yes\"\n")),
        "c.toml: [[source]] #1 (\"u\"): btf_from_dwarf: expected true or false, not the string \"yes\""
    );
    // Every shipped config asks for it on every source.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    for name in [
        "ubuntu-depsurf.toml",
        "debian.toml",
        "debian-local.toml",
        "ubuntu.toml",
        "ubuntu-fleet.toml",
    ] {
        let config = FetchConfig::load(&dir.join(name)).unwrap();
        assert!(config.sources.iter().all(|s| s.btf_from_dwarf), "{name}");
    }
}
