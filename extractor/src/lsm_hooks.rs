//! The LSM hooks of one image, one [`LsmHookRow`] per hook: its prototype
//! and whether BPF programs can attach to it (the BPF LSM).
//!
//! Facts and where they come from:
//!
//! * Hook names: the members of `struct security_hook_heads` (DWARF; one
//!   `struct hlist_head` per `LSM_HOOK()` line of
//!   `include/linux/lsm_hook_defs.h`), in member order. Kernels from 6.9
//!   on, where LSM hooks became static calls, have no such struct; there
//!   the members of `struct lsm_static_calls_table` (one array of
//!   `struct lsm_static_call` per `LSM_HOOK()` line) give the names, and
//!   failing both, the members of `union security_list_options`.
//! * `bpf_lsm`: the ELF symbol table has a function `bpf_lsm_<hook>`, the
//!   BPF LSM's attach target (`kernel/bpf/bpf_lsm.c` defines one per
//!   `LSM_HOOK()` line when `CONFIG_BPF_LSM` is set).
//! * `signature`: the DWARF prototype of `bpf_lsm_<hook>` when an entry
//!   has one; it is generated from the same `LSM_HOOK()` line, so it is
//!   the hook's prototype with its parameter names. The prototype text is
//!   renamed to the hook (`int file_open(struct file *file);`). Failing
//!   that, the type of the hook's member of `union security_list_options`
//!   (a function pointer type: parameter types without names).
//!   `signature_source` says which.
//!
//! DepSurf took the prototype of the `security_<hook>` wrapper of
//! `security/security.c`. That wrapper is a separate, hand-written function:
//! some hooks have none or several (`security_inode_init_security` calls
//! `inode_init_security`), some wrappers take other parameters than the
//! hook (`security_path_rename` had `flags` before the hook did), and
//! wrappers are often inlined away. The hook's own prototype is what an
//! LSM BPF program is checked against.

use std::collections::{HashMap, HashSet};

use crate::dwarf::types::Signature;
use crate::functions::FunctionEntry;
use crate::kfuncs::signatures_by_name;
use crate::symbols::SymbolRow;
use crate::types::{TypeDef, TypeKind};

/// Where a hook's signature came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureSource {
    /// The DWARF prototype of `bpf_lsm_<hook>`.
    BpfLsm,
    /// The hook's member of `union security_list_options`.
    SecurityListOptions,
}

impl SignatureSource {
    /// The `signature_source` column: `bpf_lsm`, `security_list_options`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureSource::BpfLsm => "bpf_lsm",
            SignatureSource::SecurityListOptions => "security_list_options",
        }
    }
}

/// One LSM hook: a row of the LSM hook table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LsmHookRow {
    /// The hook's name, as in `LSM_HOOK()`: `file_open`.
    pub name: String,
    pub signature: Option<Signature>,
    /// `None` when no signature was found.
    pub signature_source: Option<SignatureSource>,
    /// The function `bpf_lsm_<name>` is in the symbol table.
    pub bpf_lsm: bool,
}

/// The struct or union naming the hooks, in order of preference.
pub const HOOK_TYPES: [(&str, TypeKind); 3] = [
    ("security_hook_heads", TypeKind::Struct),
    ("lsm_static_calls_table", TypeKind::Struct),
    ("security_list_options", TypeKind::Union),
];

/// The hook rows of the image, sorted by name. `symbols` are the image's
/// function symbols (`.symtab`, as [`crate::symbols::function_symbols`]
/// read them for the function kind). An image without any of
/// [`HOOK_TYPES`] has none.
pub fn extract(
    symbols: &[SymbolRow],
    functions: &[FunctionEntry],
    types: &[TypeDef],
) -> Vec<LsmHookRow> {
    let bpf_lsm: HashSet<&str> = symbols
        .iter()
        .filter_map(|s| s.name.strip_prefix("bpf_lsm_"))
        .collect();
    rows(&bpf_lsm, functions, types)
}

/// Builds the rows given the hook names having a `bpf_lsm_` function.
pub fn rows(
    bpf_lsm: &HashSet<&str>,
    functions: &[FunctionEntry],
    types: &[TypeDef],
) -> Vec<LsmHookRow> {
    let Some(names) = hook_names(types) else {
        return Vec::new();
    };
    let options: HashMap<&str, &str> = largest(types, "security_list_options", TypeKind::Union)
        .map(|u| {
            u.members
                .iter()
                .filter(|m| m.depth == 0)
                .filter_map(|m| Some((m.name.as_deref()?, m.ty.as_str())))
                .collect()
        })
        .unwrap_or_default();
    let signatures = signatures_by_name(functions);
    let mut out: Vec<LsmHookRow> = names
        .into_iter()
        .map(|name| {
            let from_bpf = signatures
                .get(format!("bpf_lsm_{name}").as_str())
                .map(|s| rename(s, &format!("bpf_lsm_{name}("), &format!("{name}(")));
            let (signature, signature_source) = match from_bpf {
                Some(s) => (Some(s), Some(SignatureSource::BpfLsm)),
                None => match options.get(name).and_then(|ty| parse_fn_pointer(ty, name)) {
                    Some(s) => (Some(s), Some(SignatureSource::SecurityListOptions)),
                    None => (None, None),
                },
            };
            LsmHookRow {
                bpf_lsm: bpf_lsm.contains(name),
                name: name.to_owned(),
                signature,
                signature_source,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// The definition of `name` with the most members.
fn largest<'t>(types: &'t [TypeDef], name: &str, kind: TypeKind) -> Option<&'t TypeDef> {
    types
        .iter()
        .filter(|t| t.kind == kind && t.name == name)
        .max_by_key(|t| t.members.len())
}

/// The hook names: named direct members of the first of [`HOOK_TYPES`]
/// the image defines.
pub fn hook_names(types: &[TypeDef]) -> Option<Vec<&str>> {
    HOOK_TYPES.iter().find_map(|(name, kind)| {
        let t = largest(types, name, *kind)?;
        Some(
            t.members
                .iter()
                .filter(|m| m.depth == 0)
                .filter_map(|m| m.name.as_deref())
                .collect(),
        )
    })
}

fn rename(sig: &Signature, from: &str, to: &str) -> Signature {
    Signature {
        prototype: sig.prototype.replacen(from, to, 1),
        ..sig.clone()
    }
}

/// The signature of a function pointer type as members render it
/// (`int (*)(const struct cred *, struct file *)`), declared as `name`;
/// `None` for any other type.
pub fn parse_fn_pointer(ty: &str, name: &str) -> Option<Signature> {
    let ty = ty.trim();
    let inner = ty.strip_suffix(')')?;
    // The parameter list: the group closed by the last parenthesis.
    let mut depth = 0usize;
    let mut open = None;
    for (i, c) in inner.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth == 0 => {
                open = Some(i);
                break;
            }
            '(' => depth -= 1,
            _ => {}
        }
    }
    let open = open?;
    let list = &inner[open + 1..];
    let return_type = inner[..open].trim_end().strip_suffix("(*)")?.trim_end();
    if return_type.is_empty() {
        return None;
    }
    let mut params: Vec<String> = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in list.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                params.push(list[start..i].trim().to_owned());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return None;
    }
    let last = list[start..].trim();
    if !last.is_empty() {
        params.push(last.to_owned());
    }
    if params.len() == 1 && params[0] == "void" {
        params.clear();
    }
    let variadic = params.last().is_some_and(|p| p == "...");
    if variadic {
        params.pop();
    }
    let mut shown = params.clone();
    if variadic {
        shown.push("...".to_owned());
    }
    if shown.is_empty() {
        shown.push("void".to_owned());
    }
    let sep = if return_type.ends_with('*') { "" } else { " " };
    Some(Signature {
        prototype: format!("{return_type}{sep}{name}({});", shown.join(", ")),
        return_type: return_type.to_owned(),
        params: params.into_iter().map(|t| (None, t)).collect(),
        variadic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_function_pointer_types() {
        let s = parse_fn_pointer("int (*)(const struct cred *, struct file *)", "x").unwrap();
        assert_eq!(s.prototype, "int x(const struct cred *, struct file *);");
        assert_eq!(s.return_type, "int");
        assert_eq!(
            s.params,
            vec![
                (None, "const struct cred *".to_owned()),
                (None, "struct file *".to_owned())
            ]
        );
        let s = parse_fn_pointer("void (*)(void)", "y").unwrap();
        assert_eq!(s.prototype, "void y(void);");
        assert!(s.params.is_empty());
        let s = parse_fn_pointer(
            "struct dentry *(*)(int (*)(void *, int), char [16], ...)",
            "z",
        )
        .unwrap();
        assert_eq!(s.return_type, "struct dentry *");
        assert_eq!(
            s.params,
            vec![
                (None, "int (*)(void *, int)".to_owned()),
                (None, "char [16]".to_owned())
            ]
        );
        assert!(s.variadic);
        assert_eq!(
            s.prototype,
            "struct dentry *z(int (*)(void *, int), char [16], ...);"
        );
        assert_eq!(parse_fn_pointer("struct hlist_head", "w"), None);
        assert_eq!(parse_fn_pointer("int (*)(int", "w"), None);
        assert_eq!(parse_fn_pointer("int [4]", "w"), None);
    }
}
