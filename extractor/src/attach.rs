//! Attachability: for each function name of an image, whether a kprobe and
//! an fentry/fexit program can attach to it, under which symbol, and why
//! not. The verdicts are derived from facts of the image alone:
//!
//! * kprobe targets are the `.symtab` function symbols whose stem is the
//!   name (the name itself and GCC's clones such as `.isra.0`,
//!   `.constprop.0`, `.part.0`; `.cold` fragments are not entry points).
//!   A target is refused when the kernel's kprobe blacklist holds it:
//!   its address is one of the `_kbl_addr_<fn>` slots of the
//!   `_kprobe_blacklist` section (`NOKPROBE_SYMBOL`, include/asm-generic/kprobes.h),
//!   or it lies in an area `populate_kprobe_blacklist` (kernel/kprobes.c)
//!   and `arch_populate_kprobe_blacklist` (arch/x86, arch/arm64
//!   kernel/probes) refuse, found by their linker-script labels
//!   (`__kprobes_text_start`…, `__noinstr_text_start`…, entry text on x86
//!   and arm64, irqentry/idmap/hyp text on arm64), or by the section name
//!   in a file linked without those labels. `.init.text` and `.exit.text`
//!   are freed after boot (a module's `.init.text` once it has loaded; its
//!   `.exit.text` stays while it is loaded and takes kprobes). A name carried by several symbols is
//!   *ambiguous*: `trace_kprobe` refuses a probe by such a name
//!   (`EADDRNOTAVAIL`, since 6.7 and its stable backports).
//! * fentry/fexit need a `BTF_KIND_FUNC` of the name in the image's `.BTF`,
//!   a symbol of exactly that name (the verifier resolves it through
//!   kallsyms), an ftrace call site inside that symbol (an address of the
//!   `__mcount_loc` table between `__start_mcount_loc` and
//!   `__stop_mcount_loc`, i.e. the function would be listed in
//!   `available_filter_functions`), and the name must not be in the
//!   verifier's `btf_id_deny` set (kernel/bpf/verifier.c, a `.BTF_ids` set).
//!   fexit alone is also refused for the `noreturn_deny` set (6.4+): the
//!   verdict stays `yes` (fentry) and its reason says so.
//! * coverage: copies of the function inlined into callers are call sites
//!   a probe on the symbol never sees; their count is kept with the verdict.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::functions::{FunctionEntry, FunctionStatus};
use crate::image_data::{ImageData, SymbolKind};
use crate::kfuncs::IdSet;
use crate::symbols::SymbolRow;

/// A kprobe verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kprobe {
    /// At least one target symbol is unique and not refused.
    Yes,
    /// Every usable target name is carried by several symbols.
    Ambiguous,
    /// No symbol, or every symbol is refused.
    No,
}

impl Kprobe {
    pub fn as_str(self) -> &'static str {
        match self {
            Kprobe::Yes => "yes",
            Kprobe::Ambiguous => "ambiguous",
            Kprobe::No => "no",
        }
    }
}

/// The attach verdicts of one function name in one image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachRow {
    pub name: String,
    pub kprobe: Kprobe,
    /// The symbol names a kprobe can be placed on (unique, not refused), in
    /// address order: the name itself, or its clones when it has none.
    pub kprobe_symbols: Vec<String>,
    /// Why, in words: the symbol used, or what refuses it.
    pub kprobe_reason: String,
    /// fentry/fexit can attach.
    pub fentry: bool,
    pub fentry_reason: String,
    /// The name is a `BTF_KIND_FUNC` of the image's `.BTF`; `None` when
    /// the image has no `.BTF`.
    pub in_btf: Option<bool>,
    /// A symbol of exactly this name holds an ftrace call site; `None`
    /// when the name has no such symbol or the image no `__mcount_loc`.
    pub ftrace: Option<bool>,
    /// Copies of the function inlined into callers: calls no probe on the
    /// symbol sees.
    pub inlined_sites: u32,
}

/// An address range the kprobe blacklist refuses, and the words for it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RefusedArea {
    start: u64,
    end: u64,
    reason: &'static str,
}

/// What the verdicts need from the image beyond its function tables.
#[derive(Clone, Debug, Default)]
pub struct ImageFacts {
    /// Addresses held by the `_kbl_addr_*` slots (`NOKPROBE_SYMBOL`).
    nokprobe: HashSet<u64>,
    refused: Vec<RefusedArea>,
    /// Sorted `__mcount_loc` addresses; `None` when the image has none.
    mcount: Option<Vec<u64>>,
    /// `BTF_KIND_FUNC` names; `None` when the image has no `.BTF`.
    btf_functions: Option<HashSet<String>>,
    /// Members of the verifier's `btf_id_deny` set.
    fentry_deny: BTreeSet<String>,
    /// Members of the verifier's `noreturn_deny` set (6.4+): functions
    /// that never return, which fexit programs may not attach to.
    fexit_deny: BTreeSet<String>,
    /// Symbol addresses carry the Thumb bit (32-bit Arm).
    thumb: bool,
    /// The facts are a kernel module's ([`ImageFacts::module`]).
    module: bool,
    /// Why `btf_functions` is `None` (the fentry reason); `None`: the
    /// image has no `.BTF` ([`ksurf_dataset::FENTRY_REASON_NO_BTF`]).
    no_btf_reason: Option<String>,
}

/// Linker-script label pairs of the areas the kprobe blacklist refuses:
/// `(start, end, reason, machines)`; an empty machine list applies to all.
const AREAS: &[(&str, &str, &str, &[&str])] = &[
    (
        "__kprobes_text_start",
        "__kprobes_text_end",
        "in .kprobes.text (__kprobes)",
        &[],
    ),
    (
        "__noinstr_text_start",
        "__noinstr_text_end",
        "in noinstr text",
        &[],
    ),
    (
        "__entry_text_start",
        "__entry_text_end",
        "in entry text",
        &["EM_X86_64", "EM_386", "EM_AARCH64"],
    ),
    (
        "__irqentry_text_start",
        "__irqentry_text_end",
        "in irqentry text",
        &["EM_AARCH64"],
    ),
    (
        "__idmap_text_start",
        "__idmap_text_end",
        "in idmap text",
        &["EM_AARCH64"],
    ),
    (
        "__hyp_text_start",
        "__hyp_text_end",
        "in hyp text",
        &["EM_AARCH64"],
    ),
    (
        "__hyp_idmap_text_start",
        "__hyp_idmap_text_end",
        "in hyp idmap text",
        &["EM_AARCH64"],
    ),
];

/// Section names refused in files linked without the kernel's labels, and
/// sections freed after boot.
const REFUSED_SECTIONS: &[(&str, &str)] = &[
    (".kprobes.text", "in .kprobes.text (__kprobes)"),
    (".noinstr.text", "in noinstr text"),
    (".entry.text", "in entry text"),
    (".init.text", "in .init.text (freed after boot)"),
    (".exit.text", "in .exit.text (freed after boot)"),
];

/// Sections of code freed after boot (`.init.text` first: a module's
/// [`ImageFacts::freed_sections`] is only that one).
const FREED_SECTIONS: &[&str] = &[".init.text", ".exit.text"];

impl ImageFacts {
    /// Reads the blacklist slots, refused areas and `__mcount_loc` table of
    /// `image`; `btf_functions` and `sets` come from `.BTF` and `.BTF_ids`.
    ///
    /// Errors: a `_kbl_addr_*` slot or `__mcount_loc` entry that cannot be
    /// read (outside every section, an unsupported relocation), or a label
    /// pair whose end lies before its start; the message names the file.
    pub fn read(
        image: &ImageData<'_>,
        btf_functions: Option<HashSet<String>>,
        sets: &[IdSet],
    ) -> Result<ImageFacts, String> {
        let p = image.path().display();
        let mut nokprobe = HashSet::new();
        for sym in image.symbols() {
            if sym.name.starts_with("_kbl_addr_") && sym.kind == SymbolKind::Object {
                let value = image
                    .read_pointer(sym.address)
                    .map_err(|e| format!("kprobe blacklist slot {}: {e}", sym.name))?;
                nokprobe.insert(value);
            }
        }
        let mut refused = Vec::new();
        for (start, end, reason, machines) in AREAS {
            if !machines.is_empty() && !machines.contains(&image.machine.as_str()) {
                continue;
            }
            let (Some(s), Some(e)) = (image.symbol(start), image.symbol(end)) else {
                continue;
            };
            if e.address < s.address {
                return Err(format!(
                    "{p}: {end} ({:#x}) lies before {start} ({:#x})",
                    e.address, s.address
                ));
            }
            refused.push(RefusedArea {
                start: s.address,
                end: e.address,
                reason,
            });
        }
        let mcount = read_mcount(image)?;
        let members = |set: &str| {
            sets.iter()
                .filter(|s| s.name == set)
                .flat_map(|s| s.members.iter().map(|m| m.function.clone()))
                .collect::<BTreeSet<String>>()
        };
        let fentry_deny = members("btf_id_deny");
        let fexit_deny = members("noreturn_deny");
        Ok(ImageFacts {
            nokprobe,
            refused,
            mcount,
            btf_functions,
            fentry_deny,
            fexit_deny,
            thumb: image.machine == "EM_ARM",
            module: false,
            no_btf_reason: None,
        })
    }

    /// The facts of a kernel module (`.ko`), from
    /// [`crate::module::ModuleAttachData`]: the addresses its
    /// `_kprobe_blacklist` holds and its ftrace call sites, in the
    /// synthetic layout its symbols use; the `BTF_KIND_FUNC` names of its
    /// split `.BTF`, or why there are none (no `.BTF`, unreadable);
    /// `machine` (`EM_ARM`: Thumb bit) as in `elf_machine`. A module has
    /// no refused areas of its own beyond its sections' names
    /// (`.kprobes.text`, `.noinstr.text`, and `.init.text`, freed once it
    /// has loaded; `.exit.text` stays while it is loaded and is not
    /// refused), and the verifier's deny sets name vmlinux functions.
    pub fn module(
        nokprobe: &[u64],
        ftrace_sites: Option<Vec<u64>>,
        btf_functions: Result<HashSet<String>, String>,
        machine: &str,
    ) -> ImageFacts {
        let (btf_functions, no_btf_reason) = match btf_functions {
            Ok(functions) => (Some(functions), None),
            Err(why) => (None, Some(why)),
        };
        ImageFacts {
            nokprobe: nokprobe.iter().copied().collect(),
            refused: Vec::new(),
            mcount: ftrace_sites,
            btf_functions,
            fentry_deny: BTreeSet::new(),
            fexit_deny: BTreeSet::new(),
            thumb: machine == "EM_ARM",
            module: true,
            no_btf_reason,
        }
    }

    /// Why the kprobe blacklist refuses the symbol `sym`, if it does.
    fn refusal(&self, sym: &SymbolRow) -> Option<&'static str> {
        if self.nokprobe.contains(&sym.addr) {
            return Some("NOKPROBE_SYMBOL");
        }
        let addr = self.code_address(sym.addr);
        if let Some(a) = self
            .refused
            .iter()
            .find(|a| addr >= a.start && addr < a.end)
        {
            return Some(a.reason);
        }
        if self.module {
            // A module's init code is freed once it has loaded; its exit
            // code stays while it is loaded (CONFIG_MODULE_UNLOAD) and
            // kprobes take it (only `within_module_init` is refused).
            match sym.section.as_str() {
                ".init.text" => return Some("in .init.text (freed once the module has loaded)"),
                ".exit.text" => return None,
                _ => {}
            }
        }
        REFUSED_SECTIONS
            .iter()
            .find(|(s, _)| *s == sym.section)
            .map(|(_, reason)| *reason)
    }

    /// Sections whose code is freed, and with it ftrace's records of its
    /// call sites: `.init.text` and `.exit.text` of a vmlinux
    /// (`ftrace_free_init_mem`), `.init.text` of a module (freed once it
    /// has loaded; `__exit` code is `notrace`, so it has no call sites to
    /// free, which its ftrace facts say).
    fn freed_sections(&self) -> &'static [&'static str] {
        if self.module {
            &FREED_SECTIONS[..1]
        } else {
            FREED_SECTIONS
        }
    }

    /// The address of the code a symbol value names (the Thumb bit cleared).
    fn code_address(&self, addr: u64) -> u64 {
        if self.thumb {
            addr & !1
        } else {
            addr
        }
    }

    /// Whether the symbol's code holds an ftrace call site; `None` without
    /// an `__mcount_loc` table.
    fn has_ftrace_site(&self, sym: &SymbolRow) -> Option<bool> {
        let mcount = self.mcount.as_ref()?;
        let start = self.code_address(sym.addr);
        let end = start.saturating_add(sym.size.max(1));
        let i = mcount.partition_point(|&a| a < start);
        Some(mcount.get(i).is_some_and(|&a| a < end))
    }
}

/// The `__mcount_loc` addresses of the image, sorted: the table between
/// the kernel's `__start_mcount_loc` and `__stop_mcount_loc` labels, or a
/// section named `__mcount_loc` (an object linked without the kernel's
/// script). `None` when there is neither.
fn read_mcount(image: &ImageData<'_>) -> Result<Option<Vec<u64>>, String> {
    let p = image.path().display();
    let range = match (
        image.symbol("__start_mcount_loc"),
        image.symbol("__stop_mcount_loc"),
    ) {
        (Some(s), Some(e)) => Some((s.address, e.address)),
        _ => image
            .sections()
            .iter()
            .find(|s| s.name == "__mcount_loc")
            .map(|s| (s.address, s.address + s.size)),
    };
    let Some((start, end)) = range else {
        return Ok(None);
    };
    let step = u64::from(image.pointer_size());
    if end < start || (end - start) % step != 0 {
        return Err(format!(
            "{p}: the __mcount_loc table {start:#x}..{end:#x} is not a whole number of {step}-byte entries"
        ));
    }
    // The whole table must lie in one section with contents before any
    // room is made for it (a hostile label pair could span gigabytes).
    if end > start {
        image
            .bytes_at(start, end - start)
            .map_err(|e| format!("the __mcount_loc table: {e}"))?;
    }
    let mut out = Vec::with_capacity(((end - start) / step) as usize);
    let mut at = start;
    while at < end {
        out.push(
            image
                .read_pointer(at)
                .map_err(|e| format!("__mcount_loc entry at {at:#x}: {e}"))?,
        );
        at += step;
    }
    out.sort_unstable();
    Ok(Some(out))
}

/// One row per name of `statuses` (sorted by name), from the name's
/// entries (sorted by name) and function symbols (any order).
pub fn rows(
    facts: &ImageFacts,
    statuses: &[FunctionStatus],
    entries: &[FunctionEntry],
    symbols: &[SymbolRow],
) -> Vec<AttachRow> {
    let mut by_stem: HashMap<&str, Vec<&SymbolRow>> = HashMap::new();
    for sym in symbols {
        by_stem.entry(sym.stem.as_str()).or_default().push(sym);
    }
    for syms in by_stem.values_mut() {
        syms.sort_by(|a, b| (a.addr, &a.name).cmp(&(b.addr, &b.name)));
    }
    let mut inlined: HashMap<&str, u32> = HashMap::new();
    let mut prototypes: HashMap<&str, BTreeSet<&str>> = HashMap::new();
    for e in entries {
        *inlined.entry(e.name.as_str()).or_default() += e.inline_callers.len() as u32;
        if let Some(sig) = &e.signature {
            prototypes
                .entry(e.name.as_str())
                .or_default()
                .insert(sig.prototype.as_str());
        }
    }
    statuses
        .iter()
        .map(|status| {
            let name = status.name.as_str();
            let syms = by_stem.get(name).map(Vec::as_slice).unwrap_or(&[]);
            let inlined_sites = inlined.get(name).copied().unwrap_or(0);
            let prototypes = prototypes.get(name).map_or(0, BTreeSet::len);
            row(facts, name, syms, inlined_sites, prototypes)
        })
        .collect()
}

/// The verdicts of one name whose symbols (same stem) are `syms`, sorted
/// by address.
fn row(
    facts: &ImageFacts,
    name: &str,
    syms: &[&SymbolRow],
    inlined_sites: u32,
    prototypes: usize,
) -> AttachRow {
    let (kprobe, kprobe_symbols, kprobe_reason) = kprobe_verdict(facts, name, syms, inlined_sites);
    let exact: Vec<&SymbolRow> = syms.iter().copied().filter(|s| s.name == name).collect();
    let ftrace = if exact.is_empty() {
        None
    } else {
        exact
            .iter()
            .map(|s| facts.has_ftrace_site(s))
            .try_fold(false, |any, has| has.map(|h| any || h))
    };
    // Code freed after boot: ftrace forgets its records (ftrace_free_init_mem).
    let freed = exact.iter().find_map(|s| {
        facts
            .freed_sections()
            .contains(&s.section.as_str())
            .then(|| format!("in {}", s.section))
    });
    let in_btf = facts
        .btf_functions
        .as_ref()
        .map(|functions| functions.contains(name));
    let clones = || {
        syms.iter()
            .filter(|s| !s.suffixes.iter().any(|x| x == "cold"))
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (fentry, mut fentry_reason) = match in_btf {
        None => (
            false,
            facts
                .no_btf_reason
                .clone()
                .unwrap_or_else(|| ksurf_dataset::FENTRY_REASON_NO_BTF.to_owned()),
        ),
        Some(_) if facts.fentry_deny.contains(name) => (
            false,
            "in the verifier's btf_id_deny set".to_owned(),
        ),
        Some(_) if freed.is_some() => (
            false,
            if facts.module {
                format!("{}: ftrace drops its call sites once the module's init memory is freed", freed.unwrap_or_default())
            } else {
                format!("{}: ftrace drops its call sites once init memory is freed", freed.unwrap_or_default())
            },
        ),
        Some(false) => (false, not_in_btf_reason(name, syms, &exact, ftrace, prototypes, &clones)),
        Some(true) if exact.is_empty() => (
            false,
            if syms.is_empty() {
                "in .BTF, but no symbol: the verifier finds no address in kallsyms".to_owned()
            } else {
                format!(
                    "in .BTF, but no symbol named {name} (only {}): the verifier finds no address in kallsyms",
                    clones()
                )
            },
        ),
        Some(true) if ftrace == Some(false) => (
            false,
            "in .BTF, but no ftrace call site (notrace): nothing to patch".to_owned(),
        ),
        Some(true) if ftrace.is_none() && facts.module => (
            false,
            "in .BTF, but the module has no __mcount_loc or __patchable_function_entries section (no ftrace call sites)".to_owned(),
        ),
        Some(true) if ftrace.is_none() => (
            false,
            "in .BTF, but the image has no __mcount_loc table (no dynamic ftrace)".to_owned(),
        ),
        Some(true) if exact.len() > 1 => (
            true,
            format!(
                "in .BTF with an ftrace call site; {} symbols named {name}: attaches to the first kallsyms finds",
                exact.len()
            ),
        ),
        Some(true) => (true, "in .BTF with an ftrace call site".to_owned()),
    };
    if fentry && inlined_sites > 0 {
        fentry_reason.push_str(&missed_sites(inlined_sites));
    }
    if fentry && facts.fexit_deny.contains(name) {
        fentry_reason.push_str(FEXIT_NORETURN);
    }
    AttachRow {
        name: name.to_owned(),
        kprobe,
        kprobe_symbols,
        kprobe_reason,
        fentry,
        fentry_reason,
        in_btf,
        ftrace,
        inlined_sites,
    }
}

/// Added to the reason of a fentry verdict `yes` for a function of the
/// verifier's `noreturn_deny` set: fentry attaches, fexit does not.
pub const FEXIT_NORETURN: &str =
    "; fexit refused: in the verifier's noreturn_deny set (never returns)";

/// `; misses N inlined call site(s)`.
fn missed_sites(n: u32) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("; misses {n} inlined call site{s}")
}

/// Why a name is not a `BTF_KIND_FUNC`, from what pahole filters on.
fn not_in_btf_reason(
    name: &str,
    syms: &[&SymbolRow],
    exact: &[&SymbolRow],
    ftrace: Option<bool>,
    prototypes: usize,
    clones: &dyn Fn() -> String,
) -> String {
    let why = if syms.is_empty() {
        "no symbol (inlined at every call site, or not emitted)".to_owned()
    } else if exact.is_empty() {
        format!("no symbol named {name}, only {}", clones())
    } else if ftrace == Some(false) {
        "no ftrace call site (notrace)".to_owned()
    } else if exact.len() > 1 {
        format!("{} symbols named {name}", exact.len())
    } else if prototypes > 1 {
        format!("{prototypes} different prototypes among its instances")
    } else {
        "left out by pahole".to_owned()
    };
    format!("not in .BTF: {why}")
}

/// The kprobe verdict, usable symbols and reason of one name.
fn kprobe_verdict(
    facts: &ImageFacts,
    name: &str,
    syms: &[&SymbolRow],
    inlined_sites: u32,
) -> (Kprobe, Vec<String>, String) {
    // Entry points only: `.cold` parts are split-off bodies.
    let targets: Vec<&SymbolRow> = syms
        .iter()
        .copied()
        .filter(|s| !s.suffixes.iter().any(|x| x == "cold"))
        .collect();
    if targets.is_empty() {
        let reason = if !syms.is_empty() {
            "no symbol: only .cold parts".to_owned()
        } else if inlined_sites > 0 {
            format!("no symbol: inlined at every call site ({inlined_sites})")
        } else {
            "no symbol (not emitted)".to_owned()
        };
        return (Kprobe::No, Vec::new(), reason);
    }
    // Target names in address order of their first symbol.
    let mut names: Vec<&str> = Vec::new();
    for t in &targets {
        if !names.contains(&t.name.as_str()) {
            names.push(&t.name);
        }
    }
    let mut usable = Vec::new();
    let mut ambiguous = Vec::new();
    let mut refused = Vec::new();
    for n in &names {
        let of_name: Vec<&SymbolRow> = targets.iter().copied().filter(|t| t.name == *n).collect();
        if of_name.len() > 1 {
            let addrs: Vec<String> = of_name.iter().map(|s| format!("{:#x}", s.addr)).collect();
            ambiguous.push(format!(
                "{} symbols named {n} ({})",
                of_name.len(),
                addrs.join(", ")
            ));
        } else if let Some(why) = facts.refusal(of_name[0]) {
            refused.push(format!("{n}: {why}"));
        } else {
            usable.push((*n).to_owned());
        }
    }
    let missed = if inlined_sites > 0 {
        missed_sites(inlined_sites)
    } else {
        String::new()
    };
    if !usable.is_empty() {
        let mut reason = if usable.len() == 1 && usable[0] == name {
            format!("symbol {name}")
        } else if !usable.iter().any(|u| u == name) {
            if usable.len() == 1 {
                format!("clone {}: the source name has no usable symbol", usable[0])
            } else {
                format!(
                    "{} clones ({}): attach to each to see every call",
                    usable.len(),
                    usable.join(", ")
                )
            }
        } else {
            format!(
                "{} symbols ({}): attach to each to see every call",
                usable.len(),
                usable.join(", ")
            )
        };
        for other in ambiguous.iter().chain(&refused) {
            reason.push_str(&format!("; {other}"));
        }
        reason.push_str(&missed);
        (Kprobe::Yes, usable, reason)
    } else if !ambiguous.is_empty() {
        let mut reason = ambiguous.join("; ");
        reason.push_str(": a probe by this name is refused (EADDRNOTAVAIL since 6.7 and stable backports); probe by address");
        for other in &refused {
            reason.push_str(&format!("; {other}"));
        }
        (Kprobe::Ambiguous, Vec::new(), reason)
    } else {
        (Kprobe::No, Vec::new(), refused.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(name: &str, addr: u64, section: &str) -> SymbolRow {
        let (stem, suffixes) = crate::symbols::split_name(name);
        SymbolRow {
            stem: stem.to_owned(),
            addr,
            name: name.to_owned(),
            suffixes,
            size: 0x20,
            binding: "STB_LOCAL".to_owned(),
            visibility: "STV_DEFAULT".to_owned(),
            section: section.to_owned(),
        }
    }

    fn facts() -> ImageFacts {
        ImageFacts {
            nokprobe: [0x3000].into_iter().collect(),
            refused: vec![RefusedArea {
                start: 0x4000,
                end: 0x5000,
                reason: "in noinstr text",
            }],
            mcount: Some(vec![0x1004, 0x2000, 0x3000, 0x4000, 0x6004]),
            btf_functions: Some(
                [
                    "plain",
                    "clone",
                    "blocked",
                    "noinstr_fn",
                    "twice",
                    "notraced",
                    "denied",
                    "never_returns",
                ]
                .into_iter()
                .map(str::to_owned)
                .collect(),
            ),
            fentry_deny: ["denied".to_owned()].into_iter().collect(),
            fexit_deny: ["never_returns".to_owned()].into_iter().collect(),
            thumb: false,
            module: false,
            no_btf_reason: None,
        }
    }

    fn verdict(facts: &ImageFacts, name: &str, syms: &[SymbolRow], inlined: u32) -> AttachRow {
        let refs: Vec<&SymbolRow> = syms.iter().collect();
        row(facts, name, &refs, inlined, 1)
    }

    #[test]
    fn plain_symbol_attaches_both_ways() {
        let r = verdict(&facts(), "plain", &[sym("plain", 0x1000, ".text")], 0);
        assert_eq!(r.kprobe, Kprobe::Yes);
        assert_eq!(r.kprobe_symbols, ["plain"]);
        assert_eq!(r.kprobe_reason, "symbol plain");
        assert!(r.fentry);
        assert_eq!(r.fentry_reason, "in .BTF with an ftrace call site");
        assert_eq!((r.in_btf, r.ftrace), (Some(true), Some(true)));
    }

    #[test]
    fn clone_only_names_the_clone_for_kprobes_and_refuses_fentry() {
        let syms = [
            sym("clone.isra.0", 0x2000, ".text"),
            sym("clone.isra.0.cold", 0x9000, ".text.unlikely"),
        ];
        let r = verdict(&facts(), "clone", &syms, 2);
        assert_eq!(r.kprobe, Kprobe::Yes);
        assert_eq!(r.kprobe_symbols, ["clone.isra.0"]);
        assert_eq!(
            r.kprobe_reason,
            "clone clone.isra.0: the source name has no usable symbol; misses 2 inlined call sites"
        );
        assert!(!r.fentry);
        assert_eq!(
            r.fentry_reason,
            "in .BTF, but no symbol named clone (only clone.isra.0): the verifier finds no address in kallsyms"
        );
        assert_eq!(r.ftrace, None);
    }

    #[test]
    fn blacklisted_and_noinstr_symbols_are_refused() {
        let f = facts();
        let r = verdict(&f, "blocked", &[sym("blocked", 0x3000, ".text")], 0);
        assert_eq!(
            (r.kprobe, r.kprobe_reason.as_str()),
            (Kprobe::No, "blocked: NOKPROBE_SYMBOL")
        );
        assert!(r.fentry, "fentry does not consult the kprobe blacklist");
        let r = verdict(&f, "noinstr_fn", &[sym("noinstr_fn", 0x4000, ".text")], 0);
        assert_eq!(
            (r.kprobe, r.kprobe_reason.as_str()),
            (Kprobe::No, "noinstr_fn: in noinstr text")
        );
        let r = verdict(&f, "boot", &[sym("boot", 0x7000, ".init.text")], 0);
        assert_eq!(r.kprobe_reason, "boot: in .init.text (freed after boot)");
        assert_eq!(
            r.fentry_reason,
            "in .init.text: ftrace drops its call sites once init memory is freed"
        );
        // Not in .BTF and no call site in [0x7000, 0x7020).
        let r = verdict(&f, "untraced", &[sym("untraced", 0x7000, ".text")], 0);
        assert_eq!(
            r.fentry_reason,
            "not in .BTF: no ftrace call site (notrace)"
        );
        let r = verdict(&f, "plain", &[sym("plain", 0x1000, ".init.text")], 0);
        assert_eq!(
            (r.fentry, r.fentry_reason.as_str()),
            (
                false,
                "in .init.text: ftrace drops its call sites once init memory is freed"
            )
        );
    }

    #[test]
    fn two_symbols_of_one_name_are_ambiguous() {
        let syms = [sym("twice", 0x6000, ".text"), sym("twice", 0x8000, ".text")];
        let r = verdict(&facts(), "twice", &syms, 0);
        assert_eq!(r.kprobe, Kprobe::Ambiguous);
        assert!(r.kprobe_symbols.is_empty());
        assert_eq!(
            r.kprobe_reason,
            "2 symbols named twice (0x6000, 0x8000): a probe by this name is refused \
             (EADDRNOTAVAIL since 6.7 and stable backports); probe by address"
        );
        assert!(r.fentry);
        assert_eq!(
            r.fentry_reason,
            "in .BTF with an ftrace call site; 2 symbols named twice: attaches to the first kallsyms finds"
        );
    }

    #[test]
    fn notrace_deny_inlined_and_no_btf() {
        let f = facts();
        let r = verdict(&f, "notraced", &[sym("notraced", 0x5800, ".text")], 0);
        assert_eq!((r.kprobe, r.fentry), (Kprobe::Yes, false));
        assert_eq!(
            r.fentry_reason,
            "in .BTF, but no ftrace call site (notrace): nothing to patch"
        );
        let r = verdict(&f, "denied", &[sym("denied", 0x1000, ".text")], 0);
        assert_eq!(r.fentry_reason, "in the verifier's btf_id_deny set");
        // fentry attaches to a function of noreturn_deny; fexit does not.
        let r = verdict(
            &f,
            "never_returns",
            &[sym("never_returns", 0x2000, ".text")],
            0,
        );
        assert!(r.fentry);
        assert_eq!(
            r.fentry_reason,
            "in .BTF with an ftrace call site; fexit refused: in the verifier's noreturn_deny set (never returns)"
        );
        let r = verdict(&f, "gone", &[], 3);
        assert_eq!(r.kprobe_reason, "no symbol: inlined at every call site (3)");
        assert_eq!(
            r.fentry_reason,
            "not in .BTF: no symbol (inlined at every call site, or not emitted)"
        );
        let none = ImageFacts {
            btf_functions: None,
            mcount: None,
            ..facts()
        };
        let r = verdict(&none, "plain", &[sym("plain", 0x1000, ".text")], 0);
        assert_eq!((r.in_btf, r.ftrace, r.fentry), (None, None, false));
        assert_eq!(
            r.fentry_reason,
            "the image has no .BTF (CONFIG_DEBUG_INFO_BTF is not set)"
        );
    }

    #[test]
    fn a_modules_facts_give_its_own_reasons() {
        let btf = ["traced", "notraced", "freed"].map(str::to_owned);
        let m = ImageFacts::module(
            &[0x1100],
            Some(vec![0x1004, 0x1200]),
            Ok(btf.clone().into_iter().collect()),
            "EM_X86_64",
        );
        let r = verdict(&m, "traced", &[sym("traced", 0x1000, ".text")], 0);
        assert_eq!((r.kprobe, r.fentry), (Kprobe::Yes, true));
        assert_eq!(r.fentry_reason, "in .BTF with an ftrace call site");
        let r = verdict(&m, "notraced", &[sym("notraced", 0x1100, ".text")], 0);
        assert_eq!(r.kprobe, Kprobe::No);
        assert_eq!(r.kprobe_reason, "notraced: NOKPROBE_SYMBOL");
        assert_eq!(
            r.fentry_reason,
            "in .BTF, but no ftrace call site (notrace): nothing to patch"
        );
        let r = verdict(&m, "freed", &[sym("freed", 0x1200, ".init.text")], 0);
        assert_eq!((r.kprobe, r.fentry), (Kprobe::No, false));
        assert_eq!(
            r.kprobe_reason,
            "freed: in .init.text (freed once the module has loaded)"
        );
        assert_eq!(
            r.fentry_reason,
            "in .init.text: ftrace drops its call sites once the module's init memory is freed"
        );
        // Exit code stays while the module is loaded: kprobes attach
        // (it runs at unload); `__exit` is notrace, so no fentry.
        let r = verdict(&m, "freed", &[sym("freed", 0x1300, ".exit.text")], 0);
        assert_eq!((r.kprobe, r.fentry), (Kprobe::Yes, false));
        assert_eq!(r.kprobe_reason, "symbol freed");
        assert_eq!(
            r.fentry_reason,
            "in .BTF, but no ftrace call site (notrace): nothing to patch"
        );
        let r = verdict(&m, "absent", &[sym("absent", 0x1200, ".text")], 0);
        assert_eq!(r.in_btf, Some(false));

        let bare = ImageFacts::module(
            &[],
            None,
            Err("the module has no .BTF (CONFIG_DEBUG_INFO_BTF_MODULES is not set)".to_owned()),
            "EM_ARM",
        );
        let r = verdict(&bare, "traced", &[sym("traced", 0x1001, ".text")], 0);
        assert_eq!(
            (r.kprobe, r.in_btf, r.ftrace, r.fentry),
            (Kprobe::Yes, None, None, false)
        );
        assert_eq!(
            r.fentry_reason,
            "the module has no .BTF (CONFIG_DEBUG_INFO_BTF_MODULES is not set)"
        );
        let untraced = ImageFacts::module(&[], None, Ok(btf.into_iter().collect()), "EM_X86_64");
        let r = verdict(&untraced, "traced", &[sym("traced", 0x1000, ".text")], 0);
        assert_eq!(
            r.fentry_reason,
            "in .BTF, but the module has no __mcount_loc or __patchable_function_entries section (no ftrace call sites)"
        );
    }

    #[test]
    fn thumb_bit_is_cleared_before_range_checks() {
        let f = ImageFacts {
            thumb: true,
            ..facts()
        };
        let r = verdict(&f, "plain", &[sym("plain", 0x1001, ".text")], 0);
        assert_eq!(r.ftrace, Some(true));
        let r = verdict(&f, "noinstr_fn", &[sym("noinstr_fn", 0x4001, ".text")], 0);
        assert_eq!(r.kprobe, Kprobe::No);
    }
}
