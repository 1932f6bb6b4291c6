//! `ksurf report` reproduces, byte for byte, the structure of the DepSurf
//! website page the project takes as its reference
//! (`shared/reference/function-report-example.md`, beside the repository):
//! the page is read back into a history with a small parser of its lines,
//! rendered again, and compared with the original file.

use ksurf_aggregator::history::{FunctionHistory, GroupHistory, PairHistory};
use ksurf_aggregator::model::{Instance, Presence, StatusRow, Symbol};
use ksurf_aggregator::report::render;

fn reference_page() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let candidates = [
        root.join("../shared/reference/function-report-example.md"),
        root.join("../../shared/reference/function-report-example.md"),
    ];
    for c in &candidates {
        if let Ok(text) = std::fs::read_to_string(c) {
            return text;
        }
    }
    panic!("the reference page is not beside the repository (looked at {candidates:?})");
}

fn between<'a>(line: &'a str, start: &str, end: &str) -> &'a str {
    let from = line.find(start).expect(start) + start.len();
    let to = from + line[from..].find(end).expect(end);
    &line[from..to]
}

/// Reads the page back: statuses per group, then the compared pairs.
fn parse(page: &str) -> FunctionHistory {
    let lines: Vec<&str> = page.lines().collect();
    let name = between(lines[0], "<code>", "</code>").to_owned();
    let mut groups: Vec<GroupHistory> = Vec::new();
    let mut i = 0;
    let mut in_differences = false;
    let mut diff_group = 0usize;
    let mut baseline_labels: Vec<Option<String>> = Vec::new();
    while i < lines.len() {
        let line = lines[i];
        if line == "## Differences" {
            in_differences = true;
            baseline_labels = vec![None; groups.len()];
        } else if let Some(g) = line
            .strip_prefix("<b>")
            .and_then(|l| l.strip_suffix("</b>"))
        {
            if in_differences {
                diff_group = groups.iter().position(|x| x.name == g).unwrap();
            } else {
                groups.push(GroupHistory {
                    name: g.to_owned(),
                    baseline: None,
                    members: vec![],
                    pairs: vec![],
                });
            }
        } else if in_differences && line.starts_with("No changes between") {
            let old = between(line, "<code>", "</code>");
            let members = &groups[diff_group].members;
            if !members.iter().any(|m| m.label == old) {
                baseline_labels[diff_group] = Some(old.to_owned());
            }
        } else if line.starts_with("<summary>In ") || line.starts_with("In <code>") {
            let label = between(line, "<code>", "</code>").to_owned();
            let group = groups.last_mut().unwrap();
            let mut row = StatusRow {
                name: name.clone(),
                image: label.clone(),
                label,
                baseline: false,
                position: Some(group.members.len() as u32),
                presence: None,
                modules: vec![],
            };
            if line.starts_with("<summary>") {
                let mut p = Presence {
                    collision_type: String::new(),
                    inline_type: String::new(),
                    transform_suffixes: vec![],
                    instances: vec![],
                    symbols: vec![],
                    attach: None,
                };
                let mut prototype = None;
                i += 1;
                while lines[i] != "</details>" {
                    let l = lines[i];
                    if l == "```c" {
                        prototype = Some(lines[i + 1].to_owned());
                        i += 2;
                    } else if let Some(v) = l.strip_prefix("**Collision:** ") {
                        p.collision_type = v.to_owned();
                    } else if let Some(v) = l.strip_prefix("**Inline:** ") {
                        p.inline_type = v.to_owned();
                    } else if l == "**Transformation:** True" {
                        p.transform_suffixes = vec!["isra".to_owned()];
                    } else if let Some(v) = l.strip_prefix("In ") {
                        let (cu, addr) = v.split_once(" (").unwrap();
                        let (file, line_no) = lines[i + 1]
                            .strip_prefix("Location: ")
                            .unwrap()
                            .split_once(':')
                            .unwrap();
                        let inlined = lines[i + 2] == "Inline: True";
                        let mut inst = Instance {
                            external: false,
                            decl_file: Some(file.to_owned()),
                            decl_line: Some(line_no.parse().unwrap()),
                            cu_path: Some(cu.to_owned()),
                            inline_status: if inlined {
                                "declared, inlined"
                            } else {
                                "not declared, not inlined"
                            }
                            .to_owned(),
                            defined: true,
                            addr: Some(
                                u64::from_str_radix(addr.trim_end_matches(')'), 16).unwrap(),
                            ),
                            inline_callers: vec![],
                            direct_callers: vec![],
                            prototype: prototype.clone(),
                            return_type: None,
                            params: None,
                            varargs: false,
                            discarded: false,
                        };
                        i += 3;
                        let mut list: Option<&mut Vec<String>> = None;
                        while lines[i] != "```" {
                            match lines[i] {
                                "Inline callers:" => list = Some(&mut inst.inline_callers),
                                "Direct callers:" => list = Some(&mut inst.direct_callers),
                                other => list
                                    .as_mut()
                                    .unwrap()
                                    .push(other.strip_prefix("  - ").unwrap().to_owned()),
                            }
                            i += 1;
                        }
                        p.instances.push(inst);
                    } else if l == "**Symbols:**" {
                        i += 3;
                        while lines[i] != "```" {
                            let (range, rest) = lines[i].split_once(": ").unwrap();
                            let (start, end) = range.split_once('-').unwrap();
                            let (sym, bind) = rest.split_once(" (").unwrap();
                            let start = u64::from_str_radix(start, 16).unwrap();
                            p.symbols.push(Symbol {
                                name: sym.to_owned(),
                                addr: start,
                                size: u64::from_str_radix(end, 16).unwrap() - start,
                                binding: bind.trim_end_matches(')').to_owned(),
                                section: ".text".to_owned(),
                            });
                            i += 1;
                        }
                    }
                    i += 1;
                }
                row.presence = Some(p);
            }
            group.members.push(row);
        }
        i += 1;
    }
    for (g, group) in groups.iter_mut().enumerate() {
        let present = |r: &StatusRow| r.presence.is_some();
        let pair = |old: &str, o: bool, new: &StatusRow| PairHistory {
            old_label: old.to_owned(),
            new_label: new.label.clone(),
            old_present: o,
            new_present: present(new),
            changes: vec![],
        };
        group.pairs = match &baseline_labels[g] {
            Some(b) => group.members.iter().map(|m| pair(b, true, m)).collect(),
            None => group
                .members
                .windows(2)
                .map(|w| pair(&w[0].label, present(&w[0]), &w[1]))
                .collect(),
        };
    }
    FunctionHistory { name, groups }
}

#[test]
fn the_reference_page_renders_back_byte_for_byte() {
    let page = reference_page();
    let history = parse(&page);
    assert_eq!(history.groups.len(), 3);
    assert_eq!(history.groups[0].members.len(), 17);
    assert_eq!(history.groups[1].pairs.len(), 4);
    let rendered = render(&history);
    if rendered != page {
        for (n, (a, b)) in rendered.lines().zip(page.lines()).enumerate() {
            assert_eq!(a, b, "line {} differs", n + 1);
        }
    }
    assert_eq!(rendered, page);
}
