//! The LSM hook kind's diff: how one hook's row (`lsm_hooks` table)
//! compares between the two images of a pair. A hook is added or
//! removed; its prototype changes as a function's does (`path_rename`
//! gains `unsigned int flags` between 5.10 and 6.1); or its BPF LSM
//! attach target `bpf_lsm_<hook>` appears or goes (an `lsm/` program
//! attaches only where it exists).

use ksurf_dataset::DependencyKind;

use crate::interface_diff::{InterfaceChange, InterfaceDiff, PairFacts};
use crate::kfunc_diff::Prototype;
use crate::report::code;
use crate::tables::Columns;

pub const ADDED: &str = "LSM hook added";
pub const REMOVED: &str = "LSM hook removed";
pub const TARGET_ADDED: &str = "BPF LSM target added";
pub const TARGET_REMOVED: &str = "BPF LSM target removed";

/// One row of `lsm_hooks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LsmHook {
    pub prototype: Prototype,
    pub bpf_lsm: bool,
}

pub struct LsmDiff;

impl InterfaceDiff for LsmDiff {
    const KIND: DependencyKind = DependencyKind::LsmHook;
    type Record = LsmHook;

    fn decode(c: &Columns<'_>, row: usize) -> LsmHook {
        LsmHook {
            prototype: Prototype::decode(c, row),
            bpf_lsm: c.bool("bpf_lsm", row),
        }
    }

    fn describe(name: &str, rows: &[LsmHook]) -> Vec<String> {
        let mut out = Vec::new();
        for h in rows {
            if let Some(p) = h.prototype.text() {
                out.push(format!("**Prototype:** {}", code(&p)));
            }
            let target = code(&format!("bpf_lsm_{name}"));
            out.push(if h.bpf_lsm {
                format!(
                    "**BPF LSM target:** {target} (attach as {})",
                    code(&format!("lsm/{name}"))
                )
            } else {
                format!("**BPF LSM target:** {target} absent ⚠️")
            });
        }
        out
    }

    fn compare(old: &[LsmHook], new: &[LsmHook], _facts: &PairFacts) -> Vec<InterfaceChange> {
        match (old.first(), new.first()) {
            (None, None) => Vec::new(),
            (None, Some(n)) => vec![InterfaceChange::new(ADDED, None, None, n.prototype.text())],
            (Some(o), None) => vec![InterfaceChange::new(
                REMOVED,
                None,
                o.prototype.text(),
                None,
            )],
            (Some(o), Some(n)) => {
                let mut out = n.prototype.changes_from(&o.prototype);
                match (o.bpf_lsm, n.bpf_lsm) {
                    (false, true) => out.push(InterfaceChange::new(TARGET_ADDED, None, None, None)),
                    (true, false) => {
                        out.push(InterfaceChange::new(TARGET_REMOVED, None, None, None))
                    }
                    _ => {}
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Param;

    fn hook(params: &[(&str, &str)], bpf_lsm: bool) -> LsmHook {
        LsmHook {
            prototype: Prototype {
                prototype: None,
                return_type: Some("int".into()),
                params: Some(
                    params
                        .iter()
                        .map(|(n, t)| Param {
                            name: Some((*n).into()),
                            ty: (*t).into(),
                        })
                        .collect(),
                ),
            },
            bpf_lsm,
        }
    }

    #[test]
    fn path_rename_gains_flags() {
        let base = [
            ("old_dir", "const struct path *"),
            ("old_dentry", "struct dentry *"),
            ("new_dir", "const struct path *"),
            ("new_dentry", "struct dentry *"),
        ];
        let mut with_flags = base.to_vec();
        with_flags.push(("flags", "unsigned int"));
        let f = PairFacts::default();
        assert_eq!(
            LsmDiff::compare(&[hook(&base, true)], &[hook(&with_flags, false)], &f),
            vec![
                InterfaceChange::new(
                    "Param added",
                    Some("flags".into()),
                    None,
                    Some("unsigned int".into())
                ),
                InterfaceChange::new(TARGET_REMOVED, None, None, None),
            ]
        );
    }
}
