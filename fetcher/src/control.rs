//! Debian control ("deb822") syntax: paragraphs of `Name: value` fields
//! separated by blank lines, values continued on lines that start with a
//! space or tab. Used for `Packages` indices, apt `.sources` files and
//! package control files. Zero-copy: paragraphs borrow the input text, so a
//! 50 MB index is split without allocating per field value.
//!
//! A well-kept crate exists (`deb822-fast`), but its errors carry no
//! position; ksurf reports the line of every syntax error, so this small
//! parser owns the syntax.

use crate::{Error, Result};

/// One paragraph (stanza) of a control file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph<'a> {
    /// 1-based line of the paragraph's first field.
    pub line: usize,
    fields: Vec<Field<'a>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Field<'a> {
    name: &'a str,
    /// The value with surrounding whitespace trimmed; continuation lines
    /// are kept as they are in the input (newline separated).
    value: &'a str,
    line: usize,
}

impl<'a> Paragraph<'a> {
    /// The value of a field, matched case-insensitively as deb822 requires.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value)
    }

    /// The 1-based line of a field, for error messages.
    pub fn line_of(&self, name: &str) -> usize {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map_or(self.line, |f| f.line)
    }

    /// Field names in input order.
    pub fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.fields.iter().map(|f| f.name)
    }
}

/// Splits `text` into paragraphs. `label` names the input in errors.
/// Lines starting with `#` are comments (allowed in `.sources` files).
pub fn parse<'a>(text: &'a str, label: &str) -> Result<Vec<Paragraph<'a>>> {
    let mut paragraphs = Vec::new();
    let mut current: Option<Paragraph<'a>> = None;
    // Byte range of the current field's value in `text`, and its line.
    let mut open: Option<(&'a str, usize, usize, usize)> = None;
    let mut offset = 0usize;
    for (index, raw_line) in text.split_inclusive('\n').enumerate() {
        let line_no = index + 1;
        let start = offset;
        offset += raw_line.len();
        let line = raw_line.strip_suffix('\n').unwrap_or(raw_line);
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line_end = start + line.len();
        if line.trim().is_empty() {
            close_field(text, &mut open, &mut current);
            if let Some(p) = current.take() {
                paragraphs.push(p);
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            match open.as_mut() {
                Some((_, _, _, end)) => *end = line_end,
                None => {
                    return Err(syntax(
                        label,
                        line_no,
                        "continuation line outside a field (a line starting with a space must continue the field above it)",
                    ))
                }
            }
            continue;
        }
        close_field(text, &mut open, &mut current);
        let Some(colon) = line.find(':') else {
            return Err(syntax(
                label,
                line_no,
                &format!("expected `Name: value`, found {:?}", cut(line)),
            ));
        };
        let name = &line[..colon];
        if name.is_empty() || name.starts_with('-') || name.contains([' ', '\t']) {
            return Err(syntax(
                label,
                line_no,
                &format!("invalid field name {:?}", cut(name)),
            ));
        }
        let paragraph = current.get_or_insert_with(|| Paragraph {
            line: line_no,
            fields: Vec::new(),
        });
        if paragraph.get(name).is_some() {
            return Err(syntax(
                label,
                line_no,
                &format!("field {name:?} appears twice in one paragraph"),
            ));
        }
        let value_start = start + colon + 1;
        open = Some((name, line_no, value_start, line_end));
    }
    close_field(text, &mut open, &mut current);
    if let Some(p) = current.take() {
        paragraphs.push(p);
    }
    Ok(paragraphs)
}

fn close_field<'a>(
    text: &'a str,
    open: &mut Option<(&'a str, usize, usize, usize)>,
    current: &mut Option<Paragraph<'a>>,
) {
    if let (Some((name, line, start, end)), Some(p)) = (open.take(), current.as_mut()) {
        p.fields.push(Field {
            name,
            value: text[start..end].trim(),
            line,
        });
    }
}

fn syntax(label: &str, line: usize, message: &str) -> Error {
    Error::Index {
        label: label.to_owned(),
        line,
        message: message.to_owned(),
    }
}

/// The start of a long line, for error messages.
fn cut(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_fields_and_continuations() {
        let text = "Package: a\nVersion: 1\nDescription: short\n long line\n .\n\n\n# comment\nPackage: b\r\nsize:  7 \r\n";
        let ps = parse(text, "t").unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].line, 1);
        assert_eq!(ps[0].get("package"), Some("a"));
        assert_eq!(ps[0].get("Description"), Some("short\n long line\n ."));
        assert_eq!(
            ps[0].names().collect::<Vec<_>>(),
            ["Package", "Version", "Description"]
        );
        assert_eq!(ps[1].line, 9);
        assert_eq!(ps[1].get("Size"), Some("7"));
        assert_eq!(ps[1].line_of("Size"), 10);
        assert_eq!(ps[1].get("Version"), None);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let cases = [
            ("Package: a\n continued\n\n continued", "t:4: continuation line outside a field (a line starting with a space must continue the field above it)"),
            ("Package: a\nno colon here\n", "t:2: expected `Name: value`, found \"no colon here\""),
            ("Package: a\n: value\n", "t:2: invalid field name \"\""),
            ("Package: a\nbad name: v\n", "t:2: invalid field name \"bad name\""),
            ("Package: a\nVersion: 1\npackage: b\n", "t:3: field \"package\" appears twice in one paragraph"),
        ];
        for (text, message) in cases {
            assert_eq!(
                parse(text, "t").unwrap_err().to_string(),
                message,
                "{text:?}"
            );
        }
    }

    #[test]
    fn empty_input_has_no_paragraphs() {
        assert_eq!(parse("", "t").unwrap(), []);
        assert_eq!(parse("\n\n  \n", "t").unwrap(), []);
    }
}
