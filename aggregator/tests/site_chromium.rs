//! The generated site in a real browser: headless Chromium (Debian's
//! `chromium`, installed by `.ci/run`) opens a function page from
//! `file://`, the attach matrix renders with its colours (and a screenshot
//! of it is taken), the status list renders, a `<details>` opens on a click
//! of its summary, the index page's search box finds a function, and the
//! function index (a cell per image, paged) filters its rows by symbol,
//! carries the filter to the letter's other pages, and lists every fully
//! inlined function on its site-wide page; the filtered index table is
//! screenshot too.
//! `chromium_check.py` drives the browser over the DevTools protocol.

mod common;

use ksurf_aggregator::{aggregate, config, site};

#[test]
fn site_pages_render_open_and_search_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let dataset = common::fixture_dataset(&dir.path().join("ds"));
    let groups = config::load(&common::config_path()).unwrap();
    aggregate::write_dataset(&dataset, &groups).unwrap();
    let out = dir.path().join("site");
    // Four names per index page: the letter pages have several.
    let summary = site::write_site_paged(&dataset, &out, 4).unwrap();
    assert_eq!(
        summary,
        site::SiteSummary {
            function_pages: 45,
            type_pages: 38,
            interface_pages: 0,
            index_pages: 53
        }
    );
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/chromium_check.py");
    let o = std::process::Command::new("python3")
        .arg(&script)
        .arg(&out)
        .args(["sum_grid", "sum_g", "constprop_candidate", "T", "C"])
        .output()
        .expect("running python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let got: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want = serde_json::json!({
        // Group headings of Status, then of Differences, then the first summaries.
        "status": ["Regular", "Arch", "Flavor", "Revision",
                   "Regular", "Arch", "Flavor", "Revision",
                   "In 4.4: ✅", "In 4.10: ✅", "In 5.4: ✅"],
        "details": {
            "before": false,
            "after": true,
            "prototype": "int sum_grid(int (*grid)[4], int rows);",
            "visible": true
        },
        "matrix": {
            "rows": [["Group", "Image", "Status", "kprobe", "fentry"],
                     ["Regular", "4.4", "✓", "✓", "✗"],
                     ["Regular", "4.10", "Δ", "✓", "✗"],
                     ["Regular", "5.4", "✓", "✓", "✗"]],
            // warn (the prototype changed), ok, bad (no .BTF).
            "colours": ["rgb(255, 243, 205)", "rgb(227, 246, 227)", "rgb(248, 215, 218)"],
            "screenshot": {"png": true, "size_matches": true, "nonempty": true}
        },
        "search": [["sum_grid", "f/s/sum_grid.html"]],
        // The function index: a cell per image (baselines first, † no
        // .BTF), four names per page, filtered by T, then by T and C.
        "index": {
            "head": [["Name", "Regular", "Arch", "Flavor", "Revision"],
                     ["4.4 †", "4.10 †", "5.4 †", "amd64 (baseline) †", "arm64 †", "riscv64 †",
                      "mini (baseline) †", "mini-cloud †", "mini-rt †", "30 †", "31 †"]],
            "rows": 4,
            "row": ["constprop_candidate", "ST", "ST", "ST", "ST", "ST", "ST", "ST", "ST",
                    "ST", "ST", "ST"],
            "row_colours": ["rgb(255, 243, 205)", "rgb(255, 243, 205)", "rgb(255, 243, 205)"],
            "buttons": ["∅", "Δ", "D", "C", "F", "S", "T", "k✗", "k?", "f✗"],
            "first": ["collide_static_static", "constprop_candidate"],
            "shown": "2 of 4 shown",
            "hash": "#has=T",
            "both": ["collide_static_static"],
            "hash_both": "#has=C,T",
            "pager": "Page 1 2 ",
            "page_links": ["c.html#has=C,T"],
            "screenshot": {"png": true, "size_matches": true, "nonempty": true}
        },
        // Page 1 of c, opened with that fragment: the same filter is on,
        // and none of its four names shows both C and T.
        "other_page": {"pressed": ["C", "T"], "shown": "0 of 4 shown", "visible": []},
        "has_full": ["full_inline_helper", "header_inline_helper", "inline_intermediate"]
    });
    assert_eq!(got, want);
}
