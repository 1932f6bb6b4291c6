//! Standalone HTML of a report page: the Markdown rendered with
//! pulldown-cmark (the raw `<details>`/`<ul>` blocks pass through) inside
//! a page with its own style, no external resources.

use pulldown_cmark::{html, Options, Parser};

use crate::report::escape;

/// The page's style: readable code blocks and lists.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}\
pre{background:#f5f5f5;padding:.6rem;overflow-x:auto}\
code{font-family:ui-monospace,monospace}\
summary{cursor:pointer}\
details{margin:.2rem 0}\
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}\
.matrix .ok{background:#e3f6e3}.matrix .warn{background:#fff3cd}.matrix .bad{background:#f8d7da}\
nav a{margin-right:.4rem}\
.wide{overflow-x:auto}.index td,.index th{font-size:.85rem;white-space:nowrap}\
#filter button{min-width:2.2rem;margin:.1rem}#filter button[aria-pressed=true]{background:#333;color:#fff}\
#shown{margin-left:.5rem;color:#555}";

/// The HTML body of `markdown`.
pub fn body(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut out, Parser::new_ext(markdown, Options::ENABLE_TABLES));
    out
}

/// A standalone HTML page titled `title` holding `markdown`; `nav` is
/// extra HTML put before the content (links of a site).
pub fn page(title: &str, markdown: &str, nav: Option<&str>) -> String {
    page_html(title, &body(markdown), nav)
}

/// [`page`] of a body already in HTML.
pub fn page_html(title: &str, body: &str, nav: Option<&str>) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{}{body}</body>\n</html>\n",
        escape(title),
        nav.unwrap_or(""),
    )
}
