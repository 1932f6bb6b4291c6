//! The site's function index: one row per function name with one cell per
//! image of every group (its DepSurf letters and ksurf's attach marks, the
//! same facts as a report page's attach matrix), written as pages per first
//! letter, and as one list per filter symbol across every letter, each cut
//! into pages of [`PAGE_ROWS`] rows; and the script that filters a page's
//! rows by symbol. Rows are spilled to files while the names stream by, so
//! memory holds one letter's rows at a time, whatever the number of names.
//!
//! Files, relative to the site root: `<letter>.html`, `<letter>.<k>.html`
//! (page k ≥ 2 of a letter), `has-<code>.html`, `has-<code>.<k>.html` (the
//! names showing a [`SYMBOLS`] entry on some image), `filter.js`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use ksurf_dataset::FENTRY_REASON_NO_BTF;

use crate::history::FunctionHistory;
use crate::report::{escape, image_letters, letters_class};
use crate::site::{letter, page_path};
use crate::tables::GroupRow;
use crate::{Error, Result};

/// Rows per index page of `ksurf site`: a page stays small (about 140 KB
/// with six images, measured on real kernels; it grows with the number of
/// image columns, not with the number of names of a letter).
pub const PAGE_ROWS: usize = 500;

/// A filter symbol of the index: what a cell shows, the code naming its
/// site-wide list (`has-<code>.html`) and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol {
    pub shown: &'static str,
    pub code: &'static str,
    pub meaning: &'static str,
}

/// Every filter symbol, in the order cells show them: DepSurf's letters
/// (see [`crate::report::letters`]), then the attach marks of an image
/// that has the name.
pub const SYMBOLS: [Symbol; 10] = [
    Symbol {
        shown: "∅",
        code: "absent",
        meaning: "absent from an image",
    },
    Symbol {
        shown: "Δ",
        code: "changed",
        meaning: "signature changed since the image it is compared with",
    },
    Symbol {
        shown: "D",
        code: "duplicate",
        meaning: "duplicated (several definitions)",
    },
    Symbol {
        shown: "C",
        code: "collision",
        meaning: "name collision",
    },
    Symbol {
        shown: "F",
        code: "full",
        meaning: "fully inlined",
    },
    Symbol {
        shown: "S",
        code: "selective",
        meaning: "selectively inlined",
    },
    Symbol {
        shown: "T",
        code: "transformed",
        meaning: "transformed by the compiler",
    },
    Symbol {
        shown: "k✗",
        code: "kprobe-no",
        meaning: "a kprobe cannot attach",
    },
    Symbol {
        shown: "k?",
        code: "kprobe-ambiguous",
        meaning: "a kprobe by name is ambiguous (several symbols)",
    },
    Symbol {
        shown: "f✗",
        code: "fentry-no",
        meaning: "fentry/fexit cannot attach",
    },
];

/// What the index wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct IndexSummary {
    /// Names per first letter, in letter order.
    pub letters: Vec<(String, usize)>,
    /// Names per filter symbol, in [`SYMBOLS`] order.
    pub symbols: Vec<(Symbol, usize)>,
    /// Pages written (letter pages and filter lists).
    pub pages: usize,
}

/// Collects the rows while the names stream by, then writes the pages.
pub struct FunctionIndex {
    spill: PathBuf,
    page_rows: usize,
    letters: BTreeMap<String, (BufWriter<File>, usize)>,
    symbols: Vec<(BufWriter<File>, usize)>,
    groups: Vec<GroupRow>,
    /// Per column (image of a group, in table order): whether the image
    /// has no `.BTF`, seen from its fentry reasons.
    no_btf: Vec<bool>,
}

/// One spilled row: the name, its symbols (space-separated) and its cells.
struct Row {
    name: String,
    symbols: String,
    cells: String,
}

impl FunctionIndex {
    /// An empty index whose rows are spilled under `spill` (created; the
    /// caller removes it), whose columns are the images of `groups` and
    /// whose pages hold `page_rows` rows (at least 1).
    pub fn new(spill: &Path, groups: &[GroupRow], page_rows: usize) -> Result<FunctionIndex> {
        std::fs::create_dir_all(spill).map_err(output(spill))?;
        let mut symbols = Vec::new();
        for s in SYMBOLS {
            symbols.push((create(&spill.join(format!("has-{}", s.code)))?, 0));
        }
        Ok(FunctionIndex {
            spill: spill.to_owned(),
            page_rows: page_rows.max(1),
            letters: BTreeMap::new(),
            symbols,
            groups: groups.to_vec(),
            no_btf: Vec::new(),
        })
    }

    /// Adds the row of one function (its groups in config order).
    pub fn add(&mut self, history: &FunctionHistory) -> Result<()> {
        let mut cells = String::new();
        let mut seen = [false; SYMBOLS.len()];
        let mut column = 0;
        for group in &history.groups {
            for (row, letters) in image_letters(group) {
                let mut text = letters.clone();
                let mut bad = false;
                if self.no_btf.len() <= column {
                    self.no_btf.resize(column + 1, false);
                }
                if let Some(a) = row.presence.as_ref().and_then(|p| p.attach.as_ref()) {
                    match a.kprobe.as_str() {
                        "yes" => {}
                        "ambiguous" => text.push_str(" k?"),
                        _ => {
                            text.push_str(" k✗");
                            bad = true;
                        }
                    }
                    // An image without .BTF says so once, in its column's
                    // head, not in every cell.
                    if a.fentry_reason == FENTRY_REASON_NO_BTF {
                        self.no_btf[column] = true;
                    } else if !a.fentry {
                        text.push_str(" f✗");
                    }
                }
                column += 1;
                for (i, s) in SYMBOLS.iter().enumerate() {
                    if text.contains(s.shown) {
                        seen[i] = true;
                    }
                }
                let text = text.trim_start();
                let class = if bad { "bad" } else { letters_class(text) };
                let shown = if text.is_empty() { "✓" } else { text };
                let _ = write!(cells, "<td class=\"{class}\">{}</td>", escape(shown));
            }
        }
        let symbols: Vec<&str> = SYMBOLS
            .iter()
            .zip(seen)
            .filter(|(_, s)| *s)
            .map(|(s, _)| s.shown)
            .collect();
        let line = format!(
            "{}\t{}\t{cells}\n",
            serde_json::Value::from(history.name.as_str()),
            symbols.join(" ")
        );
        let letter = letter(&history.name);
        if !self.letters.contains_key(&letter) {
            let file = create(&self.spill.join(format!("letter-{letter}")))?;
            self.letters.insert(letter.clone(), (file, 0));
        }
        let (file, n) = self.letters.get_mut(&letter).expect("inserted");
        write_line(file, &self.spill, &line)?;
        *n += 1;
        for (i, on) in seen.iter().enumerate() {
            if *on {
                let (file, n) = &mut self.symbols[i];
                write_line(file, &self.spill, &line)?;
                *n += 1;
            }
        }
        Ok(())
    }

    /// The first letters of the names added so far, in order.
    pub fn letters(&self) -> Vec<String> {
        self.letters.keys().cloned().collect()
    }

    /// Writes every letter's pages and every filter list into `staging`;
    /// `page` wraps a page's HTML body (title, body), `names_js` gains one
    /// search entry per name in letter-page order.
    pub fn finish(
        self,
        staging: &Path,
        page: &dyn Fn(&str, &str) -> String,
        names_js: &mut String,
    ) -> Result<IndexSummary> {
        let mut summary = IndexSummary::default();
        let head = table_head(&self.groups, &self.no_btf);
        for (letter, (file, n)) in self.letters {
            finish_file(file, &self.spill)?;
            let mut rows = read_rows(&self.spill.join(format!("letter-{letter}")))?;
            rows.sort_by(|a, b| {
                (a.name.replace('_', "").to_lowercase(), &a.name)
                    .cmp(&(b.name.replace('_', "").to_lowercase(), &b.name))
            });
            for r in &rows {
                let _ = writeln!(
                    names_js,
                    "[{},{}],",
                    serde_json::Value::from(r.name.as_str()),
                    serde_json::Value::from(page_path(&r.name))
                );
            }
            summary.pages += write_pages(
                staging,
                &letter,
                &format!("Functions: {letter}"),
                "",
                &head,
                rows.into_iter().map(Ok),
                (n, self.page_rows),
                page,
            )?;
            summary.letters.push((letter, n));
        }
        for (symbol, (file, n)) in SYMBOLS.into_iter().zip(self.symbols) {
            finish_file(file, &self.spill)?;
            let path = self.spill.join(format!("has-{}", symbol.code));
            let reader = BufReader::new(File::open(&path).map_err(output(&path))?);
            let rows = reader.lines().map(|l| {
                let l = l.map_err(output(&path))?;
                parse_row(&l, &path)
            });
            let intro = format!(
                "The functions showing <b>{}</b> ({}) on some image, in name order.",
                escape(symbol.shown),
                escape(symbol.meaning)
            );
            summary.pages += write_pages(
                staging,
                &format!("has-{}", symbol.code),
                &format!("Functions: {} ({})", symbol.shown, symbol.meaning),
                &intro,
                &head,
                rows,
                (n, self.page_rows),
                page,
            )?;
            summary.symbols.push((symbol, n));
        }
        Ok(summary)
    }
}

/// The file of page `k` (1-based) of the pages named `stem`: `s.html`,
/// `s.2.html` (no other page name of the site has a second dot).
pub fn page_file(stem: &str, k: usize) -> String {
    if k == 1 {
        format!("{stem}.html")
    } else {
        format!("{stem}.{k}.html")
    }
}

/// The table's head: a row of group names over their images' labels (a
/// baseline marked as such, an image without `.BTF` marked †; `no_btf` is
/// per column).
fn table_head(groups: &[GroupRow], no_btf: &[bool]) -> String {
    let mut top = String::from("<tr><th rowspan=\"2\">Name</th>");
    let mut labels = String::from("<tr>");
    let mut column = 0;
    for g in groups {
        let n = g.labels.len() + usize::from(g.baseline.is_some());
        let _ = write!(top, "<th colspan=\"{n}\">{}</th>", escape(&g.name));
        let baseline = g
            .baseline
            .as_ref()
            .map(|b| (g.baseline_label.as_deref().unwrap_or(b), true));
        for (label, is_baseline) in baseline
            .into_iter()
            .chain(g.labels.iter().map(|l| (l.as_str(), false)))
        {
            let mut text = escape(label);
            if is_baseline {
                text.push_str(" (baseline)");
            }
            if no_btf.get(column).copied().unwrap_or(false) {
                text.push_str(
                    "<span title=\"no .BTF: no fentry program attaches on this image\"> †</span>",
                );
            }
            let _ = write!(labels, "<th>{text}</th>");
            column += 1;
        }
    }
    format!("<thead>{top}</tr>\n{labels}</tr></thead>\n")
}

/// The filter bar: one toggle per symbol (rows must show every chosen
/// one), the count of rows shown, and the links to the site-wide lists.
fn filter_bar() -> String {
    let mut out = String::from("<div id=\"filter\">Filter this page: ");
    for s in SYMBOLS {
        let _ = write!(
            out,
            "<button type=\"button\" data-s=\"{}\" aria-pressed=\"false\" title=\"{}\">{}</button> ",
            s.shown,
            escape(s.meaning),
            s.shown
        );
    }
    out.push_str("<span id=\"shown\"></span></div>\n<p>Across every letter: ");
    let links: Vec<String> = SYMBOLS
        .iter()
        .map(|s| {
            format!(
                "<a href=\"{}\" title=\"{}\">{}</a>",
                page_file(&format!("has-{}", s.code), 1),
                escape(s.meaning),
                s.shown
            )
        })
        .collect();
    out.push_str(&links.join(" "));
    out.push_str("</p>\n");
    out
}

/// The links to every page of `stem` (`k` the current one).
fn pager(stem: &str, pages: usize, k: usize) -> String {
    if pages <= 1 {
        return String::new();
    }
    let mut out = String::from("<nav class=\"pager\">Page ");
    for p in 1..=pages {
        if p == k {
            let _ = write!(out, "<b>{p}</b> ");
        } else {
            let _ = write!(
                out,
                "<a class=\"page\" href=\"{}\">{p}</a> ",
                page_file(stem, p)
            );
        }
    }
    out.push_str("</nav>\n");
    out
}

/// Writes `n` rows as pages of `page_rows` named `stem` (at least one
/// page, saying so when there is no row); returns the page count.
#[allow(clippy::too_many_arguments)]
fn write_pages(
    staging: &Path,
    stem: &str,
    title: &str,
    intro: &str,
    head: &str,
    rows: impl Iterator<Item = Result<Row>>,
    (n, page_rows): (usize, usize),
    page: &dyn Fn(&str, &str) -> String,
) -> Result<usize> {
    let pages = n.div_ceil(page_rows).max(1);
    let mut rows = rows.peekable();
    for k in 1..=pages {
        let mut body = format!("<h1>{}</h1>\n", escape(title));
        if !intro.is_empty() {
            let _ = writeln!(body, "<p>{intro}</p>");
        }
        let first = (k - 1) * page_rows + 1;
        let last = (k * page_rows).min(n);
        if n == 0 {
            body.push_str("<p>No function.</p>\n");
        } else {
            let _ = writeln!(body, "<p>Functions {first}–{last} of {n}.</p>");
        }
        body.push_str(&filter_bar());
        let nav = pager(stem, pages, k);
        body.push_str(&nav);
        let _ = write!(
            body,
            "<div class=\"wide\"><table id=\"index\" class=\"matrix index\">\n{head}<tbody>\n"
        );
        for _ in 0..page_rows {
            let Some(row) = rows.next() else { break };
            let row = row?;
            let _ = writeln!(
                body,
                "<tr data-s=\"{}\"><td><a href=\"{}\"><code>{}</code></a></td>{}</tr>",
                row.symbols,
                page_path(&row.name),
                escape(&row.name),
                row.cells
            );
        }
        body.push_str("</tbody></table></div>\n");
        body.push_str(&nav);
        let legend: Vec<String> = SYMBOLS
            .iter()
            .map(|s| format!("{} {}", s.shown, s.meaning))
            .collect();
        let _ = writeln!(
            body,
            "<p>✓ nothing to say; {}; † the image has no .BTF: no fentry program attaches on it (f✗ is left out of its cells).</p>\n<script src=\"filter.js\"></script>",
            escape(&legend.join(", "))
        );
        write_page(&staging.join(page_file(stem, k)), &page(title, &body))?;
    }
    Ok(pages)
}

fn read_rows(path: &Path) -> Result<Vec<Row>> {
    let reader = BufReader::new(File::open(path).map_err(output(path))?);
    let mut rows = Vec::new();
    for line in reader.lines() {
        rows.push(parse_row(&line.map_err(output(path))?, path)?);
    }
    Ok(rows)
}

fn parse_row(line: &str, path: &Path) -> Result<Row> {
    let bad = || Error::Output {
        path: path.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed index row"),
    };
    let mut parts = line.splitn(3, '\t');
    let (Some(name), Some(symbols), Some(cells)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let name: String = serde_json::from_str(name).map_err(|_| bad())?;
    Ok(Row {
        name,
        symbols: symbols.to_owned(),
        cells: cells.to_owned(),
    })
}

fn output(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Output {
        path: path.to_owned(),
        source,
    }
}

fn create(path: &Path) -> Result<BufWriter<File>> {
    Ok(BufWriter::new(File::create(path).map_err(output(path))?))
}

fn write_line(file: &mut BufWriter<File>, spill: &Path, line: &str) -> Result<()> {
    file.write_all(line.as_bytes()).map_err(output(spill))
}

fn finish_file(mut file: BufWriter<File>, spill: &Path) -> Result<()> {
    file.flush().map_err(output(spill))
}

fn write_page(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).map_err(output(path))
}

/// The filter script of the index pages: a row stays visible when its
/// `data-s` holds every chosen symbol; the choice is kept in the URL's
/// `#has=` fragment, which the pager's links carry to the next page.
pub const FILTER_JS: &str = r##"// Filters the rows of a ksurf index page by symbol; works from file://.
(function () {
  var table = document.getElementById("index");
  if (!table) return;
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var buttons = Array.prototype.slice.call(document.querySelectorAll("#filter button"));
  var shown = document.getElementById("shown");
  function chosen() {
    return buttons.filter(function (b) { return b.getAttribute("aria-pressed") === "true"; })
      .map(function (b) { return b.getAttribute("data-s"); });
  }
  function apply() {
    var want = chosen(), n = 0;
    rows.forEach(function (r) {
      var have = " " + r.getAttribute("data-s") + " ";
      var keep = want.every(function (s) { return have.indexOf(" " + s + " ") >= 0; });
      r.hidden = !keep;
      if (keep) n++;
    });
    shown.textContent = n + " of " + rows.length + " shown";
    var hash = want.length ? "#has=" + want.map(encodeURIComponent).join(",") : "";
    try { history.replaceState(null, "", hash || location.pathname); } catch (e) {}
    document.querySelectorAll("a.page").forEach(function (a) {
      a.setAttribute("href", a.getAttribute("href").split("#")[0] + hash);
    });
  }
  buttons.forEach(function (b) {
    b.addEventListener("click", function () {
      var on = b.getAttribute("aria-pressed") === "true";
      b.setAttribute("aria-pressed", on ? "false" : "true");
      apply();
    });
  });
  var m = /^#has=(.*)$/.exec(location.hash);
  if (m) {
    var set = m[1].split(",").map(decodeURIComponent);
    buttons.forEach(function (b) {
      if (set.indexOf(b.getAttribute("data-s")) >= 0) b.setAttribute("aria-pressed", "true");
    });
  }
  apply();
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_files_and_pager() {
        assert_eq!(page_file("s", 1), "s.html");
        assert_eq!(page_file("has-full", 3), "has-full.3.html");
        assert_eq!(pager("s", 1, 1), "");
        assert_eq!(
            pager("s", 3, 2),
            "<nav class=\"pager\">Page <a class=\"page\" href=\"s.html\">1</a> <b>2</b> \
             <a class=\"page\" href=\"s.3.html\">3</a> </nav>\n"
        );
    }

    #[test]
    fn rows_round_trip_names_with_tabs() {
        let line = format!("{}\tF k✗\t<td>x</td>", serde_json::Value::from("odd\tname"));
        let row = parse_row(&line, Path::new("spill")).unwrap();
        assert_eq!(row.name, "odd\tname");
        assert_eq!(row.symbols, "F k✗");
        assert_eq!(row.cells, "<td>x</td>");
        assert!(parse_row("no tabs", Path::new("spill")).is_err());
    }
}
