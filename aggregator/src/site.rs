//! The static website: one HTML page per function (the report), per
//! type (struct, union, enum, typedef) and per tracepoint, syscall, kfunc
//! and LSM hook; the function index ([`crate::site_index`]: a cell per
//! image, paged, filterable by symbol); one index page per first letter for
//! types and one per interface kind, with one column per group showing the
//! issue symbols; and a search box over every name that works from
//! `file://` (the names are a script file, not fetched). Pages are
//! produced one name at a time from every file of every group (one per
//! image, all sorted by name) streamed in step, a few rows buffered per
//! file; the whole site is written to a staging directory and moved into
//! place.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ksurf_dataset::{Dataset, DependencyKind, TableName, TableStream};

use crate::aggregate::presence_of;
use crate::history::{aggregated_groups, group_files, group_history, FunctionHistory};
use crate::html;
use crate::interface_diff::{
    decode_changes as interface_decode_changes, InterfaceChangeRow, InterfaceCursor, InterfaceDiff,
};
use crate::interface_report::{
    group_history as interface_group_history, render as interface_render, title as interface_title,
    InterfaceGroupHistory, InterfaceHistory,
};
use crate::kconfig_diff::ConfigDiff;
use crate::kfunc_diff::KfuncDiff;
use crate::lsm_diff::LsmDiff;
use crate::model::{ChangeRow, StatusRow};
use crate::report::{escape, render_with};
use crate::site_index::{page_file, FunctionIndex, FILTER_JS, PAGE_ROWS};
use crate::syscall_diff::SyscallDiff;
use crate::tables::GroupRow;
use crate::tables::{decode_changes, decode_status};
use crate::tracepoint_diff::TracepointDiff;
use crate::type_diff::{TypeChangeKind, TypeCursor};
use crate::type_report::{
    group_images, render as type_render, type_group_history, TypeGroupHistory, TypeHistory,
};
use crate::{Error, Result};

/// Rows per batch read from each file of the group tables (one batch of
/// decoded rows is held per file: a group has one status file per image).
const BATCH_ROWS: usize = 64;

/// What was written.
#[derive(Debug, PartialEq, Eq)]
pub struct SiteSummary {
    pub function_pages: usize,
    pub type_pages: usize,
    /// Pages of tracepoints, syscalls, kfuncs and LSM hooks.
    pub interface_pages: usize,
    pub index_pages: usize,
}

/// The index page a name is listed on: its first letter or digit after
/// leading underscores, lowercased (`_`-only names: `other`).
pub fn letter(name: &str) -> String {
    match name.trim_start_matches('_').chars().next() {
        Some(c) if c.is_ascii_alphanumeric() => c.to_ascii_lowercase().to_string(),
        _ => "other".to_owned(),
    }
}

/// The file name of a function's page (C identifiers are kept; any other
/// byte is written as `~xx`).
fn file_stem(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'_' {
            out.push(b as char);
        } else {
            let _ = write!(out, "~{b:02x}");
        }
    }
    out
}

/// The page of `name`, relative to the site root.
pub fn page_path(name: &str) -> String {
    format!("f/{}/{}.html", letter(name), file_stem(name))
}

/// The page of type `kind name`, relative to the site root.
pub fn type_page_path(kind: &str, name: &str) -> String {
    format!("t/{kind}/{}/{}.html", letter(name), file_stem(name))
}

/// The symbols of one group's column on a type index: `∅` when an image
/// of the group lacks it, `Δ` when a compared pair changed it, `M` when an
/// image has several distinct definitions.
pub fn type_group_symbols(group: &TypeGroupHistory) -> String {
    let mut out = Vec::new();
    if group.members.iter().any(|m| m.definitions.is_empty()) {
        out.push("∅");
    }
    if group.pairs.iter().any(|p| {
        p.changes.iter().any(|c| {
            !matches!(
                c.change,
                TypeChangeKind::TypeAdded | TypeChangeKind::TypeRemoved
            )
        })
    }) {
        out.push("Δ");
    }
    if group.members.iter().any(|m| m.definitions.len() > 1) {
        out.push("M");
    }
    out.join(",")
}

/// Writes one page per type (kind and name) of the groups' images into
/// `staging`, streaming every image's type tables in name order; returns
/// the page count and the index rows (kind, name, per-group symbols) by
/// letter.
#[allow(clippy::type_complexity)]
fn write_type_pages(
    dataset: &Dataset,
    groups: &[GroupRow],
    staging: &Path,
) -> Result<(usize, BTreeMap<String, Vec<(String, String, Vec<String>)>>)> {
    let mut cursors: Vec<Vec<TypeCursor>> = Vec::new();
    for g in groups {
        let (images, _) = group_images(g);
        let mut open = Vec::new();
        for (image, _) in images {
            let id: ksurf_dataset::ImageId = image.parse()?;
            open.push(TypeCursor::open(dataset, &id, None)?);
        }
        cursors.push(open);
    }
    let mut index: BTreeMap<String, Vec<(String, String, Vec<String>)>> = BTreeMap::new();
    let mut pages = 0;
    loop {
        let mut next: Option<String> = None;
        for c in cursors.iter_mut().flatten() {
            if let Some(n) = c.peek()? {
                if next.as_deref().is_none_or(|m| n.as_str() < m) {
                    next = Some(n);
                }
            }
        }
        let Some(name) = next else { break };
        let mut per_group = Vec::new();
        for group in cursors.iter_mut() {
            let mut defs = Vec::new();
            for c in group.iter_mut() {
                defs.push(presence_of(c, &name)?.unwrap_or_default());
            }
            per_group.push(defs);
        }
        for kind in ["struct", "union", "enum", "typedef"] {
            if !per_group.iter().flatten().flatten().any(|d| d.kind == kind) {
                continue;
            }
            let history = TypeHistory {
                kind: kind.to_owned(),
                name: name.clone(),
                groups: groups
                    .iter()
                    .zip(&per_group)
                    .map(|(g, defs)| type_group_history(g, kind, defs.clone()))
                    .collect(),
            };
            let letter = letter(&name);
            let nav = format!(
                "<nav><a href=\"../../../index.html\">Home</a><a href=\"../../../t-{letter}.html\">types: {}</a></nav>\n",
                escape(&letter)
            );
            let page = html::page(
                &format!("{kind} {name}"),
                &type_render(&history),
                Some(&nav),
            );
            write_file(&staging.join(type_page_path(kind, &name)), &page)?;
            pages += 1;
            let columns = history.groups.iter().map(type_group_symbols).collect();
            index
                .entry(letter)
                .or_default()
                .push((kind.to_owned(), name.clone(), columns));
        }
    }
    Ok((pages, index))
}

/// The page of `name` of the interface kind `kind`, relative to the site
/// root: `i/tracepoint/k/kfree_skb.html`.
pub fn interface_page_path(kind: DependencyKind, name: &str) -> String {
    format!(
        "i/{}/{}/{}.html",
        kind.as_str(),
        letter(name),
        file_stem(name)
    )
}

/// The symbols of one group's column on an interface kind's index: `∅`
/// when an image of the group lacks the name, `Δ` when a compared pair
/// changed it.
pub fn interface_group_symbols(group: &InterfaceGroupHistory) -> String {
    let mut out = Vec::new();
    if group.members.iter().any(|m| m.details.is_empty()) {
        out.push("∅");
    }
    if group.pairs.iter().any(|p| !p.changes.is_empty()) {
        out.push("Δ");
    }
    out.join(",")
}

/// Writes one page per name of the interface kind `D` into `staging`,
/// streaming every image's names table of the kind and every pair's
/// `<kind>_changes` file in name order; returns the index rows (name,
/// per-group symbols) in name order.
fn write_interface_pages<D: InterfaceDiff>(
    dataset: &Dataset,
    groups: &[GroupRow],
    staging: &Path,
) -> Result<Vec<(String, Vec<String>)>> {
    let table = D::KIND.changes_table().expect("interface kinds have one");
    let mut cursors: Vec<Vec<InterfaceCursor<D>>> = Vec::new();
    let mut changes: Vec<Vec<RowsByName<InterfaceChangeRow>>> = Vec::new();
    for g in groups {
        let (images, _) = group_images(g);
        let mut open = Vec::new();
        for (image, _) in images {
            let id: ksurf_dataset::ImageId = image.parse()?;
            open.push(InterfaceCursor::<D>::open(dataset, &id, None)?);
        }
        cursors.push(open);
        let mut files = Vec::new();
        for path in group_files(g, table)? {
            files.push(RowsByName {
                stream: dataset.stream_file(&path, table, BATCH_ROWS, None)?,
                buffered: VecDeque::new(),
                decode: |b, _| Ok(interface_decode_changes(b)),
                name_of: |r| &r.name,
            });
        }
        changes.push(files);
    }
    let mut index = Vec::new();
    loop {
        let mut next: Option<String> = None;
        for c in cursors.iter_mut().flatten() {
            if let Some(n) = c.peek()? {
                if next.as_deref().is_none_or(|m| n.as_str() < m) {
                    next = Some(n);
                }
            }
        }
        let Some(name) = next else { break };
        let mut histories = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            let mut rows = Vec::new();
            for c in cursors[g].iter_mut() {
                rows.push(presence_of(c, &name)?.unwrap_or_default());
            }
            let mut pair_changes = Vec::new();
            for file in changes[g].iter_mut() {
                while file.peek()?.is_some_and(|n| n < name.as_str()) {
                    let n = file.peek()?.expect("peeked").to_owned();
                    file.take(&n)?;
                }
                pair_changes.extend(file.take(&name)?.into_iter().map(|r| (r.pair, r.change)));
            }
            histories.push(interface_group_history::<D>(
                group,
                &name,
                &rows,
                &pair_changes,
            ));
        }
        let history = InterfaceHistory {
            kind: D::KIND,
            name: name.clone(),
            groups: histories,
        };
        let nav = format!(
            "<nav><a href=\"../../../index.html\">Home</a><a href=\"../../../i-{}.html\">{}</a></nav>\n",
            D::KIND.as_str(),
            escape(interface_title(D::KIND))
        );
        let page = html::page(
            &format!("{} {name}", D::KIND.as_str()),
            &interface_render(&history),
            Some(&nav),
        );
        write_file(&staging.join(interface_page_path(D::KIND, &name)), &page)?;
        let columns = history.groups.iter().map(interface_group_symbols).collect();
        index.push((name, columns));
    }
    Ok(index)
}

/// Writes the pages and the index page of every interface kind; returns
/// (kind, names) per kind, for the home page.
fn write_interface_kinds(
    dataset: &Dataset,
    groups: &[GroupRow],
    staging: &Path,
    names_js: &mut String,
    nav: &str,
) -> Result<Vec<(DependencyKind, usize)>> {
    let mut out = Vec::new();
    for kind in DependencyKind::ALL.into_iter().filter(|k| k.is_interface()) {
        let rows = match kind {
            DependencyKind::Tracepoint => {
                write_interface_pages::<TracepointDiff>(dataset, groups, staging)?
            }
            DependencyKind::Syscall => {
                write_interface_pages::<SyscallDiff>(dataset, groups, staging)?
            }
            DependencyKind::Kfunc => write_interface_pages::<KfuncDiff>(dataset, groups, staging)?,
            DependencyKind::LsmHook => write_interface_pages::<LsmDiff>(dataset, groups, staging)?,
            DependencyKind::Config => {
                write_interface_pages::<ConfigDiff>(dataset, groups, staging)?
            }
            DependencyKind::Function | DependencyKind::Type => unreachable!("not an interface"),
        };
        let title = interface_title(kind);
        let mut md = format!("# {title}s\n\n| Name |");
        for g in groups {
            let _ = write!(md, " {} |", escape(&g.name));
        }
        md.push_str("\n| --- |");
        for _ in groups {
            md.push_str(" --- |");
        }
        md.push('\n');
        for (name, columns) in &rows {
            let path = interface_page_path(kind, name);
            let _ = write!(
                md,
                "| <a href=\"{path}\"><code>{}</code></a> |",
                escape(name)
            );
            for c in columns {
                let _ = write!(md, " {c} |");
            }
            md.push('\n');
            let _ = writeln!(
                names_js,
                "[{},{}],",
                serde_json::Value::from(format!("{} {name}", kind.as_str())),
                serde_json::Value::from(path)
            );
        }
        md.push_str("\n∅ Absent from an image, Δ Changed\n");
        let page = page_with_search(&format!("{title}s"), &md, nav, "");
        write_file(&staging.join(format!("i-{}.html", kind.as_str())), &page)?;
        out.push((kind, rows.len()));
    }
    Ok(out)
}

/// Decoded rows of one group table, handed out one name at a time.
struct RowsByName<T> {
    stream: TableStream,
    buffered: VecDeque<T>,
    decode: fn(&arrow::array::RecordBatch, &str) -> Result<Vec<T>>,
    name_of: fn(&T) -> &str,
}

impl<T> RowsByName<T> {
    fn peek(&mut self) -> Result<Option<&str>> {
        while self.buffered.is_empty() {
            match self.stream.next() {
                Some(batch) => {
                    let location = self.stream.location().to_owned();
                    self.buffered.extend((self.decode)(&batch?, &location)?);
                }
                None => return Ok(None),
            }
        }
        Ok(self.buffered.front().map(self.name_of))
    }

    fn take(&mut self, name: &str) -> Result<Vec<T>> {
        let mut out = Vec::new();
        while self.peek()? == Some(name) {
            out.push(self.buffered.pop_front().expect("peeked"));
        }
        Ok(out)
    }
}

fn write_file(path: &Path, contents: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Output {
            path: dir.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, contents).map_err(|source| Error::Output {
        path: path.to_owned(),
        source,
    })
}

const SEARCH_JS: &str = r#"// Search over every function name of the site; works from file://.
(function () {
  var box = document.getElementById("search");
  var results = document.getElementById("results");
  var root = document.body.getAttribute("data-root");
  box.addEventListener("input", function () {
    var q = box.value.trim().toLowerCase();
    results.innerHTML = "";
    if (!q) return;
    var prefix = [], inner = [];
    for (var i = 0; i < KSURF_NAMES.length && prefix.length < 50; i++) {
      var n = KSURF_NAMES[i][0], l = n.toLowerCase();
      if (l.indexOf(q) === 0) prefix.push(KSURF_NAMES[i]);
      else if (inner.length < 50 && l.indexOf(q) > 0) inner.push(KSURF_NAMES[i]);
    }
    prefix.concat(inner).slice(0, 50).forEach(function (e) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = root + e[1];
      a.textContent = e[0];
      li.appendChild(a);
      results.appendChild(li);
    });
  });
})();
"#;

fn search_box(root: &str) -> String {
    format!(
        "<p><input id=\"search\" type=\"search\" placeholder=\"Search functions\" autocomplete=\"off\"></p>\n<ul id=\"results\"></ul>\n<script src=\"{root}search-index.js\"></script>\n<script src=\"{root}search.js\"></script>\n"
    )
}

fn letters_nav(root: &str, letters: &[String]) -> String {
    let mut nav = format!("<nav><a href=\"{root}index.html\">Home</a>");
    for l in letters {
        let _ = write!(nav, "<a href=\"{root}{l}.html\">{l}</a>");
    }
    nav.push_str("</nav>\n");
    nav
}

/// A page with the search box, which needs the `data-root` attribute.
fn page_with_search(title: &str, markdown: &str, nav: &str, root: &str) -> String {
    search_page(title, &html::body(markdown), nav, root)
}

/// [`page_with_search`] of a body already in HTML.
fn search_page(title: &str, body: &str, nav: &str, root: &str) -> String {
    html::page_html(title, body, Some(&format!("{nav}{}", search_box(root)))).replacen(
        "<body>",
        &format!("<body data-root=\"{root}\">"),
        1,
    )
}

/// Runs of at least this many consecutive images that are the same but for
/// addresses share one entry on a function page (see
/// [`crate::report::Layout`]): a fleet's consecutive ABI revisions make
/// pages grow with changes, not with images.
pub const COLLAPSE_RUNS: usize = 3;

/// Writes the whole site for the aggregated groups of `dataset` to `out`,
/// the function index in pages of [`PAGE_ROWS`] names, runs of
/// [`COLLAPSE_RUNS`] images collapsed.
pub fn write_site(dataset: &Dataset, out: &Path) -> Result<SiteSummary> {
    write_site_with(dataset, out, PAGE_ROWS, COLLAPSE_RUNS)
}

/// [`write_site`] with `page_rows` names per function index page.
pub fn write_site_paged(dataset: &Dataset, out: &Path, page_rows: usize) -> Result<SiteSummary> {
    write_site_with(dataset, out, page_rows, COLLAPSE_RUNS)
}

/// [`write_site`] with `page_rows` names per function index page and
/// runs of `collapse_runs` images collapsed on function pages (0: never).
pub fn write_site_with(
    dataset: &Dataset,
    out: &Path,
    page_rows: usize,
    collapse_runs: usize,
) -> Result<SiteSummary> {
    let layout = crate::report::Layout { collapse_runs };
    let groups = aggregated_groups(dataset)?;
    if groups.is_empty() {
        return Err(Error::NotAggregated(dataset.label().to_owned()));
    }
    let staging = sibling(out, "partial");
    remove_dir_if_exists(&staging)?;
    // Per group, one stream per file: status per image, changes per pair.
    let mut status: Vec<Vec<RowsByName<StatusRow>>> = Vec::new();
    let mut changes: Vec<Vec<RowsByName<ChangeRow>>> = Vec::new();
    for g in &groups {
        let mut files = Vec::new();
        for path in group_files(g, TableName::FunctionStatus)? {
            files.push(RowsByName {
                stream: dataset.stream_file(&path, TableName::FunctionStatus, BATCH_ROWS, None)?,
                buffered: VecDeque::new(),
                decode: |b, _| Ok(decode_status(b)),
                name_of: |r| &r.name,
            });
        }
        status.push(files);
        let mut files = Vec::new();
        for path in group_files(g, TableName::FunctionChanges)? {
            files.push(RowsByName {
                stream: dataset.stream_file(&path, TableName::FunctionChanges, BATCH_ROWS, None)?,
                buffered: VecDeque::new(),
                decode: decode_changes,
                name_of: |r| &r.name,
            });
        }
        changes.push(files);
    }
    // The function index's rows, spilled beside the staging directory.
    let spill = sibling(out, "rows");
    remove_dir_if_exists(&spill)?;
    let mut index = FunctionIndex::new(&spill, &groups, page_rows)?;
    let mut pages = 0;
    loop {
        let mut next: Option<String> = None;
        for s in status.iter_mut().flatten() {
            if let Some(n) = s.peek()? {
                if next.as_deref().is_none_or(|m| n < m) {
                    next = Some(n.to_owned());
                }
            }
        }
        let Some(name) = next else { break };
        let mut histories = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            let mut rows = Vec::new();
            for file in status[g].iter_mut() {
                rows.extend(file.take(&name)?);
            }
            let mut change_rows = Vec::new();
            for file in changes[g].iter_mut() {
                // Changes of names before this one cannot exist; skip defensively.
                while file.peek()?.is_some_and(|n| n < name.as_str()) {
                    let n = file.peek()?.expect("peeked").to_owned();
                    file.take(&n)?;
                }
                change_rows.extend(file.take(&name)?);
            }
            histories.push(group_history(&name, group, rows, &change_rows));
        }
        let history = FunctionHistory {
            name: name.clone(),
            groups: histories,
        };
        let letter = letter(&name);
        let nav = format!(
            "<nav><a href=\"../../index.html\">Home</a><a href=\"../../{letter}.html\">{}</a></nav>\n",
            escape(&letter)
        );
        let page = html::page(&name, &render_with(&history, layout), Some(&nav));
        write_file(&staging.join(page_path(&name)), &page)?;
        pages += 1;
        index.add(&history)?;
    }
    let (type_pages, type_index) = write_type_pages(dataset, &groups, &staging)?;
    let type_letters: Vec<String> = type_index.keys().cloned().collect();
    let letters = index.letters();
    let mut names_js = String::from("var KSURF_NAMES = [\n");
    for (letter, rows) in &type_index {
        let mut md = format!("# Types: {letter}\n\n| Kind | Name |");
        for g in &groups {
            let _ = write!(md, " {} |", escape(&g.name));
        }
        md.push_str("\n| --- | --- |");
        for _ in &groups {
            md.push_str(" --- |");
        }
        md.push('\n');
        for (kind, name, columns) in rows {
            let path = type_page_path(kind, name);
            let _ = write!(
                md,
                "| {kind} | <a href=\"{path}\"><code>{}</code></a> |",
                escape(name)
            );
            for c in columns {
                let _ = write!(md, " {c} |");
            }
            md.push('\n');
            let _ = writeln!(
                names_js,
                "[{},{}],",
                serde_json::Value::from(format!("{kind} {name}")),
                serde_json::Value::from(path)
            );
        }
        md.push_str(
            "\n∅ Absent from an image, Δ Changed, M several distinct definitions in an image\n",
        );
        let page = page_with_search(
            &format!("Types: {letter}"),
            &md,
            &letters_nav("", &letters),
            "",
        );
        write_file(&staging.join(format!("t-{letter}.html")), &page)?;
    }
    let nav = letters_nav("", &letters);
    let index = index.finish(
        &staging,
        &|title, body| search_page(title, body, &nav, ""),
        &mut names_js,
    )?;
    remove_dir_if_exists(&spill)?;
    let interface_pages = write_interface_kinds(
        dataset,
        &groups,
        &staging,
        &mut names_js,
        &letters_nav("", &letters),
    )?;
    names_js.push_str("];\n");
    write_file(&staging.join("search-index.js"), &names_js)?;
    write_file(&staging.join("search.js"), SEARCH_JS)?;
    write_file(&staging.join("filter.js"), FILTER_JS)?;
    let mut home = String::from("# ksurf: kernel functions\n\n");
    let _ = writeln!(
        home,
        "{pages} functions across the groups {}.\n",
        groups
            .iter()
            .map(|g| g.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (l, n) in &index.letters {
        let _ = writeln!(home, "- [{l}]({l}.html) ({n} functions)");
    }
    let _ = writeln!(
        home,
        "\nThe functions that show a symbol on some image of some group:\n"
    );
    for (symbol, n) in &index.symbols {
        let _ = writeln!(
            home,
            "- [{}]({}) {} ({n} functions)",
            symbol.shown,
            page_file(&format!("has-{}", symbol.code), 1),
            symbol.meaning
        );
    }
    let _ = writeln!(
        home,
        "\n## Types\n\n{type_pages} structs, unions, enums and typedefs.\n"
    );
    for l in &type_letters {
        let _ = writeln!(home, "- [{l}](t-{l}.html) ({} types)", type_index[l].len());
    }
    let _ = writeln!(home, "\n## Kernel interfaces\n");
    for (kind, n) in &interface_pages {
        let _ = writeln!(
            home,
            "- [{}s](i-{}.html) ({n})",
            interface_title(*kind),
            kind.as_str()
        );
    }
    write_file(
        &staging.join("index.html"),
        &page_with_search("ksurf", &home, &letters_nav("", &letters), ""),
    )?;
    replace_dir(&staging, out)?;
    Ok(SiteSummary {
        function_pages: pages,
        type_pages,
        interface_pages: interface_pages.iter().map(|(_, n)| n).sum(),
        index_pages: index.pages + type_letters.len() + interface_pages.len() + 1,
    })
}

fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".{suffix}"));
    out.with_file_name(name)
}

/// Moves `staging` to `out`, replacing what was there.
fn replace_dir(staging: &Path, out: &Path) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Output { path, source }
    };
    let old = sibling(out, "old");
    remove_dir_if_exists(&old)?;
    if out.exists() {
        std::fs::rename(out, &old).map_err(io(out))?;
    }
    std::fs::rename(staging, out).map_err(io(out))?;
    remove_dir_if_exists(&old)
}

/// Removes the directory `path` and everything in it, if it is there.
fn remove_dir_if_exists(path: &Path) -> Result<()> {
    if path.exists() {
        std::fs::remove_dir_all(path).map_err(|source| Error::Output {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_paths() {
        assert_eq!(letter("__x64_sys_read"), "x");
        assert_eq!(letter("Vfs"), "v");
        assert_eq!(letter("9p_fs"), "9");
        assert_eq!(letter("___"), "other");
        assert_eq!(page_path("vfs_read"), "f/v/vfs_read.html");
        assert_eq!(page_path("a.b"), "f/a/a~2eb.html");
    }
}
