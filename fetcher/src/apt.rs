//! The machine's apt sources, read to find its Debian mirror for
//! `url = "apt"`: `/etc/apt/sources.list` and `sources.list.d/*.list`
//! (one-line `deb [options] URI suite components…`) and
//! `sources.list.d/*.sources` (deb822: `Types`, `URIs`, `Suites`,
//! `Enabled`). Only `deb` entries count.

use std::path::{Path, PathBuf};

use crate::{control, Error, Result};

/// Debian release code names (and aliases) that mark an apt entry as a
/// Debian archive when it does not list the wanted suite itself.
const DEBIAN_CODENAMES: &[&str] = &[
    "buster",
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "duke",
    "sid",
    "oldoldstable",
    "oldstable",
    "stable",
    "testing",
    "unstable",
];

/// One `deb` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptEntry {
    pub uri: String,
    pub suites: Vec<String>,
}

/// Every `deb` entry of the files read, in the order apt reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AptSources {
    pub entries: Vec<AptEntry>,
    /// The files read, for messages.
    pub files: Vec<PathBuf>,
}

impl AptSources {
    /// Reads the apt sources below `root` (`/` on a real machine).
    pub fn load(root: &Path) -> Result<Self> {
        let mut sources = AptSources::default();
        let main = root.join("etc/apt/sources.list");
        if main.is_file() {
            sources.add_file(&main)?;
        }
        let dir = root.join("etc/apt/sources.list.d");
        if dir.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|source| Error::Io {
                    path: dir.clone(),
                    action: "reading",
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file()
                        && matches!(
                            p.extension().and_then(|e| e.to_str()),
                            Some("list" | "sources")
                        )
                })
                .collect();
            files.sort();
            for f in files {
                sources.add_file(&f)?;
            }
        }
        Ok(sources)
    }

    fn add_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            action: "reading",
            source,
        })?;
        let label = path.display().to_string();
        let entries = if path.extension().and_then(|e| e.to_str()) == Some("sources") {
            parse_deb822(&text, &label)?
        } else {
            parse_one_line(&text, &label)?
        };
        self.entries.extend(entries);
        self.files.push(path.to_owned());
        Ok(())
    }

    /// The mirror URI (no trailing slash) to read `suite` from: an entry
    /// listing the suite; else, for `*-security`, an entry listing another
    /// Debian security suite; else an entry listing a Debian release.
    pub fn mirror_for(&self, suite: &str) -> Result<String> {
        let security = |s: &str| s.ends_with("-security") || s.ends_with("/updates");
        let debian = |s: &str| DEBIAN_CODENAMES.contains(&s.split(['-', '/']).next().unwrap_or(s));
        let found = self
            .entries
            .iter()
            .find(|e| e.suites.iter().any(|s| s == suite))
            .or_else(|| {
                self.entries.iter().find(|e| {
                    e.suites
                        .iter()
                        .any(|s| debian(s) && security(s) == security(suite))
                })
            });
        match found {
            Some(e) => Ok(e.uri.trim_end_matches('/').to_owned()),
            None => {
                Err(Error::AptSources {
                    message: format!(
                    "no apt source serves suite {suite:?} or another Debian {} suite (read: {})",
                    if security(suite) { "security" } else { "release" },
                    if self.files.is_empty() {
                        "no sources files found".to_owned()
                    } else {
                        self.files
                            .iter()
                            .map(|f| f.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
                })
            }
        }
    }
}

/// Parses the one-line format.
pub fn parse_one_line(text: &str, label: &str) -> Result<Vec<AptEntry>> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut rest = line;
        let kind = rest.split_whitespace().next().unwrap_or("");
        rest = rest[kind.len()..].trim_start();
        if kind == "deb-src" {
            continue;
        }
        if kind != "deb" {
            return Err(Error::Index {
                label: label.to_owned(),
                line: index + 1,
                message: format!("expected `deb` or `deb-src`, found {kind:?}"),
            });
        }
        if rest.starts_with('[') {
            let Some(end) = rest.find(']') else {
                return Err(Error::Index {
                    label: label.to_owned(),
                    line: index + 1,
                    message: "unclosed `[` options".to_owned(),
                });
            };
            rest = rest[end + 1..].trim_start();
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            return Err(Error::Index {
                label: label.to_owned(),
                line: index + 1,
                message: "expected `deb URI suite [components]`".to_owned(),
            });
        };
        out.push(AptEntry {
            uri: uri.to_owned(),
            suites: vec![suite.to_owned()],
        });
    }
    Ok(out)
}

/// Parses the deb822 `.sources` format.
pub fn parse_deb822(text: &str, label: &str) -> Result<Vec<AptEntry>> {
    let mut out = Vec::new();
    for p in control::parse(text, label)? {
        if p.get("Enabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("no"))
        {
            continue;
        }
        let types = p.get("Types").unwrap_or("");
        if !types.split_whitespace().any(|t| t == "deb") {
            continue;
        }
        let (Some(uris), Some(suites)) = (p.get("URIs"), p.get("Suites")) else {
            return Err(Error::Index {
                label: label.to_owned(),
                line: p.line,
                message: "a deb paragraph needs URIs and Suites".to_owned(),
            });
        };
        let suites: Vec<String> = suites.split_whitespace().map(str::to_owned).collect();
        for uri in uris.split_whitespace() {
            out.push(AptEntry {
                uri: uri.to_owned(),
                suites: suites.clone(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCES: &str = "Types: deb\n# a comment\nURIs: http://mirror.test/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb-src\nURIs: http://src.test/debian\nSuites: bookworm\n\nTypes: deb\nURIs: http://mirror.test/debian-security/\nSuites: bookworm-security\nComponents: main\n\nTypes: deb\nEnabled: no\nURIs: http://off.test/debian\nSuites: trixie\n";

    fn sources() -> AptSources {
        AptSources {
            entries: parse_deb822(SOURCES, "debian.sources").unwrap(),
            files: vec!["debian.sources".into()],
        }
    }

    #[test]
    fn deb822_entries() {
        assert_eq!(
            sources().entries,
            [
                AptEntry {
                    uri: "http://mirror.test/debian".into(),
                    suites: vec!["bookworm".into(), "bookworm-updates".into()]
                },
                AptEntry {
                    uri: "http://mirror.test/debian-security/".into(),
                    suites: vec!["bookworm-security".into()]
                },
            ]
        );
    }

    #[test]
    fn one_line_entries() {
        let text = "# comment\ndeb http://a.test/debian bookworm main\ndeb-src http://a.test/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://b.test/debian-security bookworm-security main # tail\n\n";
        assert_eq!(
            parse_one_line(text, "sources.list").unwrap(),
            [
                AptEntry {
                    uri: "http://a.test/debian".into(),
                    suites: vec!["bookworm".into()]
                },
                AptEntry {
                    uri: "http://b.test/debian-security".into(),
                    suites: vec!["bookworm-security".into()]
                },
            ]
        );
        assert_eq!(
            parse_one_line("deb http://a.test\n", "l")
                .unwrap_err()
                .to_string(),
            "l:1: expected `deb URI suite [components]`"
        );
        assert_eq!(
            parse_one_line("\ndeb [arch=amd64 http://a.test x\n", "l")
                .unwrap_err()
                .to_string(),
            "l:2: unclosed `[` options"
        );
        assert_eq!(
            parse_one_line("rpm http://a.test x\n", "l")
                .unwrap_err()
                .to_string(),
            "l:1: expected `deb` or `deb-src`, found \"rpm\""
        );
    }

    #[test]
    fn mirror_for_suites() {
        let s = sources();
        assert_eq!(
            s.mirror_for("bookworm").unwrap(),
            "http://mirror.test/debian"
        );
        assert_eq!(
            s.mirror_for("bookworm-updates").unwrap(),
            "http://mirror.test/debian"
        );
        assert_eq!(
            s.mirror_for("bookworm-security").unwrap(),
            "http://mirror.test/debian-security"
        );
        // Suites the machine does not list come from the same mirrors.
        assert_eq!(s.mirror_for("trixie").unwrap(), "http://mirror.test/debian");
        assert_eq!(
            s.mirror_for("trixie-security").unwrap(),
            "http://mirror.test/debian-security"
        );
        let only_third_party = AptSources {
            entries: parse_one_line("deb http://x.test/apt nodistro main\n", "x.list").unwrap(),
            files: vec!["x.list".into()],
        };
        assert_eq!(
            only_third_party
                .mirror_for("trixie")
                .unwrap_err()
                .to_string(),
            "no apt source serves suite \"trixie\" or another Debian release suite (read: x.list)"
        );
    }

    #[test]
    fn loads_files_below_a_root() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("etc/apt/sources.list.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("debian.sources"), SOURCES).unwrap();
        std::fs::write(d.join("other.list.disabled"), "garbage").unwrap();
        std::fs::write(
            root.path().join("etc/apt/sources.list"),
            "deb http://c.test/debian sid main\n",
        )
        .unwrap();
        let s = AptSources::load(root.path()).unwrap();
        assert_eq!(s.entries.len(), 3);
        assert_eq!(s.entries[0].uri, "http://c.test/debian");
        assert_eq!(
            s.mirror_for("bookworm").unwrap(),
            "http://mirror.test/debian"
        );
    }
}
