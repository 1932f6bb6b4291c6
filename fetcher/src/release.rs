//! The top of apt's chain of trust: an archive keyring (binary or
//! ASCII-armored OpenPGP keys), the OpenPGP signature of a suite's Release
//! file (inline in `InRelease`, or detached in `Release.gpg`) checked
//! against it, and the signed Release file itself: its dates, checked as apt
//! checks them, and its SHA-256 list of index files.
//!
//! A signature is accepted when it verifies with a key of the keyring
//! (primary key or a subkey whose binding to it verifies) and uses SHA-256 or
//! stronger; MD5, SHA-1 and RIPEMD-160 signatures are refused, as apt does.
//! Only the signed text is parsed; nothing outside the signature is trusted.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use pgp::composed::{
    CleartextSignedMessage, Deserializable, DetachedSignature, SignedPublicKey, SignedPublicSubKey,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::Signature;
use pgp::types::KeyDetails;

use crate::error::{Error, Result};

/// Clock skew tolerated on a Release file's `Date` (apt refuses a Release
/// file dated in the future).
const MAX_FUTURE_SECONDS: i64 = 60;

/// The OpenPGP keys a Release signature may be made with.
pub struct Keyring {
    path: PathBuf,
    keys: Vec<SignedPublicKey>,
}

impl Keyring {
    /// Reads a keyring file: binary OpenPGP packets (as in
    /// `/usr/share/keyrings/*.gpg`) or ASCII armor (`.asc`). Keys that do not
    /// parse (e.g. algorithms this implementation lacks) are skipped with a
    /// warning; a file with no usable key is an error.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::Keyring {
            path: path.to_owned(),
            message: format!("cannot read: {e}"),
        })?;
        Self::from_bytes(path, &bytes)
    }

    /// Like [`Keyring::load`] on bytes already read; `path` names them.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self> {
        let err = |message: String| Error::Keyring {
            path: path.to_owned(),
            message,
        };
        let armored = bytes
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .is_some_and(|i| bytes[i..].starts_with(b"-----BEGIN PGP"));
        let parsed: Vec<pgp::errors::Result<SignedPublicKey>> = if armored {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| err("armored keyring is not UTF-8".to_owned()))?;
            SignedPublicKey::from_string_many(text)
                .map_err(|e| err(format!("not an OpenPGP keyring: {e}")))?
                .0
                .collect()
        } else {
            SignedPublicKey::from_bytes_many(bytes)
                .map_err(|e| err(format!("not an OpenPGP keyring: {e}")))?
                .collect()
        };
        let mut keys = Vec::new();
        for key in parsed {
            match key {
                Ok(key) => keys.push(key),
                Err(e) => tracing::warn!(keyring = %path.display(), "skipping a key: {e}"),
            }
        }
        if keys.is_empty() {
            return Err(err("holds no usable OpenPGP public key".to_owned()));
        }
        Ok(Self {
            path: path.to_owned(),
            keys,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Primary key fingerprints, upper-case hex, in file order.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| format!("{:X}", k.fingerprint()))
            .collect()
    }

    /// Whether `fingerprint` (upper-case hex) is one of the keyring's
    /// primary keys or subkeys.
    pub fn knows(&self, fingerprint: &str) -> bool {
        self.keys.iter().any(|k| {
            format!("{:X}", k.fingerprint()) == fingerprint
                || k.public_subkeys
                    .iter()
                    .any(|s| format!("{:X}", s.fingerprint()) == fingerprint)
        })
    }

    /// Checks `signature` over `data`: Ok with the signing key's
    /// fingerprint, or why not.
    fn verify_one(
        &self,
        signature: &Signature,
        data: &[u8],
    ) -> std::result::Result<String, String> {
        let hash = signature.hash_alg();
        if matches!(
            hash,
            None | Some(HashAlgorithm::None)
                | Some(HashAlgorithm::Md5)
                | Some(HashAlgorithm::Sha1)
                | Some(HashAlgorithm::Ripemd160)
        ) {
            return Err(format!(
                "signature uses the weak digest {}",
                hash.map_or("none".to_owned(), |h| h.to_string())
            ));
        }
        let issuer = issuer_of(signature);
        let mut tried = false;
        let mut last_error = String::new();
        for key in &self.keys {
            let candidates = std::iter::once(Candidate::Primary(key))
                .chain(key.public_subkeys.iter().map(|s| Candidate::Sub(key, s)));
            for candidate in candidates {
                if !issuer.matches(&candidate) {
                    continue;
                }
                if let Candidate::Sub(primary, sub) = candidate {
                    if let Err(e) = sub.verify_bindings(&primary.primary_key) {
                        last_error = format!(
                            "subkey {:X} is not validly bound to its key: {e}",
                            sub.fingerprint()
                        );
                        continue;
                    }
                }
                tried = true;
                match candidate.verify(signature, data) {
                    Ok(()) => return Ok(candidate.fingerprint()),
                    Err(e) => {
                        last_error = format!("bad signature by {}: {e}", candidate.fingerprint())
                    }
                }
            }
        }
        if tried || !last_error.is_empty() {
            Err(last_error)
        } else {
            Err(format!(
                "made by {}, which is not in the keyring {}",
                issuer.describe(),
                self.path.display()
            ))
        }
    }

    /// Accepts `data` if at least one of `signatures` verifies; the error
    /// lists why each was refused.
    fn verify_any(&self, url: &str, signatures: &[Signature], data: &[u8]) -> Result<String> {
        if signatures.is_empty() {
            return Err(Error::Signature {
                url: url.to_owned(),
                message: "no signature".to_owned(),
            });
        }
        let mut reasons = Vec::new();
        for signature in signatures {
            match self.verify_one(signature, data) {
                Ok(fingerprint) => return Ok(fingerprint),
                Err(reason) => reasons.push(reason),
            }
        }
        Err(Error::Signature {
            url: url.to_owned(),
            message: reasons.join("; "),
        })
    }

    /// Verifies an `InRelease` file (a cleartext-signed Release) and returns
    /// the signed text with `\n` line ends and the signing key's fingerprint.
    pub fn verify_inrelease(&self, url: &str, inrelease: &[u8]) -> Result<(String, String)> {
        let sig_err = |message: String| Error::Signature {
            url: url.to_owned(),
            message,
        };
        let text =
            std::str::from_utf8(inrelease).map_err(|_| sig_err("InRelease is not UTF-8".into()))?;
        let (message, _) = CleartextSignedMessage::from_string(text)
            .map_err(|e| sig_err(format!("not a cleartext-signed message: {e}")))?;
        let signed = message.signed_text();
        let fingerprint = self.verify_any(url, message.signatures(), signed.as_bytes())?;
        Ok((signed.replace("\r\n", "\n"), fingerprint))
    }

    /// Verifies a `Release` file against its detached `Release.gpg`
    /// (armored or binary) and returns the signing key's fingerprint.
    pub fn verify_detached(&self, url: &str, release: &[u8], signature: &[u8]) -> Result<String> {
        let sig_err = |message: String| Error::Signature {
            url: url.to_owned(),
            message,
        };
        let parsed: Vec<pgp::errors::Result<DetachedSignature>> =
            if signature.starts_with(b"-----BEGIN PGP") {
                let text = std::str::from_utf8(signature)
                    .map_err(|_| sig_err("Release.gpg is not UTF-8".into()))?;
                DetachedSignature::from_string_many(text)
                    .map_err(|e| sig_err(format!("not an OpenPGP signature: {e}")))?
                    .0
                    .collect()
            } else {
                DetachedSignature::from_bytes_many(signature)
                    .map_err(|e| sig_err(format!("not an OpenPGP signature: {e}")))?
                    .collect()
            };
        let signatures = parsed
            .into_iter()
            .map(|s| s.map(|s| s.signature))
            .collect::<pgp::errors::Result<Vec<_>>>()
            .map_err(|e| sig_err(format!("not an OpenPGP signature: {e}")))?;
        self.verify_any(url, &signatures, release)
    }
}

enum Candidate<'a> {
    Primary(&'a SignedPublicKey),
    Sub(&'a SignedPublicKey, &'a SignedPublicSubKey),
}

impl Candidate<'_> {
    fn fingerprint(&self) -> String {
        match self {
            Candidate::Primary(k) => format!("{:X}", k.fingerprint()),
            Candidate::Sub(_, s) => format!("{:X}", s.fingerprint()),
        }
    }

    fn key_id(&self) -> pgp::types::KeyId {
        match self {
            Candidate::Primary(k) => k.legacy_key_id(),
            Candidate::Sub(_, s) => s.legacy_key_id(),
        }
    }

    fn verify(&self, signature: &Signature, data: &[u8]) -> pgp::errors::Result<()> {
        match self {
            Candidate::Primary(k) => signature.verify(&k.primary_key, data),
            Candidate::Sub(_, s) => signature.verify(&s.key, data),
        }
    }
}

/// Who a signature says made it.
struct Issuer {
    fingerprints: Vec<String>,
    key_ids: Vec<String>,
}

fn issuer_of(signature: &Signature) -> Issuer {
    Issuer {
        fingerprints: signature
            .issuer_fingerprint()
            .iter()
            .map(|f| format!("{f:X}"))
            .collect(),
        key_ids: signature
            .issuer_key_id()
            .iter()
            .map(|k| crate::hex(k.as_ref()).to_uppercase())
            .collect(),
    }
}

impl Issuer {
    /// Whether `candidate` may have made the signature (any key when the
    /// signature names none).
    fn matches(&self, candidate: &Candidate<'_>) -> bool {
        if self.fingerprints.is_empty() && self.key_ids.is_empty() {
            return true;
        }
        self.fingerprints.contains(&candidate.fingerprint())
            || self
                .key_ids
                .contains(&crate::hex(candidate.key_id().as_ref()).to_uppercase())
    }

    fn describe(&self) -> String {
        match (self.fingerprints.first(), self.key_ids.first()) {
            (Some(f), _) => format!("key {f}"),
            (None, Some(k)) => format!("key ID {k}"),
            (None, None) => "an unnamed key".to_owned(),
        }
    }
}

/// One line of the Release file's `SHA256` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Relative to `dists/<suite>/`, e.g. `main/binary-amd64/Packages.xz`.
    pub path: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// A parsed (signed) Release file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub date: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub components: Vec<String>,
    pub architectures: Vec<String>,
    pub sha256: Vec<IndexEntry>,
}

impl Release {
    /// Parses the first paragraph of a Release file. `url` names it in
    /// errors, with the line number at fault.
    pub fn parse(url: &str, text: &str) -> Result<Self> {
        let err = |line: usize, message: String| Error::Release {
            url: url.to_owned(),
            message: format!("line {line}: {message}"),
        };
        // (name, value, first line number) of each field.
        let mut fields: Vec<(String, String, usize)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.trim().is_empty() {
                if fields.is_empty() {
                    continue;
                }
                break;
            }
            if line.starts_with([' ', '\t']) {
                let Some(last) = fields.last_mut() else {
                    return Err(err(n, "continuation line before any field".into()));
                };
                last.1.push('\n');
                last.1.push_str(line.trim());
            } else {
                let Some((name, value)) = line.split_once(':') else {
                    return Err(err(n, format!("not a \"Field: value\" line: {line:?}")));
                };
                fields.push((name.trim().to_owned(), value.trim().to_owned(), n));
            }
        }
        if fields.is_empty() {
            return Err(Error::Release {
                url: url.to_owned(),
                message: "empty Release file".into(),
            });
        }
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v, line)| (v.as_str(), *line))
        };
        let date_of = |name: &str| -> Result<Option<DateTime<Utc>>> {
            match get(name) {
                None => Ok(None),
                Some((value, line)) => parse_date(value)
                    .map(Some)
                    .ok_or_else(|| err(line, format!("{name}: not a date: {value:?}"))),
            }
        };
        let words = |name: &str| -> Vec<String> {
            get(name)
                .map(|(v, _)| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let mut sha256 = Vec::new();
        if let Some((value, first)) = get("SHA256") {
            for (k, line) in value.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let n = first + k;
                let parts: Vec<&str> = line.split_whitespace().collect();
                let [hash, size, path] = parts.as_slice() else {
                    return Err(err(
                        n,
                        format!("SHA256: not \"<hash> <size> <path>\": {line:?}"),
                    ));
                };
                if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err(n, format!("SHA256: not a SHA-256: {hash:?}")));
                }
                let size = size
                    .parse()
                    .map_err(|_| err(n, format!("SHA256: not a size: {size:?}")))?;
                sha256.push(IndexEntry {
                    path: (*path).to_owned(),
                    size,
                    sha256: hash.to_ascii_lowercase(),
                });
            }
        }
        Ok(Self {
            suite: get("Suite").map(|(v, _)| v.to_owned()),
            codename: get("Codename").map(|(v, _)| v.to_owned()),
            date: date_of("Date")?,
            valid_until: date_of("Valid-Until")?,
            components: words("Components"),
            architectures: words("Architectures"),
            sha256,
        })
    }

    /// apt's date checks at `now`: a Release whose `Valid-Until` has passed
    /// is expired (unless `allow_expired`), one whose `Date` is ahead of the
    /// clock is not valid yet.
    pub fn check_dates(&self, url: &str, now: DateTime<Utc>, allow_expired: bool) -> Result<()> {
        if let Some(until) = self.valid_until {
            if until < now && !allow_expired {
                return Err(Error::Release {
                    url: url.to_owned(),
                    message: format!(
                        "expired: Valid-Until {} is before now ({}); set allow_expired to accept it",
                        until.to_rfc3339(),
                        now.to_rfc3339()
                    ),
                });
            }
        }
        if let Some(date) = self.date {
            if (date - now).num_seconds() > MAX_FUTURE_SECONDS {
                return Err(Error::Release {
                    url: url.to_owned(),
                    message: format!(
                        "not valid yet: Date {} is after now ({})",
                        date.to_rfc3339(),
                        now.to_rfc3339()
                    ),
                });
            }
        }
        Ok(())
    }

    /// The SHA256 entry for `path` (relative to `dists/<suite>/`).
    pub fn entry(&self, path: &str) -> Option<&IndexEntry> {
        self.sha256.iter().find(|e| e.path == path)
    }
}

/// Release dates are RFC 2822 with `UTC` as the zone
/// (`Sat, 17 May 2025 08:57:45 UTC`), which RFC 2822 itself spells `+0000`.
fn parse_date(value: &str) -> Option<DateTime<Utc>> {
    let value = match value.strip_suffix("UTC") {
        Some(rest) => format!("{rest}+0000"),
        None => value.to_owned(),
    };
    DateTime::parse_from_rfc2822(&value)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = "Origin: Test\nSuite: stable\nCodename: bookworm\n\
Date: Sat, 17 May 2025 08:57:45 UTC\nValid-Until: Sat, 24 May 2025 08:57:45 UTC\n\
Architectures: amd64 arm64\nComponents: main contrib\nSHA256:\n \
0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef   1234 main/binary-amd64/Packages\n \
ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789 99 main/binary-amd64/Packages.xz\n";

    #[test]
    fn parses_release_fields_and_hashes() {
        let r = Release::parse("u", RELEASE).unwrap();
        assert_eq!(r.suite.as_deref(), Some("stable"));
        assert_eq!(r.codename.as_deref(), Some("bookworm"));
        assert_eq!(r.date.unwrap().to_rfc3339(), "2025-05-17T08:57:45+00:00");
        assert_eq!(
            r.valid_until.unwrap().to_rfc3339(),
            "2025-05-24T08:57:45+00:00"
        );
        assert_eq!(r.components, ["main", "contrib"]);
        assert_eq!(r.architectures, ["amd64", "arm64"]);
        assert_eq!(
            r.sha256,
            [
                IndexEntry {
                    path: "main/binary-amd64/Packages".into(),
                    size: 1234,
                    sha256: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                        .into()
                },
                IndexEntry {
                    path: "main/binary-amd64/Packages.xz".into(),
                    size: 99,
                    sha256: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
                        .into()
                },
            ]
        );
    }

    #[test]
    fn date_checks_like_apt() {
        let r = Release::parse("u", RELEASE).unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        r.check_dates("u", at("2025-05-20T00:00:00Z"), false)
            .unwrap();
        let expired = r
            .check_dates("u", at("2025-06-01T00:00:00Z"), false)
            .unwrap_err();
        assert_eq!(
            expired.to_string(),
            "u: expired: Valid-Until 2025-05-24T08:57:45+00:00 is before now \
             (2025-06-01T00:00:00+00:00); set allow_expired to accept it"
        );
        r.check_dates("u", at("2025-06-01T00:00:00Z"), true)
            .unwrap();
        let early = r
            .check_dates("u", at("2025-05-01T00:00:00Z"), true)
            .unwrap_err();
        assert_eq!(
            early.to_string(),
            "u: not valid yet: Date 2025-05-17T08:57:45+00:00 is after now (2025-05-01T00:00:00+00:00)"
        );
    }

    #[test]
    fn malformed_release_names_the_line() {
        let bad = "Suite: x\nSHA256:\n abc 12 main/Packages\n";
        assert_eq!(
            Release::parse("http://m/dists/x/Release", bad)
                .unwrap_err()
                .to_string(),
            "http://m/dists/x/Release: line 3: SHA256: not a SHA-256: \"abc\""
        );
        assert_eq!(
            Release::parse("u", "Suite x\n").unwrap_err().to_string(),
            "u: line 1: not a \"Field: value\" line: \"Suite x\""
        );
    }
}
