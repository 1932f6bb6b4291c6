//! `ksurf check`: what a compiled eBPF program depends on in the kernel,
//! and, per image of a dataset, whether the dependency holds.
//!
//! Parsing is apart from judging: [`object`] finds BPF ELF objects (a
//! `.bpf.o`, or the objects an executable embeds) and [`program`],
//! [`core`] and [`externs`] turn one into a [`deps::BpfObject`] — attach
//! points from section names, CO-RE relocations from `.BTF.ext`,
//! `.ksyms` and `.kconfig` externs — from the object alone. [`facts`]
//! reads the rows an image's tables hold for those names, [`verdict`]
//! judges each dependency on each image, [`render`] presents the result.

pub mod deps;
pub mod error;


pub use deps::{
    Attach, BpfObject, CoreKind, CoreRelocation, CoreStep, FentryMode, KconfigExtern, Ksym, Program,
};
pub use error::{Error, Result};
