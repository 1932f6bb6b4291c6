//! The system call tables: one row per syscall number and ABI.
//!
//! Source: the kernel's own dispatch tables, arrays of function pointers
//! in the image's data, read through [`ImageData`] (so that arm64's and
//! s390x's pointers come out of `.rela.dyn`):
//!
//! | symbol                  | ABI      | where                                       |
//! |-------------------------|----------|---------------------------------------------|
//! | `sys_call_table`        | `native` | every architecture                          |
//! | `ia32_sys_call_table`   | `ia32`   | x86_64 with `IA32_EMULATION`, before 6.9    |
//! | `x32_sys_call_table`    | `x32`    | x86_64 with `X86_X32_ABI`, before 6.9       |
//! | `compat_sys_call_table` | `compat` | arm64 (AArch32 tasks), ppc64, riscv64       |
//! | `sys_call_table_emu`    | `compat` | s390x (31-bit tasks)                        |
//!
//! Since 6.9, and in the stable kernels the branch-history mitigation was
//! backported to (Debian's 6.1.0-57 has it), x86 dispatches through switch
//! statements (`x64_sys_call`, `ia32_sys_call`); `sys_call_table` stays
//! (for tracing) but `ia32_sys_call_table` is gone, so such images have
//! `native` rows only: the ia32 numbering lives in code, not data.
//!
//! Table length: the symbol's `st_size` when non-zero (C arrays). s390x
//! defines its tables in assembler (`arch/s390/kernel/entry.S`, labels of
//! `STT_NOTYPE`, size 0); there the native table ends at the next symbol of
//! its section (which is `sys_call_table_emu`), and a size-0 compat table
//! has the native table's length, since both are generated from the same
//! `syscall.tbl` lines, one column each. A length that is not a whole
//! number of pointers is an error.
//!
//! Each slot's pointer names a function symbol; of the aliases at that
//! address (`__x64_sys_getpid` and `__ia32_sys_getpid` share code on 6.1),
//! the one with the ABI's wrapper prefix is the `entry`. A slot whose pointer
//! hits no symbol is an error naming the table, slot and pointer: in a
//! well-formed kernel every slot points to a function (unimplemented ones to
//! `sys_ni_syscall`), so a miss means the table bounds or the relocations
//! were read wrong, and rows built on it would be silently false.
//!
//! `name` is the entry with its wrapper prefix stripped ([`syscall_name`]),
//! i.e. the `SYSCALL_DEFINE` name that `syscalls:sys_enter_<name>` uses.
//! `implemented` is false when the slot points to `sys_ni_syscall` (or its
//! wrapper), and when it points to a weak `COND_SYSCALL` stub (see
//! `pick_entry`).

use crate::image_data::{ImageData, ImageSymbol, SymbolBinding, SymbolKind};

/// One slot of one system call table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallRow {
    /// `native`, `compat`, `ia32` or `x32`.
    pub abi: &'static str,
    /// The syscall number: the slot's index in its table.
    pub number: u32,
    /// The `SYSCALL_DEFINE` name (`openat`); `ni_syscall` for a slot with
    /// no syscall behind it.
    pub name: String,
    /// The symbol the slot points to: what a kprobe or fentry program
    /// attaches to (`__x64_sys_openat`, `__arm64_sys_openat`, `sys_openat`).
    pub entry: String,
    /// False when the slot points to `sys_ni_syscall`, its wrapper, or a
    /// weak `COND_SYSCALL` stub (a syscall the configuration left out).
    pub implemented: bool,
}

/// A table symbol and the ABI its slots serve, with the entry prefixes
/// preferred among aliases, best first.
struct TableSpec {
    symbol: &'static str,
    abi: &'static str,
    prefixes: &'static [&'static str],
}

const TABLES: &[TableSpec] = &[
    TableSpec {
        symbol: "sys_call_table",
        abi: "native",
        prefixes: &[
            "__x64_sys_",
            "__arm64_sys_",
            "__s390x_sys_",
            "__riscv_sys_",
            "__powerpc_sys_",
            "sys_",
        ],
    },
    TableSpec {
        symbol: "ia32_sys_call_table",
        abi: "ia32",
        prefixes: &["__ia32_compat_sys_", "__ia32_sys_"],
    },
    TableSpec {
        symbol: "x32_sys_call_table",
        abi: "x32",
        prefixes: &["__x32_compat_sys_", "__x64_sys_"],
    },
    TableSpec {
        symbol: "compat_sys_call_table",
        abi: "compat",
        prefixes: &[
            "__arm64_compat_sys_",
            "__arm64_sys_",
            "__riscv_compat_sys_",
            "__riscv_sys_",
            "__powerpc_compat_sys_",
            "__powerpc_sys_",
            "compat_sys_",
            "sys_",
        ],
    },
    TableSpec {
        symbol: "sys_call_table_emu",
        abi: "compat",
        prefixes: &["__s390_compat_sys_", "__s390_sys_", "__s390x_sys_"],
    },
];

/// Wrapper prefixes stripped from an entry to give the syscall's name,
/// longest (most specific) first.
const NAME_PREFIXES: &[&str] = &[
    "__arm64_compat_sys_",
    "__riscv_compat_sys_",
    "__powerpc_compat_sys_",
    "__s390_compat_sys_",
    "__ia32_compat_sys_",
    "__x32_compat_sys_",
    "__se_compat_sys_",
    "__arm64_sys_",
    "__riscv_sys_",
    "__powerpc_sys_",
    "__s390x_sys_",
    "__s390_sys_",
    "__ia32_sys_",
    "__x64_sys_",
    "__se_sys_",
    "compat_sys_",
    "sys_",
    "ppc64_",
    "ppc32_",
    "ppc_",
];

/// The syscall name of an entry symbol: its wrapper prefix stripped
/// (`__x64_sys_openat` → `openat`, `compat_sys_ioctl` → `ioctl`,
/// `ppc_fadvise64_64` → `fadvise64_64`). A symbol with no known prefix
/// (an assembler entry) is its own name.
pub fn syscall_name(entry: &str) -> &str {
    NAME_PREFIXES
        .iter()
        .find_map(|p| entry.strip_prefix(p).filter(|rest| !rest.is_empty()))
        .unwrap_or(entry)
}

/// Reads every system call table of the image. Rows are sorted by
/// `(abi, number)`. An image without any table gives no rows.
pub fn extract(image: &ImageData) -> Result<Vec<SyscallRow>, String> {
    let ptr = u64::from(image.pointer_size());
    let mut rows = Vec::new();
    let mut native_len: Option<u64> = None;
    for spec in TABLES {
        let Some(table) = image
            .symbol(spec.symbol)
            .filter(|s| s.section.is_some())
            .copied()
        else {
            continue;
        };
        let bytes = if table.size != 0 {
            table.size
        } else {
            let section = table.section.expect("filtered above");
            let to_next = image
                .next_symbol_address(table.address, section)
                .map(|next| next - table.address);
            match (spec.abi, native_len, to_next) {
                ("native", _, Some(n)) => n,
                (_, Some(n), Some(next)) => (n * ptr).min(next),
                (_, Some(n), None) => n * ptr,
                (_, None, Some(next)) => next,
                (_, None, None) => {
                    return Err(format!(
                        "{}: {} at {:#x} has size 0 and no symbol after it: its length is unknown",
                        image.path().display(),
                        spec.symbol,
                        table.address
                    ))
                }
            }
        };
        if bytes % ptr != 0 {
            return Err(format!(
                "{}: {} at {:#x} is {bytes} bytes, not a whole number of {ptr}-byte pointers",
                image.path().display(),
                spec.symbol,
                table.address
            ));
        }
        let len = bytes / ptr;
        if spec.abi == "native" {
            native_len = Some(len);
        }
        // The whole table must be readable before any slot is decoded.
        image
            .bytes_at(table.address, bytes)
            .map_err(|e| format!("{e} (reading {} of {len} slots)", spec.symbol))?;
        for number in 0..len {
            let slot = table.address + number * ptr;
            let target = image.read_pointer(slot)?;
            let (entry, implemented) =
                pick_entry(image, target, spec.prefixes).ok_or_else(|| {
                    format!(
                        "{}: {}[{number}] at {slot:#x} points to {target:#x}, where no symbol is",
                        image.path().display(),
                        spec.symbol
                    )
                })?;
            let name = syscall_name(entry).to_owned();
            rows.push(SyscallRow {
                abi: spec.abi,
                number: number as u32,
                implemented,
                name,
                entry: entry.to_owned(),
            });
        }
    }
    rows.sort_by(|a, b| (a.abi, a.number).cmp(&(b.abi, b.number)));
    Ok(rows)
}

/// The entry symbol at `address` and whether the syscall is implemented.
///
/// Unimplemented: a symbol there is `sys_ni_syscall` or a wrapper of it
/// (`__x64_sys_ni_syscall`); the entry is then that symbol, since the
/// `COND_SYSCALL` weak aliases that may share the address (s390x has dozens,
/// `__s390x_sys_mbind`, ...) do not say which syscall the slot is for. Also
/// unimplemented: every symbol there is weak, i.e. a `COND_SYSCALL` stub
/// (`kernel/sys_ni.c`) standing in for a syscall the configuration left
/// out; the stub keeps its syscall's name. Otherwise the entry is, of the
/// non-weak symbols, the one with the ABI's preferred prefix, then a
/// function, then a global, then the first in `.symtab`.
fn pick_entry<'d>(
    image: &ImageData<'d>,
    address: u64,
    prefixes: &[&str],
) -> Option<(&'d str, bool)> {
    let candidates: Vec<_> = image
        .symbols_at(address)
        .filter(|s| !s.name.starts_with("__pfx_") && !s.name.starts_with("__cfi_"))
        .collect();
    let rank = |order: usize, s: &ImageSymbol| {
        let prefix_rank = prefixes
            .iter()
            .position(|p| s.name.starts_with(p))
            .unwrap_or(prefixes.len());
        (
            s.binding == SymbolBinding::Weak,
            prefix_rank,
            s.kind != SymbolKind::Func,
            s.binding != SymbolBinding::Global,
            order,
        )
    };
    let best = |ni: bool| {
        candidates
            .iter()
            .enumerate()
            .filter(|(_, s)| !ni || syscall_name(s.name) == "ni_syscall")
            .min_by_key(|(order, s)| rank(*order, s))
            .map(|(_, s)| *s)
    };
    if let Some(ni) = best(true) {
        return Some((ni.name, false));
    }
    let chosen = best(false)?;
    Some((chosen.name, chosen.binding != SymbolBinding::Weak))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_strip_wrapper_prefixes() {
        assert_eq!(syscall_name("__x64_sys_openat"), "openat");
        assert_eq!(syscall_name("__arm64_compat_sys_openat"), "openat");
        assert_eq!(syscall_name("__s390x_sys_getpid"), "getpid");
        assert_eq!(syscall_name("__s390_compat_sys_ipc"), "ipc");
        assert_eq!(syscall_name("__ia32_sys_ni_syscall"), "ni_syscall");
        assert_eq!(syscall_name("sys_ni_syscall"), "ni_syscall");
        assert_eq!(syscall_name("compat_sys_ioctl"), "ioctl");
        assert_eq!(syscall_name("ppc_fadvise64_64"), "fadvise64_64");
        assert_eq!(syscall_name("sys_"), "sys_");
        assert_eq!(syscall_name("system_call"), "system_call");
    }
}
