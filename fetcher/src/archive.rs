//! A Debian-format archive over HTTP, trusted as apt trusts it: the suite's
//! `InRelease` (or `Release` + `Release.gpg`) is fetched and its signature
//! checked against the keyring, its dates checked, and a `Packages` index is
//! accepted only if its size and SHA-256 match the signed Release file's
//! entry; its decompressed text is what discovery gets.

use std::io::Read;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::http::HttpClient;
use crate::release::{IndexEntry, Keyring, Release};

/// Largest Release file accepted.
const MAX_RELEASE: u64 = 64 << 20;
/// Largest decompressed Packages index accepted.
const MAX_INDEX_TEXT: u64 = 2 << 30;

/// A verified Release file and where it came from.
#[derive(Debug, Clone)]
pub struct VerifiedRelease {
    /// `<base>/dists/<suite>/`.
    pub dists_url: String,
    /// The file the signature was checked on (`InRelease` or `Release`).
    pub url: String,
    pub release: Release,
    /// Fingerprint (upper-case hex) of the key that made the accepted signature.
    pub signed_by: String,
}

/// One archive root (the URL that holds `dists/` and `pool/`).
pub struct Archive<'a> {
    client: &'a HttpClient,
    base: String,
    keyring: &'a Keyring,
    /// Accept a Release file whose `Valid-Until` has passed.
    pub allow_expired: bool,
}

impl<'a> Archive<'a> {
    pub fn new(client: &'a HttpClient, base: &str, keyring: &'a Keyring) -> Self {
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            keyring,
            allow_expired: false,
        }
    }

    /// `<base>/<path>` for a path relative to the archive root (a
    /// `Filename:` of the index).
    pub fn url_of(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    /// Fetches and verifies `dists/<suite>/InRelease`, falling back to
    /// `Release` + `Release.gpg` when the server has no `InRelease`.
    pub async fn release(&self, suite: &str) -> Result<VerifiedRelease> {
        self.release_at(suite, Utc::now()).await
    }

    /// [`Archive::release`] with the clock given (for the date checks).
    pub async fn release_at(&self, suite: &str, now: DateTime<Utc>) -> Result<VerifiedRelease> {
        let dists_url = format!("{}/dists/{}/", self.base, suite);
        let inrelease_url = format!("{dists_url}InRelease");
        let (url, text, signed_by) = match self.client.get_bytes(&inrelease_url, MAX_RELEASE).await
        {
            Ok(bytes) => {
                let (text, by) = self.keyring.verify_inrelease(&inrelease_url, &bytes)?;
                (inrelease_url, text, by)
            }
            Err(Error::HttpStatus { status: 404, .. }) => {
                let url = format!("{dists_url}Release");
                let release = self.client.get_bytes(&url, MAX_RELEASE).await?;
                let signature = self
                    .client
                    .get_bytes(&format!("{dists_url}Release.gpg"), MAX_RELEASE)
                    .await?;
                let by = self.keyring.verify_detached(&url, &release, &signature)?;
                let text = String::from_utf8(release).map_err(|_| Error::Release {
                    url: url.clone(),
                    message: "not UTF-8 text".into(),
                })?;
                (url, text, by)
            }
            Err(e) => return Err(e),
        };
        let release = Release::parse(&url, &text)?;
        release.check_dates(&url, now, self.allow_expired)?;
        tracing::debug!(%url, %signed_by, "Release verified");
        Ok(VerifiedRelease {
            dists_url,
            url,
            release,
            signed_by,
        })
    }

    /// The text of `<component>/binary-<arch>/Packages`, fetched in the
    /// first form the Release file lists of `.xz`, `.gz` and plain, checked
    /// against its size and SHA-256 there, then decompressed.
    pub async fn packages(
        &self,
        release: &VerifiedRelease,
        component: &str,
        arch: &str,
    ) -> Result<String> {
        let stem = format!("{component}/binary-{arch}/Packages");
        let forms = [
            (format!("{stem}.xz"), IndexCompression::Xz),
            (format!("{stem}.gz"), IndexCompression::Gzip),
            (stem.clone(), IndexCompression::None),
        ];
        let Some((entry, compression)) = forms
            .iter()
            .find_map(|(path, c)| release.release.entry(path).map(|e| (e, *c)))
        else {
            return Err(Error::Release {
                url: release.url.clone(),
                message: format!("lists no {stem}{{.xz,.gz,}} in its SHA256 field"),
            });
        };
        self.fetch_index(release, entry, compression).await
    }

    async fn fetch_index(
        &self,
        release: &VerifiedRelease,
        entry: &IndexEntry,
        compression: IndexCompression,
    ) -> Result<String> {
        let url = format!("{}{}", release.dists_url, entry.path);
        // One byte more than listed, so a longer file is seen as such.
        let bytes = self.client.get_bytes(&url, entry.size + 1).await;
        let bytes = match bytes {
            Err(Error::TooLarge { .. }) => {
                return Err(Error::Mismatch {
                    url,
                    what: "size",
                    expected: entry.size.to_string(),
                    actual: format!("more than {}", entry.size),
                })
            }
            other => other?,
        };
        check_bytes(&url, &bytes, entry.size, &entry.sha256)?;
        let text = compression.decode(&url, &bytes)?;
        String::from_utf8(text).map_err(|e| Error::IndexText {
            url,
            message: format!("not UTF-8 text (at byte {})", e.utf8_error().valid_up_to()),
        })
    }
}

/// Size, then SHA-256, of `bytes` against the expected values.
pub fn check_bytes(url: &str, bytes: &[u8], size: u64, sha256: &str) -> Result<()> {
    if bytes.len() as u64 != size {
        return Err(Error::Mismatch {
            url: url.to_owned(),
            what: "size",
            expected: size.to_string(),
            actual: bytes.len().to_string(),
        });
    }
    let actual = crate::hex(&Sha256::digest(bytes));
    if actual != sha256 {
        return Err(Error::Mismatch {
            url: url.to_owned(),
            what: "SHA256",
            expected: sha256.to_owned(),
            actual,
        });
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum IndexCompression {
    Xz,
    Gzip,
    None,
}

impl IndexCompression {
    fn decode(self, url: &str, bytes: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let result = match self {
            IndexCompression::None => return Ok(bytes.to_vec()),
            IndexCompression::Xz => liblzma::read::XzDecoder::new(bytes)
                .take(MAX_INDEX_TEXT + 1)
                .read_to_end(&mut out),
            IndexCompression::Gzip => flate2::read::GzDecoder::new(bytes)
                .take(MAX_INDEX_TEXT + 1)
                .read_to_end(&mut out),
        };
        result.map_err(|e| Error::IndexText {
            url: url.to_owned(),
            message: format!("cannot decompress: {e}"),
        })?;
        if out.len() as u64 > MAX_INDEX_TEXT {
            return Err(Error::IndexText {
                url: url.to_owned(),
                message: format!("decompresses to over {MAX_INDEX_TEXT} bytes"),
            });
        }
        Ok(out)
    }
}
