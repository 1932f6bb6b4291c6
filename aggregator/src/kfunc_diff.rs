//! The kfunc kind's diff: how one kfunc's row (`kfuncs` table) compares
//! between the two images of a pair. A kfunc is added or removed (no
//! longer exported to BPF programs, whether or not the function stays);
//! its prototype changes as a function's does (parameters added,
//! removed, reordered or retyped, return type); the kfunc sets holding it
//! change; or its `KF_*` flags change (compared only when both images
//! give flags: plain sets before 6.0 carry none).

use ksurf_dataset::DependencyKind;

use crate::interface_diff::{
    decode_params, prototype_changes, InterfaceChange, InterfaceDiff, PairFacts, PARAM_LABELS,
};
use crate::model::Param;
use crate::report::code;
use crate::tables::Columns;
use crate::tracepoint_diff::param_text;

pub const ADDED: &str = "Kfunc added";
pub const REMOVED: &str = "Kfunc removed";
pub const SETS_CHANGED: &str = "Sets changed";
pub const FLAGS_CHANGED: &str = "Flags changed";

/// The prototype columns shared by `kfuncs` and `lsm_hooks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prototype {
    pub prototype: Option<String>,
    pub return_type: Option<String>,
    pub params: Option<Vec<Param>>,
}

impl Prototype {
    pub fn decode(c: &Columns<'_>, row: usize) -> Self {
        Prototype {
            prototype: c.opt_str("prototype", row).map(str::to_owned),
            return_type: c.opt_str("return_type", row).map(str::to_owned),
            params: decode_params(c, "params", row),
        }
    }

    /// The prototype's text, else its parameter list.
    pub fn text(&self) -> Option<String> {
        self.prototype
            .clone()
            .or_else(|| self.params.as_deref().map(param_text))
    }

    /// The prototype changes from `old` to `self` (none when either side
    /// has no prototype).
    pub fn changes_from(&self, old: &Prototype) -> Vec<InterfaceChange> {
        match (&old.params, &self.params) {
            (Some(op), Some(np)) => prototype_changes(
                (old.return_type.as_deref(), op),
                (self.return_type.as_deref(), np),
                &PARAM_LABELS,
            ),
            _ => Vec::new(),
        }
    }
}

/// One row of `kfuncs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Kfunc {
    pub prototype: Prototype,
    pub sets: Vec<String>,
    pub flags: Option<Vec<String>>,
}

pub struct KfuncDiff;

impl InterfaceDiff for KfuncDiff {
    const KIND: DependencyKind = DependencyKind::Kfunc;
    type Record = Kfunc;

    fn decode(c: &Columns<'_>, row: usize) -> Kfunc {
        Kfunc {
            prototype: Prototype::decode(c, row),
            sets: c.strings("sets", row),
            flags: c.opt_strings("flags", row),
        }
    }

    fn describe(_name: &str, rows: &[Kfunc]) -> Vec<String> {
        let mut out = Vec::new();
        for k in rows {
            if let Some(p) = k.prototype.text() {
                out.push(format!("**Prototype:** {}", code(&p)));
            }
            out.push(format!(
                "**Sets:** {}",
                k.sets
                    .iter()
                    .map(|s| code(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            if let Some(flags) = &k.flags {
                let text = if flags.is_empty() {
                    "none".to_owned()
                } else {
                    flags
                        .iter()
                        .map(|f| code(f))
                        .collect::<Vec<_>>()
                        .join(" | ")
                };
                out.push(format!("**Flags:** {text}"));
            }
        }
        out
    }

    fn compare(old: &[Kfunc], new: &[Kfunc], _facts: &PairFacts) -> Vec<InterfaceChange> {
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
                if o.sets != n.sets {
                    out.push(InterfaceChange::new(
                        SETS_CHANGED,
                        None,
                        Some(o.sets.join(", ")),
                        Some(n.sets.join(", ")),
                    ));
                }
                if let (Some(of), Some(nf)) = (&o.flags, &n.flags) {
                    if of != nf {
                        out.push(InterfaceChange::new(
                            FLAGS_CHANGED,
                            None,
                            Some(of.join(" | ")),
                            Some(nf.join(" | ")),
                        ));
                    }
                }
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kfunc(ret: &str, params: &[(&str, &str)], sets: &[&str], flags: Option<&[&str]>) -> Kfunc {
        Kfunc {
            prototype: Prototype {
                prototype: None,
                return_type: Some(ret.into()),
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
            sets: sets.iter().map(|s| s.to_string()).collect(),
            flags: flags.map(|f| f.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn prototype_sets_and_flags() {
        let f = PairFacts::default();
        let old = kfunc(
            "struct task_struct *",
            &[("pid", "s32")],
            &["generic_btf_ids"],
            Some(&["KF_ACQUIRE", "KF_RET_NULL"]),
        );
        let new = kfunc(
            "struct task_struct *",
            &[("pid", "u32")],
            &["common_btf_ids", "generic_btf_ids"],
            Some(&["KF_ACQUIRE"]),
        );
        assert_eq!(
            KfuncDiff::compare(std::slice::from_ref(&old), &[new], &f),
            vec![
                InterfaceChange::new(
                    "Param type changed",
                    Some("pid".into()),
                    Some("s32".into()),
                    Some("u32".into())
                ),
                InterfaceChange::new(
                    SETS_CHANGED,
                    None,
                    Some("generic_btf_ids".into()),
                    Some("common_btf_ids, generic_btf_ids".into())
                ),
                InterfaceChange::new(
                    FLAGS_CHANGED,
                    None,
                    Some("KF_ACQUIRE | KF_RET_NULL".into()),
                    Some("KF_ACQUIRE".into())
                ),
            ]
        );
        let plain = kfunc(
            "struct task_struct *",
            &[("pid", "s32")],
            &["generic_btf_ids"],
            None,
        );
        assert_eq!(
            KfuncDiff::compare(&[plain], std::slice::from_ref(&old), &f),
            vec![]
        );
        assert_eq!(
            KfuncDiff::compare(&[], &[old], &f),
            vec![InterfaceChange::new(
                ADDED,
                None,
                None,
                Some("s32 pid".into())
            )]
        );
    }
}
