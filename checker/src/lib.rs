//! `ksurf check`: what a compiled eBPF program depends on in the kernel,
//! and, per image of a dataset, whether the dependency holds.
//!
//! Parsing is apart from judging: [`object`] finds BPF ELF objects (a
//! `.bpf.o`, or the objects an executable embeds) and [`program`],
//! [`core_relo`] and [`externs`] turn one into a [`deps::BpfObject`] —
//! attach points from section names, CO-RE relocations from `.BTF.ext`,
//! `.ksyms` and `.kconfig` externs — from the object alone, over the
//! object's `.BTF` as [`btf`] reads it. [`facts`] reads the rows an
//! image's tables hold for those names, [`verdict`] judges each
//! dependency on each image, [`render`] presents the result.

pub mod btf;
pub mod check;
pub mod core_relo;
pub mod deps;
pub mod error;
pub mod externs;
pub mod facts;
pub mod object;
pub mod program;
pub mod render;
pub mod verdict;

pub use deps::{
    Attach, BpfObject, CoreKind, CoreRelocation, CoreStep, FentryMode, KconfigExtern, Ksym, Program,
};
pub use error::{Error, Result};

/// Checks `objects` against `images` of `dataset`: reads each image's
/// facts for the names the objects need (images in parallel) and judges
/// every dependency. Errors: an image's table that cannot be read.
pub fn check_dataset(
    dataset: &ksurf_dataset::Dataset,
    images: &[ksurf_dataset::ImageId],
    objects: &[BpfObject],
) -> Result<Vec<check::ObjectCheck>> {
    check_dataset_with(dataset, images, objects, &|_| {})
}

/// [`check_dataset`], calling `read` once per image as soon as its facts
/// are read (from several threads: images are read in parallel), for a
/// progress display.
pub fn check_dataset_with(
    dataset: &ksurf_dataset::Dataset,
    images: &[ksurf_dataset::ImageId],
    objects: &[BpfObject],
    read: &(dyn Fn(&ksurf_dataset::ImageId) + Sync),
) -> Result<Vec<check::ObjectCheck>> {
    use rayon::prelude::*;
    let needs = facts::Needs::of(objects);
    let facts: Vec<facts::ImageFacts> = images
        .par_iter()
        .map(|image| {
            let facts = facts::read(dataset, image, &needs);
            read(image);
            facts
        })
        .collect::<Result<_>>()?;
    Ok(objects
        .iter()
        .map(|object| check::check_object(object, &facts))
        .collect())
}

/// The images a check covers, in order: the members of `group` (its
/// baseline first) when given, else every complete image of the dataset;
/// then those whose `distro/release/arch` matches the `images` glob.
/// Errors: an unknown group, a malformed glob, an unreadable dataset.
pub fn select_images(
    dataset: &ksurf_dataset::Dataset,
    group: Option<&str>,
    images: Option<&str>,
) -> Result<Vec<ksurf_dataset::ImageId>> {
    let all = dataset.images()?;
    let mut chosen: Vec<ksurf_dataset::ImageId> = match group {
        None => all,
        Some(name) => {
            let groups = ksurf_aggregator::history::aggregated_groups(dataset)
                .map_err(|e| Error::Selection(format!("reading the groups: {e}")))?;
            let Some(g) = groups.iter().find(|g| g.name == name) else {
                let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
                let have = if names.is_empty() {
                    "it has none".to_owned()
                } else {
                    format!("groups: {}", names.join(", "))
                };
                return Err(Error::Selection(format!(
                    "no aggregated group {name:?} in {} ({have})",
                    dataset.label()
                )));
            };
            g.baseline
                .iter()
                .chain(&g.images)
                .filter_map(|text| text.parse().ok())
                .filter(|id| all.contains(id))
                .collect()
        }
    };
    if let Some(pattern) = images {
        let glob = glob::Pattern::new(pattern)
            .map_err(|e| Error::Selection(format!("--images {pattern:?}: {e}")))?;
        chosen.retain(|id| glob.matches(&id.to_string()));
    }
    Ok(chosen)
}
pub use object::read_objects;
