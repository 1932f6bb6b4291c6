//! Function symbols of `.symtab`: every `STT_FUNC` symbol except the
//! `__pfx_*` padding the kernel emits before functions, with the name split
//! into its stem and GCC's transformation suffixes (`.isra.0`, `.cold`, ...).
//! In a relocatable object (a module) the addresses are the synthetic ones
//! of [`crate::module::Layout`].

use object::read::elf::{ElfFile, FileHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol, SymbolFlags, SymbolSection};

use crate::module::Layout;

/// One function symbol.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SymbolRow {
    /// Text before the first `.` of the name: the source function's name.
    pub stem: String,
    pub addr: u64,
    pub name: String,
    /// Non-numeric dot-separated parts after the stem, in name order
    /// (`foo.isra.0.cold` → `isra`, `cold`).
    pub suffixes: Vec<String>,
    pub size: u64,
    /// `STB_LOCAL`, `STB_GLOBAL`, `STB_WEAK`, ...
    pub binding: String,
    /// `STV_DEFAULT`, `STV_HIDDEN`, ...
    pub visibility: String,
    /// Section name, or `UND` / `ABS` / `COM` for special indices.
    pub section: String,
}

/// Splits a symbol name into stem and transformation suffixes.
pub fn split_name(name: &str) -> (&str, Vec<String>) {
    let mut parts = name.split('.');
    let stem = parts.next().unwrap_or_default();
    let suffixes = parts
        .filter(|p| !p.is_empty() && !p.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
        .collect();
    (stem, suffixes)
}

/// Every function symbol of the file, sorted by (stem, addr, name). With a
/// `layout` (a relocatable object), `addr` is `st_value` rebased by the
/// synthetic address of the symbol's section; else `st_value`.
pub fn function_symbols<Elf: FileHeader<Endian = Endianness>>(
    file: &ElfFile<'_, Elf>,
    layout: Option<&Layout>,
) -> object::Result<Vec<SymbolRow>> {
    let mut rows = Vec::new();
    for sym in file.symbols() {
        let SymbolFlags::Elf { st_info, st_other } = sym.flags() else {
            continue;
        };
        if st_info.st_type() != object::elf::STT_FUNC {
            continue;
        }
        let name = sym.name()?;
        if name.starts_with("__pfx_") || name.is_empty() {
            continue;
        }
        let (stem, suffixes) = split_name(name);
        let section = match sym.section() {
            SymbolSection::Section(index) => file.section_by_index(index)?.name()?.to_owned(),
            SymbolSection::Absolute => "ABS".to_owned(),
            SymbolSection::Common => "COM".to_owned(),
            _ => "UND".to_owned(),
        };
        let bind = st_info.st_bind();
        let visibility = st_other.visibility();
        rows.push(SymbolRow {
            stem: stem.to_owned(),
            addr: layout.map_or(sym.address(), |layout| {
                layout.symbol_address(sym.section_index(), sym.address())
            }),
            name: name.to_owned(),
            suffixes,
            size: sym.size(),
            binding: bind
                .name()
                .map_or_else(|| format!("STB_{}", bind.0), str::to_owned),
            visibility: visibility
                .name()
                .map_or_else(|| format!("STV_{}", visibility.0), str::to_owned),
            section,
        });
    }
    rows.sort();
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::split_name;

    #[test]
    fn splits_clone_suffixes() {
        assert_eq!(split_name("vfs_read"), ("vfs_read", vec![]));
        assert_eq!(
            split_name("foo.isra.0.cold"),
            ("foo", vec!["isra".to_owned(), "cold".to_owned()])
        );
        assert_eq!(
            split_name("bar.constprop.12"),
            ("bar", vec!["constprop".to_owned()])
        );
        assert_eq!(split_name("baz.part.3"), ("baz", vec!["part".to_owned()]));
        assert_eq!(
            split_name("qux.localalias"),
            ("qux", vec!["localalias".to_owned()])
        );
    }
}
