//! Storage layout: one directory per table, hive-partitioned by image
//! (`<table>/distro=<d>/release=<r>/arch=<a>/part-0.parquet`).

use object_store::path::Path;

use crate::image::ImageId;

/// The per-image tables the extractor writes. `Images` is written last and
/// marks an image as complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableName {
    FunctionInstances,
    Functions,
    Symbols,
    UnitErrors,
    Images,
    /// The fetcher's manifest: which package each image's vmlinux came
    /// from. Not an extractor table, so not in [`TableName::ALL`].
    Fetches,
}

impl TableName {
    /// Every table, in the order the extractor writes them (`Images` last).
    pub const ALL: [TableName; 5] = [
        TableName::FunctionInstances,
        TableName::Functions,
        TableName::Symbols,
        TableName::UnitErrors,
        TableName::Images,
    ];

    /// The tables the fetcher writes, one row per image.
    pub const FETCHER: [TableName; 1] = [TableName::Fetches];

    pub fn as_str(self) -> &'static str {
        match self {
            TableName::FunctionInstances => "function_instances",
            TableName::Functions => "functions",
            TableName::Symbols => "symbols",
            TableName::UnitErrors => "unit_errors",
            TableName::Images => "images",
            TableName::Fetches => "fetches",
        }
    }
}

/// The partition directory of `image` inside `table`.
pub fn partition_dir(table: TableName, image: &ImageId) -> Path {
    Path::from_iter([
        table.as_str().to_owned(),
        format!("distro={}", image.distro),
        format!("release={}", image.release),
        format!("arch={}", image.arch),
    ])
}

/// The one Parquet file holding `image`'s rows of `table`.
pub fn table_file(table: TableName, image: &ImageId) -> Path {
    partition_dir(table, image).join("part-0.parquet")
}

/// Parses `<table>/distro=<d>/release=<r>/arch=<a>/<file>` back into an image id.
pub fn image_of_path(path: &Path) -> Option<ImageId> {
    let parts: Vec<_> = path.parts().collect();
    if parts.len() != 5 {
        return None;
    }
    let value = |i: usize, key: &str| -> Option<String> {
        parts[i]
            .as_ref()
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix('='))
            .map(str::to_owned)
    };
    ImageId::new(
        &value(1, "distro")?,
        &value(2, "release")?,
        &value(3, "arch")?,
    )
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_file_round_trips_through_image_of_path() {
        let id = ImageId::new("debian", "6.12.107+deb13-amd64", "amd64").unwrap();
        let path = table_file(TableName::FunctionInstances, &id);
        assert_eq!(
            path.as_ref(),
            "function_instances/distro=debian/release=6.12.107+deb13-amd64/arch=amd64/part-0.parquet"
        );
        assert_eq!(image_of_path(&path), Some(id));
        assert_eq!(
            image_of_path(&Path::from("images/distro=x/part-0.parquet")),
            None
        );
    }
}
