//! The config kind: the build configuration of one image, one
//! [`KconfigRow`] per `CONFIG_` option. This module owns the parsing of a
//! `.config` text ([`parse`]), the reading of the copy the kernel keeps of
//! it when built with `CONFIG_IKCONFIG` ([`read_ikconfig`]) and the choice
//! between that copy and one supplied from elsewhere ([`attach`]). Finding
//! a config file or a companion package beside a debug package is the
//! caller's (the CLI's and the pipeline's, through the fetcher's unpacker).
//!
//! Text format (written by `scripts/kconfig/confdata.c`, `conf_write`):
//! one option per line, `CONFIG_<NAME>=<value>` where the value is `y`,
//! `m`, a decimal or `0x` hex number, or a double-quoted string whose `"`
//! and `\` are escaped with `\`; `# CONFIG_<NAME> is not set` for a
//! boolean or tristate left off; other lines starting with `#` are
//! comments (the header, menu titles); blank lines separate menus. When a
//! name is assigned twice the last assignment holds, as `conf_read` does.
//! This module is stricter than `conf_read` (which warns and goes on):
//! any other line, an assignment with nothing after `=`, a string without
//! its closing quote or with text after it, and text that is not UTF-8 are
//! errors naming the line, so that a config cut short is not taken whole.
//!
//! The image's own copy (`kernel/configs.c`): with `CONFIG_IKCONFIG` the
//! build gzip-compresses the `.config` (`kernel/config_data.gz`) and
//! places it in `.rodata` between the ASCII markers `IKCFG_ST` and
//! `IKCFG_ED` (the markers `scripts/extract-ikconfig` searches for; before
//! 5.1 they were part of a C array, since then of an `asm` block, with the
//! same layout). Debian's kernels are built without `CONFIG_IKCONFIG`, so
//! their config comes from a file or from the `linux-image` package's
//! `/boot/config-<release>`.
//!
//! The gzip stream is decoded with `flate2`; the decompressed text is
//! capped at [`MAX_CONFIG_SIZE`].

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use object::{Object, ObjectSection};

use crate::{Extraction, KindError};
use ksurf_dataset::DependencyKind;

/// One option of the build configuration (`kconfig` table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KconfigRow {
    /// With its `CONFIG_` prefix, e.g. `CONFIG_DEBUG_INFO_BTF`.
    pub name: String,
    /// Exactly as written after `=`, quotes and escapes of a string
    /// included (`y`, `m`, `64`, `0x1000`, `"lz4"`); `None` for
    /// `# CONFIG_<NAME> is not set`.
    pub value: Option<String>,
}

/// Where an image's config was read from (`images.config_source`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigSource {
    /// The image's own copy (`CONFIG_IKCONFIG`): `ikconfig`.
    Ikconfig,
    /// A config file, by file name: `file:<name>`.
    File(String),
    /// A companion package's `/boot/config-<release>`, by the package's
    /// file name: `package:<name>`.
    Package(String),
}

impl ConfigSource {
    /// The value of `images.config_source`.
    pub fn column(&self) -> String {
        match self {
            ConfigSource::Ikconfig => "ikconfig".to_owned(),
            ConfigSource::File(name) => format!("file:{name}"),
            ConfigSource::Package(name) => format!("package:{name}"),
        }
    }
}

/// The start and end markers around the gzip stream (`kernel/configs.c`).
pub const IKCFG_START: &[u8; 8] = b"IKCFG_ST";
pub const IKCFG_END: &[u8; 8] = b"IKCFG_ED";

/// Largest decompressed config accepted (real ones are 100 to 300 KiB).
pub const MAX_CONFIG_SIZE: u64 = 16 << 20;

const PREFIX: &str = "CONFIG_";

/// Parses a `.config` text into rows sorted by name, one per name (the
/// last assignment wins). The error names the 1-based line at fault.
pub fn parse(text: &[u8]) -> Result<Vec<KconfigRow>, String> {
    let mut options: BTreeMap<&str, Option<&str>> = BTreeMap::new();
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        let line = std::str::from_utf8(raw).map_err(|e| format!("line {n}: not UTF-8: {e}"))?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if let Some(name) = comment
                .strip_prefix(' ')
                .and_then(|c| c.strip_suffix(" is not set"))
                .filter(|name| is_option_name(name))
            {
                options.insert(name, None);
            }
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            return Err(format!(
                "line {n}: {:?} is neither CONFIG_<NAME>=<value>, \"# CONFIG_<NAME> is not set\", a comment nor blank",
                clip(line)
            ));
        };
        if !is_option_name(name) {
            return Err(format!(
                "line {n}: {:?} is not an option name (CONFIG_ followed by letters, digits and _)",
                clip(name)
            ));
        }
        check_value(value).map_err(|why| format!("line {n}: {name}: {why}"))?;
        options.insert(name, Some(value));
    }
    Ok(options
        .into_iter()
        .map(|(name, value)| KconfigRow {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        })
        .collect())
}

/// `CONFIG_` followed by at least one of `[A-Za-z0-9_]`.
fn is_option_name(name: &str) -> bool {
    name.strip_prefix(PREFIX).is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// A value is a whole quoted string, or a non-empty word without quotes
/// or white space.
fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("nothing after '='".to_owned());
    }
    let Some(body) = value.strip_prefix('"') else {
        if value.bytes().any(|b| b == b'"' || b.is_ascii_whitespace()) {
            return Err(format!(
                "value {:?} is neither a quoted string nor a single word",
                clip(value)
            ));
        }
        return Ok(());
    };
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '"' {
            let rest = &body[i + 1..];
            return if rest.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "text {:?} after the closing quote of the string",
                    clip(rest)
                ))
            };
        }
    }
    Err("string without its closing quote".to_owned())
}

/// The first 80 bytes of `s`, for messages.
fn clip(s: &str) -> String {
    crate::limits::clip(s.to_owned(), 80)
}

/// Reads the config the image carries (`CONFIG_IKCONFIG`): `Ok(None)` when
/// `.rodata` has no `IKCFG_ST` marker (or the file has no `.rodata`),
/// else the decompressed text, or an error naming the file and the
/// marker's place when the end marker is missing or the gzip stream
/// between the markers does not decode whole (cut short, corrupt, over
/// [`MAX_CONFIG_SIZE`]).
pub fn read_ikconfig(path: &Path, elf: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let p = path.display();
    let file = object::File::parse(elf).map_err(|e| format!("{p}: not a readable ELF: {e}"))?;
    let Some(rodata) = file.section_by_name(".rodata") else {
        return Ok(None);
    };
    // A .rodata without file data (SHT_NOBITS, a stripped debug file) has
    // no copy to read.
    let Ok(data) = rodata.data() else {
        return Ok(None);
    };
    let Some(start) = find(data, IKCFG_START) else {
        return Ok(None);
    };
    let begin = start + IKCFG_START.len();
    let Some(len) = find(&data[begin..], IKCFG_END) else {
        return Err(format!(
            "{p}: .rodata+{start:#x}: IKCFG_ST without IKCFG_ED after it (the config blob is cut short)"
        ));
    };
    let blob = &data[begin..begin + len];
    let mut decoder = flate2::read::GzDecoder::new(blob).take(MAX_CONFIG_SIZE + 1);
    let mut text = Vec::new();
    decoder.read_to_end(&mut text).map_err(|e| {
        format!("{p}: .rodata+{begin:#x}: the {len}-byte gzip stream between IKCFG_ST and IKCFG_ED does not decode: {e}")
    })?;
    if text.len() as u64 > MAX_CONFIG_SIZE {
        return Err(format!(
            "{p}: .rodata+{begin:#x}: the config decompresses to over {MAX_CONFIG_SIZE} bytes"
        ));
    }
    Ok(Some(text))
}

/// The offset of the first `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = needle[0];
    let mut from = 0;
    while let Some(i) = haystack[from..].iter().position(|&b| b == first) {
        let at = from + i;
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// The image's own config: its source and rows, or an error for the
/// config kind. `(None, Ok(empty))` when the image carries none.
pub(crate) fn from_image(
    path: &Path,
    elf: &[u8],
) -> (Option<ConfigSource>, Result<Vec<KconfigRow>, String>) {
    match read_ikconfig(path, elf) {
        Ok(None) => (None, Ok(Vec::new())),
        Ok(Some(text)) => (
            Some(ConfigSource::Ikconfig),
            parse(&text).map_err(|e| format!("{}: IKCONFIG: {e}", path.display())),
        ),
        Err(e) => (Some(ConfigSource::Ikconfig), Err(e)),
    }
}

/// Gives `x` the config `text` read from `source` (named `label` in
/// errors), unless the image already has one (its own copy comes first):
/// returns whether it was used. Rows go to `x.kconfig`; a text that does
/// not parse leaves them empty and adds a config [`KindError`].
pub fn attach(x: &mut Extraction, source: ConfigSource, label: &str, text: &[u8]) -> bool {
    if x.config_source.is_some() {
        return false;
    }
    x.config_source = Some(source);
    match parse(text) {
        Ok(rows) => x.kconfig = rows,
        Err(e) => {
            x.kconfig = Vec::new();
            x.kind_errors.push(KindError {
                kind: DependencyKind::Config,
                message: format!("{label}: {e}"),
            });
        }
    }
    true
}

/// Records that the config of `x` could not be read from `source` at all
/// (an unreadable file, a companion package that does not unpack): a
/// config [`KindError`] with `message`, unless the image has its own.
pub fn attach_error(x: &mut Extraction, source: ConfigSource, message: String) -> bool {
    if x.config_source.is_some() {
        return false;
    }
    x.config_source = Some(source);
    x.kconfig = Vec::new();
    x.kind_errors.push(KindError {
        kind: DependencyKind::Config,
        message,
    });
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, value: Option<&str>) -> KconfigRow {
        KconfigRow {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        }
    }

    #[test]
    fn parses_every_value_form_sorted_by_name() {
        let text = b"#\n\
# Automatically generated file; DO NOT EDIT.\n\
# Linux/x86 6.1.158 Kernel Configuration\n\
#\n\
CONFIG_CC_VERSION_TEXT=\"gcc-12 (Debian 12.2.0-14) 12.2.0\"\n\
CONFIG_64BIT=y\n\
\n\
# General setup\n\
CONFIG_EXT4_FS=m\n\
CONFIG_LOG_BUF_SHIFT=17\n\
CONFIG_ILLEGAL_POINTER_VALUE=0xdead000000000000\n\
CONFIG_CMDLINE=\"say \\\"hi\\\" \\\\ bye\"\n\
CONFIG_EMPTY=\"\"\n\
# CONFIG_DEBUG_INFO_BTF is not set\n\
CONFIG_PANIC_TIMEOUT=-1\n";
        assert_eq!(
            parse(text).unwrap(),
            vec![
                row("CONFIG_64BIT", Some("y")),
                row(
                    "CONFIG_CC_VERSION_TEXT",
                    Some("\"gcc-12 (Debian 12.2.0-14) 12.2.0\"")
                ),
                row("CONFIG_CMDLINE", Some(r#""say \"hi\" \\ bye""#)),
                row("CONFIG_DEBUG_INFO_BTF", None),
                row("CONFIG_EMPTY", Some("\"\"")),
                row("CONFIG_EXT4_FS", Some("m")),
                row("CONFIG_ILLEGAL_POINTER_VALUE", Some("0xdead000000000000")),
                row("CONFIG_LOG_BUF_SHIFT", Some("17")),
                row("CONFIG_PANIC_TIMEOUT", Some("-1")),
            ]
        );
    }

    #[test]
    fn the_last_assignment_wins() {
        let text = b"CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_A=m\nCONFIG_B=y\nCONFIG_C=y\n# CONFIG_C is not set\n";
        assert_eq!(
            parse(text).unwrap(),
            vec![
                row("CONFIG_A", Some("m")),
                row("CONFIG_B", Some("y")),
                row("CONFIG_C", None),
            ]
        );
    }

    #[test]
    fn an_empty_text_has_no_options() {
        assert_eq!(parse(b"").unwrap(), vec![]);
        assert_eq!(parse(b"\n\n# only comments\n   \n").unwrap(), vec![]);
    }

    #[test]
    fn crlf_line_ends_and_a_missing_last_newline_are_accepted() {
        assert_eq!(
            parse(b"CONFIG_A=y\r\n# CONFIG_B is not set\r\nCONFIG_C=\"x\"").unwrap(),
            vec![
                row("CONFIG_A", Some("y")),
                row("CONFIG_B", None),
                row("CONFIG_C", Some("\"x\"")),
            ]
        );
    }

    #[test]
    fn comments_that_look_almost_like_not_set_are_comments() {
        assert_eq!(
            parse(b"#CONFIG_A is not set\n# CONFIG_B is not set.\n# FOO is not set\n").unwrap(),
            vec![]
        );
    }

    #[test]
    fn a_malformed_line_is_an_error_naming_its_line() {
        let cases: [(&[u8], &str); 8] = [
            (
                b"CONFIG_A=y\n\nCONFIG_B\n",
                "line 3: \"CONFIG_B\" is neither CONFIG_<NAME>=<value>",
            ),
            (
                b"CONFIG_A=y\nCONFIG_B=\n",
                "line 2: CONFIG_B: nothing after '='",
            ),
            (
                b"# c\nCONFIG_S=\"cut sho",
                "line 2: CONFIG_S: string without its closing quote",
            ),
            (
                b"CONFIG_S=\"ends with an escaped quote\\\"\n",
                "line 1: CONFIG_S: string without its closing quote",
            ),
            (
                b"CONFIG_S=\"a\" b\n",
                "line 1: CONFIG_S: text \" b\" after the closing quote",
            ),
            (
                b"CONFIG_V=two words\n",
                "line 1: CONFIG_V: value \"two words\" is neither",
            ),
            (b"X_A=y\n", "line 1: \"X_A\" is not an option name"),
            (b"CONFIG_=y\n", "line 1: \"CONFIG_\" is not an option name"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.starts_with(want), "{err:?} should start with {want:?}");
        }
        let err = parse(b"CONFIG_A=y\nCONFIG_B=\"\xff\"\n").unwrap_err();
        assert!(err.starts_with("line 2: not UTF-8"), "{err}");
    }

    #[test]
    fn sources_name_themselves_in_the_images_column() {
        assert_eq!(ConfigSource::Ikconfig.column(), "ikconfig");
        assert_eq!(
            ConfigSource::File("config-6.1.0-57-amd64".into()).column(),
            "file:config-6.1.0-57-amd64"
        );
        assert_eq!(
            ConfigSource::Package("linux-image-6.1.0-57-amd64_6.1.158-1_amd64.deb".into()).column(),
            "package:linux-image-6.1.0-57-amd64_6.1.158-1_amd64.deb"
        );
    }

    #[test]
    fn finds_the_first_marker() {
        assert_eq!(find(b"xxIKCFG_IKCFG_STyy", IKCFG_START), Some(8));
        assert_eq!(find(b"IKCFG_S", IKCFG_START), None);
        assert_eq!(find(b"", IKCFG_START), None);
    }
}
