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
pub mod core_relo;
pub mod deps;
pub mod error;
pub mod externs;
pub mod object;
pub mod program;

pub use deps::{
    Attach, BpfObject, CoreKind, CoreRelocation, CoreStep, FentryMode, KconfigExtern, Ksym, Program,
};
pub use error::{Error, Result};
pub use object::read_objects;
