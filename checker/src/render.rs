//! Presentation of a finished check: the terminal matrix, JSON (every
//! dependency × image verdict with its reason) and Markdown. Rendering
//! only; every verdict was decided in [`crate::verdict`].

use std::fmt::Write;

use serde::Serialize;

use crate::check::{DependencyCheck, ObjectCheck};
use crate::verdict::{Outcome, Verdict};

/// A finished check: the images in column order, the objects checked and
/// the inputs that could not be read.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// `distro/release/arch` of each image, in column order.
    pub images: Vec<String>,
    pub objects: Vec<ObjectCheck>,
    /// Inputs that gave no object: (path, error). The table leaves them
    /// out (the CLI writes them to stderr); JSON and Markdown list them.
    pub errors: Vec<InputError>,
}

/// An input that could not be read.
#[derive(Clone, Debug, Serialize)]
pub struct InputError {
    /// The path given.
    pub input: String,
    /// The error, which names the input (and the section and offset for
    /// a malformed object).
    pub error: String,
}

impl Report {
    /// The worst outcome of any object on any image (`Ok` when empty).
    pub fn worst(&self) -> Outcome {
        self.objects
            .iter()
            .flat_map(|o| o.outcomes.iter().copied())
            .max()
            .unwrap_or(Outcome::Ok)
    }

    /// Every verdict that is not ok, objects worst first, then in
    /// dependency and image order: (object, image index, dependency, verdict).
    fn problems(&self) -> Vec<(&ObjectCheck, usize, &DependencyCheck, &Verdict)> {
        let mut out = Vec::new();
        for object in self.ordered() {
            for dep in &object.dependencies {
                for (i, v) in dep.verdicts.iter().enumerate() {
                    if v.outcome != Outcome::Ok {
                        out.push((object, i, dep, v));
                    }
                }
            }
        }
        out
    }

    /// Objects, worst first (then by label).
    fn ordered(&self) -> Vec<&ObjectCheck> {
        let mut objects: Vec<&ObjectCheck> = self.objects.iter().collect();
        objects.sort_by(|a, b| {
            let wa = a.outcomes.iter().max();
            let wb = b.outcomes.iter().max();
            wb.cmp(&wa).then_with(|| a.label.cmp(&b.label))
        });
        objects
    }
}

/// The marks, explained once at the top of the table.
pub const LEGEND: &str = "marks: . ok, ? unchecked, f fallback (a CO-RE probe is false), s silent (wrong or missing data), X hard (load or attach fails)";

/// The row under an object's programs for what every program loads
/// with (externs, CO-RE in shared code), when it is not all ok.
const SHARED_ROW: &str = "  (externs, shared code)";

fn marks(outcomes: &[Outcome]) -> String {
    outcomes.iter().map(|o| o.mark()).collect()
}

/// The terminal matrix: the legend, one line per object and, under it,
/// one per program (and one for externs and shared code when they are not
/// all ok), one mark per image (`.` ok, `?` unchecked, `f` fallback, `s`
/// silent, `X` hard); then every verdict that is not ok, with its reason.
pub fn table(report: &Report) -> String {
    let mut out = String::from(LEGEND);
    out.push('\n');
    for (i, image) in report.images.iter().enumerate() {
        let _ = writeln!(out, "[{}] {image}", i + 1);
    }
    let width = report
        .objects
        .iter()
        .flat_map(|o| {
            std::iter::once(o.label.len())
                .chain(o.programs.iter().map(|p| p.section.len() + 2))
                .chain(std::iter::once(SHARED_ROW.len()))
        })
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(out, "{:width$}  images →", "object");
    for object in report.ordered() {
        let _ = writeln!(out, "{:width$}  {}", object.label, marks(&object.outcomes));
        for program in &object.programs {
            let _ = writeln!(
                out,
                "{:width$}  {}",
                format!("  {}", program.section),
                marks(&program.outcomes)
            );
        }
        if object.shared.iter().any(|o| *o != Outcome::Ok) {
            let _ = writeln!(out, "{SHARED_ROW:width$}  {}", marks(&object.shared));
        }
    }
    let mut details = String::new();
    for (object, i, dep, v) in report.problems() {
        let _ = writeln!(
            details,
            "{} [{}] {}{} {}: {:?} {}: {}",
            object.label,
            i + 1,
            dep.section
                .as_deref()
                .map(|s| format!("{s}: "))
                .unwrap_or_default(),
            dep.kind,
            dep.name,
            v.outcome,
            v.class,
            v.reason
        );
    }
    for object in report.ordered() {
        for note in &object.notes {
            let _ = writeln!(details, "{}: note: {note}", object.label);
        }
    }
    if !details.is_empty() {
        out.push('\n');
        out.push_str(&details);
    }
    out
}

/// The whole report as pretty JSON.
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{e}"));
    text.push('\n');
    text
}

/// A Markdown page per report: the matrix of objects and programs ×
/// images, then the verdicts that are not ok.
pub fn markdown(report: &Report) -> String {
    let mut out = String::from("# ksurf check\n\n");
    out.push_str("Marks: `.` ok, `?` unchecked, `f` fallback (a CO-RE probe is false, the program takes its other branch), `s` silent (wrong or missing data), `X` hard (load or attach fails).\n\n");
    out.push_str(DEPSURF_LEGEND);
    out.push_str("\n\n");
    let _ = write!(out, "| object / program |");
    for i in 0..report.images.len() {
        let _ = write!(out, " {} |", i + 1);
    }
    out.push_str("\n| --- |");
    for _ in &report.images {
        out.push_str(" :-: |");
    }
    out.push('\n');
    for object in report.ordered() {
        let _ = write!(out, "| **{}** |", object.label);
        for o in &object.outcomes {
            let _ = write!(out, " {} |", o.mark());
        }
        out.push('\n');
        for program in &object.programs {
            let _ = write!(out, "| `{}` |", program.section);
            for (i, o) in program.outcomes.iter().enumerate() {
                match program.depsurf.get(i).filter(|l| !l.is_empty()) {
                    Some(letters) => {
                        let _ = write!(out, " {} {letters} |", o.mark());
                    }
                    None => {
                        let _ = write!(out, " {} |", o.mark());
                    }
                }
            }
            out.push('\n');
        }
        if object.shared.iter().any(|o| *o != Outcome::Ok) {
            let _ = write!(out, "| {} |", SHARED_ROW.trim());
            for o in &object.shared {
                let _ = write!(out, " {} |", o.mark());
            }
            out.push('\n');
        }
    }
    out.push_str("\nImages:\n\n");
    for (i, image) in report.images.iter().enumerate() {
        let _ = writeln!(out, "{}. `{image}`", i + 1);
    }
    out.push_str("\n## Details\n\n");
    for (object, i, dep, v) in report.problems() {
        let _ = writeln!(
            out,
            "- {} [{}] {}{} `{}`: **{:?}** {}: {}",
            object.label,
            i + 1,
            dep.section
                .as_deref()
                .map(|s| format!("`{s}`: "))
                .unwrap_or_default(),
            dep.kind,
            dep.name,
            v.outcome,
            v.class,
            v.reason
        );
    }
    for e in &report.errors {
        let _ = writeln!(out, "- error: {}", e.error);
    }
    out
}

/// CSS class and fill colour of a cell, per outcome.
/// What DepSurf's letters beside a program's mark mean.
pub const DEPSURF_LEGEND: &str = "DepSurf's letters beside a kprobe or fentry program's mark, for its function: ∅ absent from the vmlinux, Δ prototype changed since the first image, D duplicated, C collision, F fully inlined, S selectively inlined, T transformed.";

fn cell_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::Unchecked => "unchecked",
        Outcome::Fallback => "fallback",
        Outcome::Silent => "silent",
        Outcome::Hard => "hard",
    }
}

const HTML_STYLE: &str = "body{font-family:sans-serif;margin:1.5em}\
table{border-collapse:collapse}\
th,td{border:1px solid #bbb;padding:2px 6px;text-align:center}\
td.row{text-align:left;white-space:nowrap}\
td.program{padding-left:1.5em}\
.ok{background:#c8f0c8}.unchecked{background:#e4e4e4}.fallback{background:#fff0b0}\
.silent{background:#ffc890}.hard{background:#ff9a9a}\
th.image{writing-mode:vertical-rl;transform:rotate(180deg);font-weight:normal}\
li{margin:2px 0}";

/// A self-contained HTML page per report: the matrix of objects and
/// programs × images with one coloured cell per verdict (`title` gives
/// the reasons of a cell that is not ok), the images, then every verdict
/// that is not ok and the notes, as in [`markdown`]. Every text from the
/// objects or the dataset is HTML-escaped.
pub fn html(report: &Report) -> String {
    use ksurf_aggregator::report::escape;
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>ksurf check</title><style>",
    );
    out.push_str(HTML_STYLE);
    out.push_str("</style></head><body>\n<h1>ksurf check</h1>\n<p>");
    for o in [
        Outcome::Ok,
        Outcome::Unchecked,
        Outcome::Fallback,
        Outcome::Silent,
        Outcome::Hard,
    ] {
        let what = match o {
            Outcome::Ok => "ok",
            Outcome::Unchecked => "unchecked",
            Outcome::Fallback => {
                "fallback: a CO-RE probe is false, the program takes its other branch"
            }
            Outcome::Silent => "silent: wrong or missing data",
            Outcome::Hard => "hard: load or attach fails",
        };
        let _ = write!(
            out,
            "<span class=\"{}\">&nbsp;{}&nbsp;</span> {what} &nbsp; ",
            cell_class(o),
            o.mark()
        );
    }
    let _ = write!(out, "</p>\n<p>{}</p>", escape(DEPSURF_LEGEND));
    out.push_str("\n<table>\n<tr><th>object / program</th>");
    for (i, image) in report.images.iter().enumerate() {
        let _ = write!(
            out,
            "<th class=\"image\" title=\"{}\">{} {}</th>",
            escape(image),
            i + 1,
            escape(image)
        );
    }
    out.push_str("</tr>\n");
    // The reasons behind one cell: the verdicts on image i that are not
    // ok, of the dependencies `belongs` picks.
    let reasons = |object: &ObjectCheck, belongs: &dyn Fn(&DependencyCheck) -> bool, i: usize| {
        let lines: Vec<String> = object
            .dependencies
            .iter()
            .filter(|dep| belongs(dep))
            .filter_map(|dep| {
                let v = dep.verdicts.get(i).filter(|v| v.outcome != Outcome::Ok)?;
                Some(format!(
                    "{} {}: {:?} {}: {}",
                    dep.kind, dep.name, v.outcome, v.class, v.reason
                ))
            })
            .collect();
        escape(&lines.join("\n"))
    };
    let row = |out: &mut String,
               label: String,
               class: &str,
               outcomes: &[Outcome],
               letters: &[String],
               object: &ObjectCheck,
               belongs: &dyn Fn(&DependencyCheck) -> bool| {
        let _ = write!(out, "<tr><td class=\"row {class}\">{label}</td>");
        for (i, o) in outcomes.iter().enumerate() {
            let title = match o {
                Outcome::Ok => String::new(),
                _ => format!(" title=\"{}\"", reasons(object, belongs, i)),
            };
            let letters = match letters.get(i).filter(|l| !l.is_empty()) {
                Some(l) => format!(" <small>{}</small>", escape(l)),
                None => String::new(),
            };
            let _ = write!(
                out,
                "<td class=\"{}\"{title}>{}{letters}</td>",
                cell_class(*o),
                o.mark()
            );
        }
        out.push_str("</tr>\n");
    };
    for object in report.ordered() {
        let label = format!("<b>{}</b>", escape(&object.label));
        row(
            &mut out,
            label,
            "object",
            &object.outcomes,
            &[],
            object,
            &|_| true,
        );
        for program in &object.programs {
            let label = format!("<code>{}</code>", escape(&program.section));
            let section = Some(program.section.as_str());
            row(
                &mut out,
                label,
                "program",
                &program.outcomes,
                &program.depsurf,
                object,
                &|dep| dep.section.as_deref() == section,
            );
        }
        if object.shared.iter().any(|o| *o != Outcome::Ok) {
            let label = escape(SHARED_ROW.trim());
            let in_program = |dep: &DependencyCheck| {
                object
                    .programs
                    .iter()
                    .any(|p| dep.section.as_deref() == Some(p.section.as_str()))
            };
            row(
                &mut out,
                label,
                "program",
                &object.shared,
                &[],
                object,
                &|dep| !in_program(dep),
            );
        }
    }
    out.push_str("</table>\n<h2>Images</h2>\n<ol>\n");
    for image in &report.images {
        let _ = writeln!(out, "<li><code>{}</code></li>", escape(image));
    }
    out.push_str("</ol>\n<h2>Details</h2>\n<ul>\n");
    for (object, i, dep, v) in report.problems() {
        let _ = writeln!(
            out,
            "<li class=\"{}\">{} [{}] {}{} <code>{}</code>: <b>{:?}</b> {}: {}</li>",
            cell_class(v.outcome),
            escape(&object.label),
            i + 1,
            dep.section
                .as_deref()
                .map(|s| format!("<code>{}</code>: ", escape(s)))
                .unwrap_or_default(),
            escape(dep.kind),
            escape(&dep.name),
            v.outcome,
            escape(v.class),
            escape(&v.reason)
        );
    }
    for object in report.ordered() {
        for note in &object.notes {
            let _ = writeln!(
                out,
                "<li>{}: note: {}</li>",
                escape(&object.label),
                escape(note)
            );
        }
    }
    for e in &report.errors {
        let _ = writeln!(out, "<li class=\"hard\">error: {}</li>", escape(&e.error));
    }
    out.push_str("</ul>\n</body></html>\n");
    out
}
