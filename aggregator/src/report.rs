//! The per-function Markdown page, line for line in the structure of the
//! DepSurf website's pages: `## Status` with one list per group (issues or
//! ✅ per image, details with prototype, collision, inline,
//! transformation, instances and symbols), then `## Differences` with one
//! list per group of the compared pairs' signature changes. Where the
//! images have attach verdicts (`function_attach`), the page opens with an
//! attach matrix (images × DepSurf letters, kprobe and fentry verdicts) and
//! each image's details give the two verdicts with their reasons; a page
//! without verdicts (a DepSurf page read back) is DepSurf's, line for line.

use std::fmt::Write;

use crate::history::{FunctionHistory, GroupHistory, PairHistory};
use crate::model::{Change, ChangeKind, Issue, Presence, StatusRow};

/// Escapes text for HTML (labels and types inside `<code>`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// `text` in `<code>`, escaped.
pub fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Declares `name` with the C type `ty` (as the extractor renders types:
/// `struct page *`, `void (*)(int, void *)`, `int (*)[4]`, `int [4]`).
pub fn declaration(ty: &str, name: Option<&str>) -> String {
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return ty.to_owned();
    };
    // A pointer to function or array: the name goes inside the innermost `(*`.
    if let Some(open) = ty.rfind("(*") {
        if let Some(close) = ty[open..].find(')') {
            let at = open + close;
            return format!("{}{name}{}", &ty[..at], &ty[at..]);
        }
    }
    if let Some(bracket) = ty.find('[') {
        let base = ty[..bracket].trim_end();
        return format!("{base} {name}{}", &ty[bracket..]);
    }
    if ty.ends_with('*') {
        return format!("{ty}{name}");
    }
    format!("{ty} {name}")
}

/// How [`render_with`] lays out a page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Runs of at least this many consecutive images of a group that are
    /// the same but for addresses (status, modules, prototype, collision,
    /// inlining, instances' places and callers, symbols' names, sizes and
    /// bindings, attach verdicts) are shown as one range, in the attach
    /// matrix and in the status list (`In <code>6.1.0-40</code> …
    /// <code>6.1.0-50</code> (11 images): ✅`, with the last image's
    /// details). 0 or 1: every image on its own, DepSurf's layout.
    pub collapse_runs: usize,
}

/// The Markdown page of one function, in DepSurf's layout (every image on
/// its own).
pub fn render(history: &FunctionHistory) -> String {
    render_with(history, Layout::default())
}

/// What must be equal for two images to share a range: everything the
/// page shows of them but their labels and addresses.
fn sameness_key(row: &StatusRow) -> String {
    let mut out = format!("{:?}|{:?}|", row.issues(), row.modules);
    if let Some(p) = &row.presence {
        let mut p = p.clone();
        for i in &mut p.instances {
            i.addr = None;
        }
        for s in &mut p.symbols {
            s.addr = 0;
        }
        out.push_str(&format!("{:?}", p));
    }
    out
}

/// Consecutive runs of `items` with equal keys, as (start, end exclusive);
/// runs shorter than `min` are split into single items.
fn runs<T>(items: &[T], min: usize, key: impl Fn(&T) -> String) -> Vec<(usize, usize)> {
    let keys: Vec<String> = items.iter().map(key).collect();
    let mut out = Vec::new();
    let mut start = 0;
    while start < items.len() {
        let mut end = start + 1;
        while end < items.len() && keys[end] == keys[start] {
            end += 1;
        }
        if min > 1 && end - start >= min {
            out.push((start, end));
        } else {
            out.extend((start..end).map(|i| (i, i + 1)));
        }
        start = end;
    }
    out
}

/// `<code>first</code> … <code>last</code> (N images)` for a range of
/// more than one image, `<code>label</code>` for one.
fn range_label(first: &StatusRow, last: &StatusRow, count: usize) -> String {
    if count == 1 {
        code(&first.label)
    } else {
        format!(
            "{} … {} ({count} images)",
            code(&first.label),
            code(&last.label)
        )
    }
}

/// The Markdown page of one function, laid out by `layout`.
pub fn render_with(history: &FunctionHistory, layout: Layout) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Function: {}\n", code(&history.name));
    if !history.present_anywhere() {
        // Only modules define it (history::from_dataset gives no page
        // otherwise): say so before the Absent rows.
        out.push_str(
            "Built into no image's vmlinux: the kernel modules named below define it. \
             Its probes attach once the module is loaded; `ksurf check` gives each \
             module's own kprobe and fentry verdicts.\n\n",
        );
    }
    matrix(&mut out, history, layout);
    out.push_str("## Status\n");
    for group in &history.groups {
        let _ = writeln!(out, "<b>{}</b>", escape(&group.name));
        out.push_str("<ul>\n");
        for (start, end) in runs(&group.members, layout.collapse_runs, sameness_key) {
            out.push_str("<li>\n");
            let (first, last) = (&group.members[start], &group.members[end - 1]);
            status(
                &mut out,
                last,
                &range_label(first, last, end - start),
                end - start > 1,
            );
            out.push_str("</li>\n");
        }
        out.push_str("</ul>\n");
    }
    out.push('\n');
    out.push_str("## Differences\n");
    for group in &history.groups {
        differences(&mut out, group);
    }
    out
}

/// The DepSurf letters of one image of a group: ∅ absent, Δ changed since
/// the image it is compared with, then D duplicated, C collision, F full
/// inline, S selective inline, T transformed; empty when nothing is wrong.
pub fn letters(row: &StatusRow, changed: bool) -> String {
    let mut out = String::new();
    for issue in row.issues() {
        out.push(match issue {
            Issue::Absent => '∅',
            Issue::Duplicate => 'D',
            Issue::Collision => 'C',
            Issue::FullInline => 'F',
            Issue::SelectiveInline => 'S',
            Issue::Transformation => 'T',
        });
    }
    if changed {
        out.insert(0, 'Δ');
    }
    out
}

/// Whether the pair that ends at member `position` of `group` changed
/// anything of a name present on both sides.
fn changed_at(group: &GroupHistory, position: usize) -> bool {
    let pair = if group.baseline.is_some() {
        // Baseline mode: pair i compares the baseline with member i.
        group.pairs.get(position)
    } else {
        position.checked_sub(1).and_then(|p| group.pairs.get(p))
    };
    pair.is_some_and(|p| {
        p.old_present && p.new_present && p.changes.iter().any(|c| c.kind.is_signature_change())
    })
}

/// Every image of `group` in order, the baseline first, with its
/// [`letters`] (the baseline is never Δ: it is what the others are
/// compared with).
pub fn image_letters(group: &GroupHistory) -> Vec<(&StatusRow, String)> {
    let mut out = Vec::with_capacity(group.members.len() + 1);
    if let Some(b) = &group.baseline {
        out.push((b, letters(b, false)));
    }
    for (position, row) in group.members.iter().enumerate() {
        out.push((row, letters(row, changed_at(group, position))));
    }
    out
}

/// The colour class of a cell showing `letters`: `ok` when empty, `bad`
/// when absent or fully inlined, `warn` otherwise.
pub fn letters_class(letters: &str) -> &'static str {
    if letters.is_empty() {
        "ok"
    } else if letters.contains('∅') || letters.contains('F') {
        "bad"
    } else {
        "warn"
    }
}

/// The attach matrix: one row per image of each group (its baseline
/// first), with its letters and its kprobe and fentry verdicts (the reason
/// in the cell's title). Left out when no image has verdicts.
fn matrix(out: &mut String, history: &FunctionHistory, layout: Layout) {
    let any = history.groups.iter().any(|g| {
        g.baseline
            .iter()
            .chain(&g.members)
            .any(|m| m.presence.as_ref().is_some_and(|p| p.attach.is_some()))
    });
    if !any {
        return;
    }
    out.push_str("## Attach matrix\n\n");
    out.push_str("<table class=\"matrix\">\n");
    out.push_str(
        "<tr><th>Group</th><th>Image</th><th>Status</th><th>kprobe</th><th>fentry</th></tr>\n",
    );
    for group in &history.groups {
        let rows = image_letters(group);
        // The baseline keeps its own row; members may share one.
        let key = |(row, letters): &(&StatusRow, String)| {
            if row.baseline {
                format!("baseline {}", row.label)
            } else {
                format!("{letters}|{}", sameness_key(row))
            }
        };
        for (start, end) in runs(&rows, layout.collapse_runs, key) {
            let (first, _) = &rows[start];
            let (row, status) = &rows[end - 1];
            let (row, status) = (*row, status.clone());
            let label = range_label(first, row, end - start);
            let status_class = letters_class(&status);
            let shown = if status.is_empty() {
                "✓"
            } else {
                status.as_str()
            };
            let (kprobe, fentry) = match row.presence.as_ref().and_then(|p| p.attach.as_ref()) {
                None => ("<td>–</td>".to_owned(), "<td>–</td>".to_owned()),
                Some(a) => {
                    let (class, mark) = match a.kprobe.as_str() {
                        "yes" => ("ok", "✓"),
                        "ambiguous" => ("warn", "ambiguous"),
                        _ => ("bad", "✗"),
                    };
                    let names = if a.kprobe_symbols.len() == 1 && a.kprobe_symbols[0] == row.name {
                        String::new()
                    } else {
                        a.kprobe_symbols
                            .iter()
                            .map(|s| format!(" {}", code(s)))
                            .collect()
                    };
                    let kprobe = format!(
                        "<td class=\"{class}\" title=\"{}\">{mark}{names}</td>",
                        escape(&a.kprobe_reason)
                    );
                    let (class, mark) = if a.fentry {
                        ("ok", "✓")
                    } else {
                        ("bad", "✗")
                    };
                    let fentry = format!(
                        "<td class=\"{class}\" title=\"{}\">{mark}</td>",
                        escape(&a.fentry_reason)
                    );
                    (kprobe, fentry)
                }
            };
            let baseline = if row.baseline { " (baseline)" } else { "" };
            let shown = format!("{shown}{}", in_modules(row));
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}{baseline}</td><td class=\"{status_class}\">{shown}</td>{kprobe}{fentry}</tr>",
                escape(&group.name),
                label
            );
        }
    }
    out.push_str("</table>\n\n");
}

fn summary(row: &StatusRow, label: &str) -> String {
    let issues = row.issues();
    let verdict = if issues.is_empty() {
        "✅".to_owned()
    } else {
        let names: Vec<&str> = issues.iter().map(|i| i.as_str()).collect();
        format!("{} ⚠️", names.join(", "))
    };
    format!("In {label}: {verdict}{}", in_modules(row))
}

/// ` (in module <code>xfs</code>)` for a function absent from the image's
/// vmlinux that modules of the image define (attachable once the module
/// is loaded); ` (also in module …)` for one in both; empty otherwise.
pub fn in_modules(row: &StatusRow) -> String {
    if row.modules.is_empty() {
        return String::new();
    }
    let word = if row.modules.len() == 1 {
        "module"
    } else {
        "modules"
    };
    let names: Vec<String> = row.modules.iter().map(|m| code(m)).collect();
    let also = if row.presence.is_some() { "also " } else { "" };
    format!(" ({also}in {word} {})", names.join(", "))
}

/// One item of the status list: `row`'s summary under `label` (its own
/// label, or a range's, `row` being the range's last image) and its
/// details.
fn status(out: &mut String, row: &StatusRow, label: &str, range: bool) {
    let title = summary(row, label);
    let Some(p) = &row.presence else {
        let _ = writeln!(out, "{title}");
        return;
    };
    out.push_str("<details>\n");
    let _ = writeln!(out, "<summary>{title}</summary>");
    if range {
        let _ = writeln!(
            out,
            "\nAs in {}; the other images of the range differ from it only in addresses.",
            code(&row.label)
        );
    }
    let prototypes = p.prototypes();
    if !prototypes.is_empty() {
        out.push('\n');
        out.push_str("```c\n");
        for proto in &prototypes {
            let _ = writeln!(out, "{proto}");
        }
        out.push_str("```\n");
    }
    presence(out, p);
    out.push_str("</details>\n");
}

fn presence(out: &mut String, p: &Presence) {
    out.push('\n');
    let _ = writeln!(out, "**Collision:** {}\n", p.collision_type);
    let _ = writeln!(out, "**Inline:** {}\n", p.inline_type);
    let _ = writeln!(out, "**Transformation:** {}\n", py_bool(p.transformed()));
    if let Some(a) = &p.attach {
        let _ = writeln!(out, "**kprobe:** {}\n", escape(&a.kprobe_text()));
        let _ = writeln!(out, "**fentry:** {}\n", escape(&a.fentry_text()));
    }
    out.push_str("**Instances:**\n\n");
    for i in &p.instances {
        out.push_str("```\n");
        let _ = writeln!(
            out,
            "In {} ({:x})",
            i.cu_path.as_deref().unwrap_or("None"),
            i.addr.unwrap_or(0)
        );
        let _ = writeln!(
            out,
            "Location: {}",
            i.location().as_deref().unwrap_or("None")
        );
        let _ = writeln!(out, "Inline: {}", py_bool(i.inlined()));
        if i.discarded {
            out.push_str("Discarded: True (the linker kept another definition)\n");
        }
        if !i.inline_callers.is_empty() {
            out.push_str("Inline callers:\n");
            for c in &i.inline_callers {
                let _ = writeln!(out, "  - {c}");
            }
        }
        if !i.direct_callers.is_empty() {
            out.push_str("Direct callers:\n");
            for c in &i.direct_callers {
                let _ = writeln!(out, "  - {c}");
            }
        }
        out.push_str("```\n");
    }
    if !p.symbols.is_empty() {
        out.push_str("**Symbols:**\n\n");
        out.push_str("```\n");
        for s in &p.symbols {
            let _ = writeln!(
                out,
                "{:x}-{:x}: {} ({})",
                s.addr,
                s.addr.wrapping_add(s.size),
                s.name,
                s.binding
            );
        }
        out.push_str("```\n");
    }
}

fn differences(out: &mut String, group: &GroupHistory) {
    if group.pairs.iter().all(|p| !p.old_present && !p.new_present) {
        return;
    }
    let _ = writeln!(out, "<b>{}</b>", escape(&group.name));
    out.push_str("<ul>\n");
    for pair in &group.pairs {
        delta(out, pair);
    }
    out.push_str("</ul>\n");
}

fn delta(out: &mut String, pair: &PairHistory) {
    let (a, b) = (code(&pair.old_label), code(&pair.new_label));
    if let Some(c) = pair.changes.iter().find(|c| c.kind.is_move()) {
        out.push_str("<li>\n");
        let _ = writeln!(
            out,
            "{} between {a} and {b}: {} ⚠️",
            c.kind.as_str(),
            change_text(c)
        );
        out.push_str("</li>\n");
        return;
    }
    let changes: Vec<&Change> = pair
        .changes
        .iter()
        .filter(|c| c.kind.is_signature_change())
        .collect();
    if pair.old_present && pair.new_present && changes.is_empty() {
        out.push_str("<li>\n");
        let _ = writeln!(out, "No changes between {a} and {b} ✅");
        out.push_str("</li>\n");
        return;
    }
    if changes.is_empty() {
        return;
    }
    // Name the instance only when the changes are about several.
    // Whole-function changes (inline, symbols, verdicts) name none.
    let mut instances: Vec<(Option<&str>, Option<&str>)> = changes
        .iter()
        .filter(|c| !c.kind.is_attach_change())
        .map(|c| (c.decl_file.as_deref(), c.cu_path.as_deref()))
        .collect();
    instances.sort();
    instances.dedup();
    let qualify = instances.len() > 1;
    out.push_str("<li>\n<details>\n");
    let _ = writeln!(out, "<summary>Changed between {a} and {b} ⚠️</summary>");
    out.push_str("<ul>\n");
    for c in changes {
        out.push_str("<li>\n");
        let _ = writeln!(out, "<b>{}. </b>", c.kind.as_str());
        let mut line = change_text(c);
        if qualify {
            if let Some(unit) = c.cu_path.as_deref().or(c.decl_file.as_deref()) {
                let _ = write!(line, " in {}", code(unit));
            }
        }
        let _ = writeln!(out, "{line}");
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n</details>\n</li>\n");
}

fn change_text(c: &Change) -> String {
    let old = c.old.as_deref().unwrap_or("");
    let new = c.new.as_deref().unwrap_or("");
    let param = c.param.as_deref();
    match c.kind {
        ChangeKind::ParamAdded => code(&declaration(new, param)),
        ChangeKind::ParamRemoved => code(&declaration(old, param)),
        ChangeKind::ParamTypeChanged => format!(
            "{} ➡️ {}",
            code(&declaration(old, param)),
            code(&declaration(new, param))
        ),
        ChangeKind::ParamReordered | ChangeKind::ReturnTypeChanged => {
            format!("{} ➡️ {}", code(old), code(new))
        }
        ChangeKind::FunctionAdded => code(new),
        ChangeKind::FunctionRemoved => code(old),
        ChangeKind::ParamMoved => format!(
            "{}: {} ➡️ {}",
            code(param.unwrap_or("")),
            escape(old),
            escape(new)
        ),
        ChangeKind::SymbolRenamed | ChangeKind::MovedToModule | ChangeKind::MovedToVmlinux => {
            format!("{} ➡️ {}", code(old), code(new))
        }
        ChangeKind::InlineTypeChanged
        | ChangeKind::CollisionTypeChanged
        | ChangeKind::KprobeChanged
        | ChangeKind::FentryChanged => format!("{} ➡️ {}", escape(old), escape(new)),
    }
}

#[cfg(test)]
mod tests {
    use super::{declaration, runs};

    #[test]
    fn runs_shorter_than_the_minimum_stay_single() {
        let items = ["a", "a", "a", "b", "a", "a", "c"];
        let key = |s: &&str| s.to_string();
        assert_eq!(
            runs(&items, 3, key),
            [(0, 3), (3, 4), (4, 5), (5, 6), (6, 7)]
        );
        assert_eq!(runs(&items, 2, key), [(0, 3), (3, 4), (4, 6), (6, 7)]);
        let singles: Vec<(usize, usize)> = (0..7).map(|i| (i, i + 1)).collect();
        assert_eq!(runs(&items, 1, key), singles);
        assert_eq!(runs(&items, 0, key), singles);
        assert_eq!(runs::<&str>(&[], 2, key), []);
    }

    #[test]
    fn declarations_place_the_name_like_c() {
        let cases = [
            ("int", "x", "int x"),
            ("struct page *", "page", "struct page *page"),
            ("const char *const", "name", "const char *const name"),
            ("void (*)(int, void *)", "cb", "void (*cb)(int, void *)"),
            ("int (*)[4]", "grid", "int (*grid)[4]"),
            (
                "void (*(*)(int))(int, void *)",
                "f",
                "void (*(*f)(int))(int, void *)",
            ),
            ("int [4]", "cells", "int cells[4]"),
            (
                "volatile long unsigned int *",
                "reg",
                "volatile long unsigned int *reg",
            ),
        ];
        for (ty, name, want) in cases {
            assert_eq!(declaration(ty, Some(name)), want, "{ty}");
        }
        assert_eq!(declaration("int", None), "int");
    }
}
