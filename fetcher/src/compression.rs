//! Compression of a package's `data.tar` member: recognising it by its
//! magic bytes (never by the member's name) and building the matching
//! streaming decoder. xz, the format of Debian's kernel debug packages, is
//! decoded with liblzma's multi-threaded decoder when more than one thread is
//! allowed; it splits the work by xz block, and dpkg writes multi-block
//! streams (24 MiB blocks for the kernel -dbg packages).

use std::io::{self, BufRead, Read};

/// How a `data.tar` member is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Xz,
    Zstd,
    Gzip,
    Bzip2,
    /// A plain (uncompressed) tar.
    None,
}

/// How many leading bytes [`Compression::detect`] wants to see: a plain tar
/// is only recognisable by the `ustar` magic at offset 257.
pub const MAGIC_LEN: usize = 512;

/// Hard cap on the xz decoder's memory (dictionary plus, when threaded,
/// buffered blocks). Debian's biggest xz preset needs 65 MiB per thread.
const XZ_MEMLIMIT_STOP: u64 = 1 << 30;
/// Above this the xz decoder drops threads rather than buffering more blocks.
const XZ_MEMLIMIT_THREADING: u64 = 512 << 20;

impl Compression {
    /// Recognises the compression from the first bytes of the member (up to
    /// [`MAGIC_LEN`]; fewer when the member is shorter).
    pub fn detect(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Self::Xz)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Self::Zstd)
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Some(Self::Gzip)
        } else if head.starts_with(b"BZh") {
            Some(Self::Bzip2)
        } else if head.get(257..262) == Some(b"ustar") {
            Some(Self::None)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Xz => "xz",
            Self::Zstd => "zstd",
            Self::Gzip => "gzip",
            Self::Bzip2 => "bzip2",
            Self::None => "none",
        }
    }

    /// A reader of the decompressed bytes of `input`. `xz_threads` is the
    /// number of xz decoder threads: 0 means one per available core, 1 the
    /// single-threaded decoder.
    pub(crate) fn decoder<'a, R: BufRead + 'a>(
        self,
        input: R,
        xz_threads: u32,
    ) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            Self::Xz => {
                let threads = match xz_threads {
                    0 => std::thread::available_parallelism()
                        .map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX)),
                    n => n,
                };
                let stream = if threads > 1 {
                    liblzma::stream::MtStreamBuilder::new()
                        .threads(threads)
                        .memlimit_threading(XZ_MEMLIMIT_THREADING)
                        .memlimit_stop(XZ_MEMLIMIT_STOP)
                        .timeout_ms(0)
                        .decoder()
                } else {
                    liblzma::stream::Stream::new_stream_decoder(XZ_MEMLIMIT_STOP, 0)
                }
                .map_err(io::Error::other)?;
                tracing::debug!(threads, "xz decoder");
                Box::new(liblzma::bufread::XzDecoder::new_stream(input, stream))
            }
            Self::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
            Self::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
            Self::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
            Self::None => Box::new(input),
        })
    }
}

impl std::fmt::Display for Compression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
