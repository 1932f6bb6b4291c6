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
            for o in &program.outcomes {
                let _ = write!(out, " {} |", o.mark());
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
