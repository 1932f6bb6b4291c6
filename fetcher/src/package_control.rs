//! A package's own control file, read from the package: `ar` archive →
//! `control.tar[.xz|.zst|.gz|.bz2]` member (the second, before the data) →
//! decoder chosen by magic bytes → tar → `./control`. Streamed and bounded:
//! reading stops at the control member, which may be at most
//! [`MAX_CONTROL_MEMBER`] bytes, and the `control` file at most
//! [`MAX_CONTROL_FILE`] bytes; the big data member is never read. Local
//! discovery judges packages by what this returns, as the index path does
//! with the index's fields.

use std::io::{self, BufReader, Read};

use crate::compression::{Compression, MAGIC_LEN};
use crate::error::{Error, Result};

/// Largest `control.tar*` member accepted (compressed, and decompressed).
pub const MAX_CONTROL_MEMBER: u64 = 16 << 20;
/// Largest `control` file accepted.
pub const MAX_CONTROL_FILE: u64 = 1 << 20;

/// The text of the package's `control` file. `label` names the package in
/// errors (a path).
pub fn read_control<R: Read>(input: R, label: &str) -> Result<String> {
    let not_deb = |message: String| Error::NotDeb {
        label: label.to_owned(),
        message,
    };
    let mut ar = ar::Archive::new(input);
    match ar.next_entry() {
        None => return Err(not_deb("empty".to_owned())),
        Some(Err(e)) => return Err(not_deb(e.to_string())),
        Some(Ok(first)) if first.header().identifier() != b"debian-binary" => {
            return Err(not_deb(format!(
                "first member is {:?}, not \"debian-binary\"",
                String::from_utf8_lossy(first.header().identifier())
            )))
        }
        Some(Ok(_)) => {}
    }
    let mut entry = match ar.next_entry() {
        None => return Err(not_deb("no control.tar member".to_owned())),
        Some(Err(e)) => return Err(not_deb(e.to_string())),
        Some(Ok(entry)) => entry,
    };
    let member = String::from_utf8_lossy(entry.header().identifier()).into_owned();
    if !member.starts_with("control.tar") {
        return Err(not_deb(format!(
            "second member is {member:?}, not control.tar*"
        )));
    }
    let corrupt = |message: String| Error::Corrupt {
        label: label.to_owned(),
        member: member.clone(),
        message,
    };
    let size = entry.header().size();
    if size > MAX_CONTROL_MEMBER {
        return Err(corrupt(format!(
            "{size} bytes, over the {MAX_CONTROL_MEMBER}-byte cap of a control member"
        )));
    }
    let mut compressed = Vec::with_capacity(size as usize);
    entry
        .read_to_end(&mut compressed)
        .map_err(|e| Error::Read {
            label: label.to_owned(),
            source: e,
        })?;
    if (compressed.len() as u64) < size {
        return Err(Error::Truncated {
            label: label.to_owned(),
            member: member.clone(),
            message: format!(
                "the package ends {} bytes into this {size}-byte member",
                compressed.len()
            ),
        });
    }
    let head = &compressed[..compressed.len().min(MAGIC_LEN)];
    let compression = Compression::detect(head).ok_or_else(|| Error::UnknownCompression {
        label: label.to_owned(),
        member: member.clone(),
        magic: crate::hex(&head[..head.len().min(8)]),
    })?;
    let decoder = compression
        .decoder(BufReader::new(&compressed[..]), 1)
        .map_err(|e| corrupt(format!("starting the decoder: {e}")))?;
    let mut tar = tar::Archive::new(decoder.take(MAX_CONTROL_MEMBER));
    let entries = tar.entries().map_err(|e| corrupt(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| corrupt(e.to_string()))?;
        let path = entry.path_bytes();
        let is_control = path
            .split(|&b| b == b'/')
            .filter(|p| !p.is_empty() && *p != b".")
            .eq([&b"control"[..]]);
        if !is_control {
            continue;
        }
        if !matches!(
            entry.header().entry_type(),
            tar::EntryType::Regular | tar::EntryType::Continuous
        ) {
            return Err(corrupt("./control is not a regular file".to_owned()));
        }
        if entry.size() > MAX_CONTROL_FILE {
            return Err(corrupt(format!(
                "./control is {} bytes, over the {MAX_CONTROL_FILE}-byte cap",
                entry.size()
            )));
        }
        let mut text = Vec::new();
        (&mut entry)
            .take(MAX_CONTROL_FILE)
            .read_to_end(&mut text)
            .map_err(|e| corrupt(format!("./control: {e}")))?;
        return String::from_utf8(text).map_err(|e| {
            corrupt(format!(
                "./control is not UTF-8 (at byte {})",
                e.utf8_error().valid_up_to()
            ))
        });
    }
    Err(corrupt("no ./control file".to_owned()))
}

/// [`read_control`] of a file.
pub fn read_control_file(path: &std::path::Path) -> Result<String> {
    let label = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| Error::Read {
        label: label.clone(),
        source,
    })?;
    read_control(io::BufReader::new(file), &label)
}
