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
    rows.insert(0, HEADER.map(str::to_owned));
    // Sizes are right-aligned, the rest left.
    let mut out = aligned(&rows, |column| column == 3);
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

/// The series a plan entry was listed in: a suite's series (`focal` of
/// `focal-updates`, `bookworm` of `bookworm-security`), or a local
/// source's directory as it is.
pub fn series_of(found_in: &str) -> &str {
    if found_in.contains('/') {
        found_in
    } else {
        found_in.split('-').next().unwrap_or(found_in)
    }
}

/// Per series (in order of first appearance in the plan): the images and
/// bytes planned and those still pending (to fetch, or for a local source
/// to extract), then the totals; each line
/// ending in a newline. Packages of unknown size count as images and are
/// named in the size column (`+ 2 of unknown size`). Companion packages
/// (build configuration) are counted in the bytes of their image's series.
pub fn render_series(plan: &Plan, status: &dyn Fn(&PlannedPackage) -> PackageStatus) -> String {
    let mut series: Vec<(String, Tally, Tally)> = Vec::new();
    for (i, p) in plan.packages.iter().enumerate() {
        let name = plan.found_in.get(i).map_or("?", |f| series_of(f));
        let at = match series.iter().position(|(s, ..)| s == name) {
            Some(at) => at,
            None => {
                series.push((name.to_owned(), Tally::default(), Tally::default()));
                series.len() - 1
            }
        };
        let size = match (p.size, &p.companion) {
            (Some(s), Some(c)) => Some(s + c.size),
            (size, _) => size,
        };
        series[at].1.add(size);
        if status(p) == PackageStatus::Pending {
            series[at].2.add(size);
        }
    }
    let mut total = (Tally::default(), Tally::default());
    let mut rows = vec![[
        "SERIES".to_owned(),
        "IMAGES".to_owned(),
        "SIZE".to_owned(),
        "PENDING".to_owned(),
        "PENDING SIZE".to_owned(),
    ]];
    for (name, all, todo) in &series {
        for (sum, t) in [(&mut total.0, all), (&mut total.1, todo)] {
            sum.count += t.count;
            sum.bytes += t.bytes;
            sum.unknown += t.unknown;
        }
        rows.push([
            name.clone(),
            all.count.to_string(),
            all.size(),
            todo.count.to_string(),
            todo.size(),
        ]);
    }
    rows.push([
        "total".to_owned(),
        total.0.count.to_string(),
        total.0.size(),
        total.1.count.to_string(),
        total.1.size(),
    ]);
    // Counts and sizes right-aligned, the series left.
    aligned(&rows, |column| column > 0)
}

/// `rows` (the header first) as columns two spaces apart, each as wide as
/// its widest cell, right-aligned where `right(column)`, trailing spaces
/// trimmed; each line ending in a newline.
fn aligned<const N: usize>(rows: &[[String; N]], right: impl Fn(usize) -> bool) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut text = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            if right(i) {
                text.push_str(&format!("{cell:>w$}"));
            } else {
                text.push_str(&format!("{cell:<w$}"));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
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
            found_in: vec![],
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

    #[test]
    fn series_totals_count_images_bytes_and_what_is_left_to_fetch() {
        assert_eq!(series_of("focal-updates"), "focal");
        assert_eq!(series_of("bookworm-security"), "bookworm");
        assert_eq!(series_of("noble"), "noble");
        assert_eq!(series_of("work/debs"), "work/debs");
        let plan = Plan {
            packages: vec![
                planned("ubuntu/5.4.0-26-generic/amd64", "a", Some(3 << 20)),
                planned("ubuntu/5.4.0-216-generic/amd64", "b", Some(1 << 20)),
                planned("ubuntu/6.8.0-31-generic/amd64", "c", None),
                planned("debian/6.1.0-47-cloud-amd64/amd64", "d", Some(2 << 30)),
            ],
            rejected: vec![],
            found_in: vec![
                "focal".into(),
                "focal-updates".into(),
                "noble-security".into(),
                "work/debs".into(),
            ],
        };
        let text = render_series(&plan, &|p| {
            if p.package == "a" {
                PackageStatus::Done
            } else {
                PackageStatus::Pending
            }
        });
        assert_eq!(
            text,
            "\
SERIES     IMAGES                         SIZE  PENDING                 PENDING SIZE
focal           2                      4.0 MiB        1                      1.0 MiB
noble           1      0 B + 1 of unknown size        1      0 B + 1 of unknown size
work/debs       1                      2.0 GiB        1                      2.0 GiB
total           4  2.0 GiB + 1 of unknown size        3  2.0 GiB + 1 of unknown size
"
        );
    }
}
