//! Where a dataset lives: a local directory (the default) or an object-store
//! URL (`file://`, `s3://`, `gs://`, `az://`, `abfs[s]://`, …), turned into an
//! `object_store` rooted at the dataset.
//!
//! URLs are recognised by `object_store`'s own parser; each cloud's builder
//! is filled from the environment as the builder itself reads it (`AWS_*`,
//! `GOOGLE_*`/`SERVICE_ACCOUNT`, `AZURE_*`), then from the URL, so a
//! deployment configures credentials, region and endpoint the way that
//! cloud's tools do.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreScheme};
use url::Url;

use crate::{Error, Result};

/// A parsed dataset location, before any store is built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A directory on this machine.
    Local(std::path::PathBuf),
    /// An object-store URL other than `file://`, e.g. `s3://bucket/prefix`.
    Remote(Url),
}

impl Location {
    /// Parses what a user typed after `--out`/`--dataset`: a URL when it has
    /// a scheme (`scheme://`), otherwise a local path.
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |detail: String| Error::InvalidLocation {
            location: text.to_owned(),
            detail,
        };
        if !text.contains("://") {
            if text.is_empty() {
                return Err(invalid("the location is empty".into()));
            }
            return Ok(Location::Local(text.into()));
        }
        let url = Url::parse(text).map_err(|e| invalid(e.to_string()))?;
        if url.scheme() == "file" {
            return url
                .to_file_path()
                .map(Location::Local)
                .map_err(|()| invalid("not a local file URL".into()));
        }
        let (scheme, _) = ObjectStoreScheme::parse(&url).map_err(|e| invalid(e.to_string()))?;
        match scheme {
            ObjectStoreScheme::AmazonS3
            | ObjectStoreScheme::GoogleCloudStorage
            | ObjectStoreScheme::MicrosoftAzure => Ok(Location::Remote(url)),
            other => Err(invalid(format!(
                "{other:?} is not a dataset store; use a directory, file://, s3://, gs://, az:// or abfs://"
            ))),
        }
    }

    /// The location as users write it, for messages (no trailing `/`).
    pub fn label(&self) -> String {
        match self {
            Location::Local(path) => {
                let text = path.display().to_string();
                match text.trim_end_matches('/') {
                    "" => text,
                    trimmed => trimmed.to_owned(),
                }
            }
            Location::Remote(url) => url.as_str().trim_end_matches('/').to_owned(),
        }
    }

    /// Builds the store rooted at this location. A local directory must
    /// exist (see [`crate::Dataset::open`] for creating it); remote builders
    /// read their credentials and endpoint from the environment.
    pub(crate) fn build_store(&self) -> Result<Arc<dyn ObjectStore>> {
        let label = self.label();
        let store_err = |source| Error::Store {
            location: label.clone(),
            source,
        };
        match self {
            Location::Local(dir) => {
                if let Err(source) = std::fs::read_dir(dir) {
                    return Err(Error::Open {
                        path: dir.clone(),
                        source,
                    });
                }
                // fsync before each rename: a put is durable once it returns.
                let store = LocalFileSystem::new_with_prefix(dir)
                    .map_err(store_err)?
                    .with_fsync(true);
                Ok(Arc::new(store))
            }
            Location::Remote(url) => {
                let (scheme, prefix) =
                    ObjectStoreScheme::parse(url).map_err(|e| Error::InvalidLocation {
                        location: label.clone(),
                        detail: e.to_string(),
                    })?;
                let url_text = url.as_str();
                let store: Arc<dyn ObjectStore> = match scheme {
                    ObjectStoreScheme::AmazonS3 => Arc::new(
                        AmazonS3Builder::from_env()
                            .with_url(url_text)
                            .build()
                            .map_err(store_err)?,
                    ),
                    ObjectStoreScheme::GoogleCloudStorage => Arc::new(
                        GoogleCloudStorageBuilder::from_env()
                            .with_url(url_text)
                            .build()
                            .map_err(store_err)?,
                    ),
                    ObjectStoreScheme::MicrosoftAzure => Arc::new(
                        MicrosoftAzureBuilder::from_env()
                            .with_url(url_text)
                            .build()
                            .map_err(store_err)?,
                    ),
                    other => {
                        return Err(Error::InvalidLocation {
                            location: label,
                            detail: format!("{other:?} is not a dataset store"),
                        })
                    }
                };
                if prefix.as_ref().is_empty() {
                    Ok(store)
                } else {
                    Ok(Arc::new(PrefixStore::new(store, prefix)))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_file_urls_are_local() {
        assert_eq!(
            Location::parse("dataset/").unwrap(),
            Location::Local("dataset/".into())
        );
        assert_eq!(
            Location::parse("file:///srv/ksurf/ds").unwrap(),
            Location::Local("/srv/ksurf/ds".into())
        );
        assert_eq!(
            Location::parse("file:///srv/ksurf/ds").unwrap().label(),
            "/srv/ksurf/ds"
        );
        assert_eq!(Location::parse("dataset/").unwrap().label(), "dataset");
        assert_eq!(Location::parse("/").unwrap().label(), "/");
    }

    #[test]
    fn cloud_urls_are_remote() {
        for text in [
            "s3://bucket/ds",
            "s3a://bucket/a/b",
            "gs://bucket/ds",
            "az://container/ds",
            "abfs://container/ds",
            "abfss://fs@account.dfs.core.windows.net/ds",
        ] {
            let location = Location::parse(text).unwrap();
            assert!(matches!(location, Location::Remote(_)), "{text}");
            assert_eq!(location.label(), text);
        }
        assert_eq!(
            Location::parse("s3://bucket/ds/").unwrap().label(),
            "s3://bucket/ds"
        );
    }

    #[test]
    fn unsupported_locations_are_refused_with_the_location() {
        assert_eq!(
            Location::parse("ftp://host/ds").unwrap_err().to_string(),
            "dataset location ftp://host/ds: Unable to recognise URL \"ftp://host/ds\""
        );
        assert_eq!(
            Location::parse("https://example.org/ds")
                .unwrap_err()
                .to_string(),
            "dataset location https://example.org/ds: Http is not a dataset store; use a directory, file://, s3://, gs://, az:// or abfs://"
        );
        assert_eq!(
            Location::parse("s3://").unwrap_err().to_string(),
            "dataset location s3://: Unable to recognise URL \"s3://\""
        );
        assert_eq!(
            Location::parse("").unwrap_err().to_string(),
            "dataset location : the location is empty"
        );
    }

    #[test]
    fn s3_store_reads_its_endpoint_from_the_url_and_builds_without_network() {
        // Building a store does no I/O; the bucket comes from the URL.
        let store = Location::parse("s3://bucket/some/prefix")
            .unwrap()
            .build_store()
            .unwrap();
        assert_eq!(store.to_string(), "PrefixObjectStore(some/prefix)");
        let store = Location::parse("s3://bucket")
            .unwrap()
            .build_store()
            .unwrap();
        assert_eq!(store.to_string(), "AmazonS3(bucket)");
    }
}
