//! `.ksyms` and `.kconfig` externs of one BPF object.
//!
//! Facts: the compiler records each `extern … __ksym` and
//! `extern … __kconfig` declaration as an entry of a BTF `DATASEC` named
//! `.ksyms` or `.kconfig` (no ELF section of that name exists in the
//! object). In `.ksyms` a `FUNC` entry (extern linkage) is a kfunc, a
//! `VAR` entry a kernel variable (typed, or typeless `const void`); in
//! `.kconfig` every entry is a `VAR`. `__weak` is not in BTF (a `VAR`'s
//! linkage is only extern): it comes from the binding (`STB_WEAK`) of
//! the undefined ELF symbol of the same name. This is how libbpf
//! (`bpf_object__collect_externs`) sorts externs too.

use crate::btf::ObjectBtf;
use crate::deps::{KconfigExtern, Ksym};
use btf_rs::{BtfType, Type};
use std::collections::BTreeMap;

/// The `.ksyms` and `.kconfig` externs of an object, each sorted by name
/// and deduplicated (a name declared twice is weak only if every
/// declaration is; a kfunc if any is a function).
///
/// `weak_symbols` are the names of the object's undefined `STB_WEAK`
/// ELF symbols. Never fails: a `DATASEC` entry whose type id dangles is
/// skipped.
pub fn externs(btf: &ObjectBtf, weak_symbols: &[String]) -> (Vec<Ksym>, Vec<KconfigExtern>) {
    let mut ksyms: BTreeMap<String, Ksym> = BTreeMap::new();
    let mut kconfig: BTreeMap<String, KconfigExtern> = BTreeMap::new();
    let is_weak = |name: &str| weak_symbols.iter().any(|w| w == name);
    for id in 1..btf.count() {
        let Some(Type::Datasec(sec)) = btf.type_by_id(id) else {
            continue;
        };
        let sec_name = btf.name_of(&sec);
        if sec_name != ".ksyms" && sec_name != ".kconfig" {
            continue;
        }
        for entry in &sec.variables {
            let Some(t) = entry.get_type_id().and_then(|i| btf.type_by_id(i)) else {
                continue;
            };
            let function = match &t {
                Type::Func(_) => true,
                Type::Var(_) => false,
                _ => continue,
            };
            let name = btf.type_name(&t);
            if name.is_empty() {
                continue;
            }
            let weak = is_weak(&name);
            if sec_name == ".ksyms" {
                let e = ksyms.entry(name.clone()).or_insert(Ksym {
                    name,
                    function,
                    weak,
                });
                e.function |= function;
                e.weak &= weak;
            } else {
                let e = kconfig
                    .entry(name.clone())
                    .or_insert(KconfigExtern { name, weak });
                e.weak &= weak;
            }
        }
    }
    (
        ksyms.into_values().collect(),
        kconfig.into_values().collect(),
    )
}
