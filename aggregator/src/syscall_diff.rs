//! The syscall kind's diff: how one syscall's rows (`syscalls` table, one
//! per ABI and slot) compare between the two images of a pair. Syscalls
//! are compared by name (`openat`), ABI by ABI, and only on the ABIs both
//! images have: amd64's `ia32` and arm64's `compat` are the arches' own
//! tables, not syscalls added or removed, and entry symbols and numbers
//! differ by arch by design (`__x64_sys_getpid` 39, `__arm64_sys_getpid`
//! 172), so neither is a change. On a shared ABI a syscall is added or
//! removed, or its implementation comes or goes (a slot pointing to
//! `sys_ni_syscall` or a `COND_SYSCALL` stub). Slots named `ni_syscall`
//! are no syscall and are never compared.

use std::collections::BTreeSet;

use ksurf_dataset::{Dataset, DependencyKind, ImageId, TableName};

use crate::interface_diff::{InterfaceChange, InterfaceDiff, PairFacts};
use crate::stream::BATCH_ROWS;
use crate::tables::Columns;
use crate::Result;

pub const ADDED: &str = "Syscall added";
pub const REMOVED: &str = "Syscall removed";
pub const IMPLEMENTED: &str = "Implementation added";
pub const NOT_IMPLEMENTED: &str = "Implementation removed";

/// One row of `syscalls`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallSlot {
    pub abi: String,
    pub number: u32,
    pub entry: String,
    pub implemented: bool,
}

pub struct SyscallDiff;

/// The ABIs of `image`'s syscall tables (the distinct `abi` values of its
/// `syscalls` table).
pub fn image_abis(dataset: &Dataset, image: &ImageId) -> Result<BTreeSet<String>> {
    let table = TableName::Syscalls;
    let path = ksurf_dataset::layout::table_file(table, image);
    let mut abis = BTreeSet::new();
    for batch in dataset.stream_file(&path, table, BATCH_ROWS, None)? {
        let batch = batch?;
        let c = Columns::of_batch(&batch);
        for row in 0..batch.num_rows() {
            let abi = c.str("abi", row);
            if !abis.contains(abi) {
                abis.insert(abi.to_owned());
            }
        }
    }
    Ok(abis)
}

/// The slots of one ABI: (entry of the first slot, any implemented).
fn on_abi<'a>(slots: &'a [SyscallSlot], abi: &str) -> Option<(&'a str, bool)> {
    let mut of_abi = slots.iter().filter(|s| s.abi == abi).peekable();
    let first = of_abi.peek()?.entry.as_str();
    Some((first, of_abi.any(|s| s.implemented)))
}

impl InterfaceDiff for SyscallDiff {
    const KIND: DependencyKind = DependencyKind::Syscall;
    type Record = SyscallSlot;

    fn decode(c: &Columns<'_>, row: usize) -> SyscallSlot {
        SyscallSlot {
            abi: c.str("abi", row).to_owned(),
            number: c.u32("number", row),
            entry: c.str("entry", row).to_owned(),
            implemented: c.bool("implemented", row),
        }
    }

    fn prepare(
        dataset: &Dataset,
        old: &ImageId,
        new: &ImageId,
        facts: &mut PairFacts,
    ) -> Result<()> {
        facts.old_abis = image_abis(dataset, old)?;
        facts.new_abis = image_abis(dataset, new)?;
        Ok(())
    }

    fn describe(_name: &str, rows: &[SyscallSlot]) -> Vec<String> {
        rows.iter()
            .map(|s| {
                format!(
                    "**{}** #{}: entry {}{}",
                    crate::report::escape(&s.abi),
                    s.number,
                    crate::report::code(&s.entry),
                    if s.implemented {
                        ""
                    } else {
                        " (not implemented ⚠️)"
                    }
                )
            })
            .collect()
    }

    /// `ni_syscall` slots are not a syscall.
    fn is_compared(name: &str) -> bool {
        name != "ni_syscall"
    }

    fn compare(
        old: &[SyscallSlot],
        new: &[SyscallSlot],
        facts: &PairFacts,
    ) -> Vec<InterfaceChange> {
        let mut out = Vec::new();
        for abi in facts.old_abis.intersection(&facts.new_abis) {
            let subject = Some(abi.clone());
            match (on_abi(old, abi), on_abi(new, abi)) {
                (None, None) => {}
                (None, Some((entry, _))) => out.push(InterfaceChange::new(
                    ADDED,
                    subject,
                    None,
                    Some(entry.to_owned()),
                )),
                (Some((entry, _)), None) => out.push(InterfaceChange::new(
                    REMOVED,
                    subject,
                    Some(entry.to_owned()),
                    None,
                )),
                (Some((old_entry, false)), Some((new_entry, true))) => {
                    out.push(InterfaceChange::new(
                        IMPLEMENTED,
                        subject,
                        Some(old_entry.to_owned()),
                        Some(new_entry.to_owned()),
                    ))
                }
                (Some((old_entry, true)), Some((new_entry, false))) => {
                    out.push(InterfaceChange::new(
                        NOT_IMPLEMENTED,
                        subject,
                        Some(old_entry.to_owned()),
                        Some(new_entry.to_owned()),
                    ))
                }
                (Some(_), Some(_)) => {}
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(abi: &str, number: u32, entry: &str, implemented: bool) -> SyscallSlot {
        SyscallSlot {
            abi: abi.into(),
            number,
            entry: entry.into(),
            implemented,
        }
    }

    fn facts(old: &[&str], new: &[&str]) -> PairFacts {
        PairFacts {
            old_abis: old.iter().map(|s| s.to_string()).collect(),
            new_abis: new.iter().map(|s| s.to_string()).collect(),
            ..PairFacts::default()
        }
    }

    #[test]
    fn getpid_across_arches_is_no_change() {
        let amd64 = [
            slot("ia32", 20, "__ia32_sys_getpid", true),
            slot("native", 39, "__x64_sys_getpid", true),
        ];
        let arm64 = [
            slot("compat", 20, "__arm64_sys_getpid", true),
            slot("native", 172, "__arm64_sys_getpid", true),
        ];
        let f = facts(&["ia32", "native", "x32"], &["compat", "native"]);
        assert_eq!(SyscallDiff::compare(&amd64, &arm64, &f), vec![]);
    }

    #[test]
    fn added_removed_and_implementation_per_shared_abi() {
        let f = facts(&["ia32", "native"], &["ia32", "native"]);
        let old = [slot("native", 425, "__x64_sys_io_uring_setup", true)];
        let new = [
            slot("ia32", 425, "__ia32_sys_io_uring_setup", true),
            slot("native", 425, "__x64_sys_io_uring_setup", false),
        ];
        let got = SyscallDiff::compare(&old, &new, &f);
        assert_eq!(
            got,
            vec![
                InterfaceChange::new(
                    ADDED,
                    Some("ia32".into()),
                    None,
                    Some("__ia32_sys_io_uring_setup".into())
                ),
                InterfaceChange::new(
                    NOT_IMPLEMENTED,
                    Some("native".into()),
                    Some("__x64_sys_io_uring_setup".into()),
                    Some("__x64_sys_io_uring_setup".into())
                ),
            ]
        );
        assert_eq!(
            SyscallDiff::compare(&new, &[], &f),
            vec![
                InterfaceChange::new(
                    REMOVED,
                    Some("ia32".into()),
                    Some("__ia32_sys_io_uring_setup".into()),
                    None
                ),
                InterfaceChange::new(
                    REMOVED,
                    Some("native".into()),
                    Some("__x64_sys_io_uring_setup".into()),
                    None
                ),
            ]
        );
    }
}
