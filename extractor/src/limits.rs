//! Bounds on what hostile input can make the extractor hold or write:
//! string lengths taken from DWARF, and the helper that cuts them. Real
//! kernels stay far below every bound.

/// Longest function name kept (the kernel's longest are under 100 bytes).
pub const MAX_NAME: usize = 1024;
/// Longest source path kept.
pub const MAX_PATH: usize = 4096;

/// `s` cut to at most `max` bytes (on a character boundary), marked `...`.
pub fn clip(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// A DWARF string as text, lossily decoded and cut to `max` bytes.
pub fn text(bytes: &[u8], max: usize) -> String {
    clip(
        String::from_utf8_lossy(&bytes[..bytes.len().min(max + 4)]).into_owned(),
        max,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_on_character_boundaries() {
        assert_eq!(clip("abcdef".into(), 10), "abcdef");
        assert_eq!(clip("abcdef".into(), 3), "abc...");
        assert_eq!(clip("aé".into(), 2), "a...");
        assert_eq!(text(b"vfs_read", MAX_NAME), "vfs_read");
        assert_eq!(text(&[b'x'; 5000], 4), "xxxx...");
    }
}
