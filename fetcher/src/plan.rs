//! Plan items: one package to fetch for one image, as discovery hands them
//! to the download side.

/// One package to fetch for one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedPackage {
    pub image: ksurf_dataset::ImageId, // distro/release/arch, release incl. flavor
    pub flavor: String,                // generic, aws, cloud-amd64, rt-arm64 …
    pub package: String,               // binary package name
    pub version: String,               // package version
    pub source: String,                // the [[source]] name it came from
    pub location: PackageLocation,     // where to get it
    pub size: Option<u64>,             // from the index / Launchpad / file
    pub sha256: Option<String>,        // lowercase hex; from the index / Launchpad
}

/// Where a planned package is fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageLocation {
    Url(String),
    File(std::path::PathBuf),
}
