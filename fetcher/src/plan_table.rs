//! The plan as a person reads it: one row per package (image, package,
//! version, size, source, status), each followed by a row for its
//! companion package when it has one (`+ <package>`: the package its
//! build configuration is fetched from), and a totals line (which counts
//! the companions apart, when there are any). Whether a package is done is
//! the caller's knowledge (the cache, the dataset), passed in.

use crate::plan::{Plan, PlannedPackage};

/// Whether a planned package's image is already fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageStatus {
    Done,
    Pending,
}

impl PackageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageStatus::Done => "done",
            PackageStatus::Pending => "pending",
        }
    }
}

/// Renders the table and totals, each line ending in a newline.
pub fn render_plan(plan: &Plan, status: &dyn Fn(&PlannedPackage) -> PackageStatus) -> String {
    const HEADER: [&str; 6] = ["IMAGE", "PACKAGE", "VERSION", "SIZE", "SOURCE", "STATUS"];
    let mut rows: Vec<[String; 6]> = Vec::new();
    let (mut done, mut pending) = (Tally::default(), Tally::default());
    let mut companions = Tally::default();
    for p in &plan.packages {
        let s = status(p);
        match s {
            PackageStatus::Done => done.add(p.size),
            PackageStatus::Pending => pending.add(p.size),
        }
        rows.push([
            p.image.to_string(),
            p.package.clone(),
            p.version.clone(),
            p.size.map_or_else(|| "?".to_owned(), human_size),
            p.source.clone(),
            s.as_str().to_owned(),
        ]);
        if let Some(c) = &p.companion {
            companions.add(Some(c.size));
            rows.push([
                String::new(),
                format!("+ {}", c.package),
                c.version.clone(),
                human_size(c.size),
                String::new(),
                String::new(),
            ]);
        }
    }
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: [&str; 6]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            // Sizes are right-aligned, the rest left.
            if i == 3 {
                text.push_str(&format!("{cell:>w$}"));
            } else {
                text.push_str(&format!("{cell:<w$}"));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(HEADER);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3], &row[4], &row[5]]);
    }
    let all = Tally {
        count: done.count + pending.count,
        bytes: done.bytes + pending.bytes,
        unknown: done.unknown + pending.unknown,
    };
    out.push_str(&format!(
        "{}; {} done, {} to fetch ({})",
        all.describe(),
        done.count,
        pending.count,
        pending.size()
    ));
    if companions.count > 0 {
        out.push_str(&format!(
            "; {} config {}, {}",
            companions.count,
            if companions.count == 1 {
                "package"
            } else {
                "packages"
            },
            companions.size()
        ));
    }
    out.push('\n');
    out
}

#[derive(Default, Clone, Copy)]
struct Tally {
    count: usize,
    bytes: u64,
    unknown: usize,
}

impl Tally {
    fn add(&mut self, size: Option<u64>) {
        self.count += 1;
        match size {
            Some(s) => self.bytes += s,
            None => self.unknown += 1,
        }
    }

    fn describe(&self) -> String {
        let noun = if self.count == 1 {
            "package"
        } else {
            "packages"
        };
        format!("{} {noun}, {}", self.count, self.size())
    }

    fn size(&self) -> String {
        format!("{}{}", human_size(self.bytes), self.unknown_note())
    }

    fn unknown_note(&self) -> String {
        if self.unknown == 0 {
            String::new()
        } else {
            format!(" + {} of unknown size", self.unknown)
        }
    }
}

/// Bytes in binary units with one decimal: `268.4 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::PackageLocation;

    fn planned(image: &str, package: &str, size: Option<u64>) -> PlannedPackage {
        PlannedPackage {
            image: image.parse().unwrap(),
            flavor: "cloud-amd64".into(),
            package: package.into(),
            version: "6.1.170-3".into(),
            source: "deb".into(),
            location: PackageLocation::Url("http://m.test/x.deb".into()),
            size,
            sha256: None,
            companion: None,
            modules: false,
            btf_from_dwarf: false,
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(281_462_948), "268.4 MiB");
        assert_eq!(human_size(23 << 30), "23.0 GiB");
    }

    #[test]
    fn table_and_totals() {
        let plan = Plan {
            packages: vec![
                planned(
                    "debian/6.1.0-47-cloud-amd64/amd64",
                    "linux-image-6.1.0-47-cloud-amd64-dbg",
                    Some(281_462_948),
                ),
                planned(
                    "debian/6.1.0-47-amd64/amd64",
                    "linux-image-6.1.0-47-amd64-dbg",
                    None,
                ),
            ],
            rejected: vec![],
        };
        let text = render_plan(&plan, &|p| {
            if p.size.is_some() {
                PackageStatus::Done
            } else {
                PackageStatus::Pending
            }
        });
        assert_eq!(
            text,
            "\
IMAGE                              PACKAGE                               VERSION         SIZE  SOURCE  STATUS
debian/6.1.0-47-cloud-amd64/amd64  linux-image-6.1.0-47-cloud-amd64-dbg  6.1.170-3  268.4 MiB  deb     done
debian/6.1.0-47-amd64/amd64        linux-image-6.1.0-47-amd64-dbg        6.1.170-3          ?  deb     pending
2 packages, 268.4 MiB + 1 of unknown size; 1 done, 1 to fetch (0 B + 1 of unknown size)
"
        );
        let empty = render_plan(&Plan::default(), &|_| PackageStatus::Pending);
        assert_eq!(empty, "IMAGE  PACKAGE  VERSION  SIZE  SOURCE  STATUS\n0 packages, 0 B; 0 done, 0 to fetch (0 B)\n");
    }
}
