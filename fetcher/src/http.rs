//! HTTP transfers: one `reqwest` client (rustls, no OpenSSL) with bounded
//! concurrency per host, connect and read timeouts on every request, retries
//! with exponential backoff and jitter on timeouts, connection failures,
//! dropped bodies and 5xx answers (never on other 4xx), and resumption of
//! an interrupted body with an HTTP Range request that continues from the
//! bytes the sink already holds. A `206` must carry a `Content-Range` that
//! starts at that offset; a server that ignores the range (`200`) makes the
//! sink start over, or, for a sink that cannot (a stream being unpacked),
//! the already-seen prefix of the new body is skipped. `If-Range` with the
//! first response's `ETag` (or `Last-Modified`) makes a server whose file
//! changed answer with the whole new body rather than a mismatched range.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED};
use reqwest::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};
use crate::progress::Transfer;

/// Timeouts, retries and concurrency of [`HttpClient`].
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes of a response (headers or body).
    pub read_timeout: Duration,
    /// Attempts per request before giving up (at least 1). An attempt that
    /// received body bytes before failing is not counted, so a long
    /// download on a flaky link keeps going as long as it makes progress.
    pub attempts: u32,
    /// Backoff before the second attempt; doubled each time up to
    /// `backoff_max`, then jittered down by up to half.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Requests in flight to one host (scheme, name and port) at once.
    pub per_host: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            attempts: 5,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            per_host: 4,
        }
    }
}

/// Where a response body goes, in order. It may be asked to start over.
pub trait BodySink: Send {
    /// Body bytes accepted so far (the offset a resumed request asks for).
    fn written(&self) -> u64;
    /// Takes the next bytes of the body.
    fn write(&mut self, chunk: Bytes) -> impl Future<Output = Result<()>> + Send;
    /// Drops everything written, to receive the body again from its start.
    /// Returns `false` if this sink cannot; the client then skips the bytes
    /// it already delivered from the new body.
    fn restart(&mut self) -> Result<bool>;
}

/// A sink collecting the body in memory, up to a limit.
pub struct VecSink {
    url: String,
    limit: u64,
    pub data: Vec<u8>,
}

impl VecSink {
    pub fn new(url: &str, limit: u64) -> Self {
        Self {
            url: url.to_owned(),
            limit,
            data: Vec::new(),
        }
    }
}

impl BodySink for VecSink {
    fn written(&self) -> u64 {
        self.data.len() as u64
    }

    fn write(&mut self, chunk: Bytes) -> impl Future<Output = Result<()>> + Send {
        let result = if self.data.len() as u64 + chunk.len() as u64 > self.limit {
            Err(Error::TooLarge {
                url: self.url.clone(),
                limit: self.limit,
            })
        } else {
            self.data.extend_from_slice(&chunk);
            Ok(())
        };
        std::future::ready(result)
    }

    fn restart(&mut self) -> Result<bool> {
        self.data.clear();
        Ok(true)
    }
}

/// The HTTP client. Cheap to clone; clones share connections and the
/// per-host limits.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    options: HttpOptions,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// What one attempt ended with.
enum Attempt {
    Done,
    /// Retry after a backoff; `progressed` if body bytes arrived.
    Retry {
        message: String,
        progressed: bool,
    },
    Fail(Error),
}

impl HttpClient {
    pub fn new(options: HttpOptions) -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(concat!("ksurf/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Setup(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                options,
                hosts: Mutex::new(HashMap::new()),
            }),
        })
    }

    pub fn options(&self) -> &HttpOptions {
        &self.inner.options
    }

    /// Waits for a free slot for `url`'s host.
    async fn host_permit(&self, url: &reqwest::Url) -> OwnedSemaphorePermit {
        let key = format!(
            "{}://{}:{}",
            url.scheme(),
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let semaphore = {
            let mut hosts = self.inner.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(self.inner.options.per_host.max(1))))
                .clone()
        };
        semaphore
            .acquire_owned()
            .await
            .expect("host semaphores are never closed")
    }

    /// The whole body of `url`, at most `limit` bytes.
    pub async fn get_bytes(&self, url: &str, limit: u64) -> Result<Vec<u8>> {
        let mut sink = VecSink::new(url, limit);
        self.download(url, &mut sink, &Transfer::hidden()).await?;
        Ok(sink.data)
    }

    /// Streams the body of `url` into `sink`, resuming and retrying as the
    /// options allow. Returns the body's length. `progress` gets the
    /// length (when known) and every byte delivered.
    pub async fn download<S: BodySink>(
        &self,
        url: &str,
        sink: &mut S,
        progress: &Transfer,
    ) -> Result<u64> {
        let parsed = reqwest::Url::parse(url).map_err(|e| Error::Http {
            url: url.to_owned(),
            message: format!("invalid URL: {e}"),
            attempts: 0,
        })?;
        let _permit = self.host_permit(&parsed).await;
        let options = &self.inner.options;
        let mut validator: Option<String> = None;
        let mut attempts = 0u32;
        let mut counted = 0u32;
        loop {
            attempts += 1;
            counted += 1;
            match self
                .attempt(&parsed, url, sink, progress, &mut validator, attempts)
                .await
            {
                Attempt::Done => return Ok(sink.written()),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry {
                    message,
                    progressed,
                } => {
                    if progressed {
                        counted = 1;
                    }
                    if counted >= options.attempts.max(1) {
                        return Err(Error::Http {
                            url: url.to_owned(),
                            message,
                            attempts,
                        });
                    }
                    let delay = backoff(options, counted);
                    tracing::warn!(url, attempt = attempts, ?delay, "{message}; retrying");
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn attempt<S: BodySink>(
        &self,
        parsed: &reqwest::Url,
        url: &str,
        sink: &mut S,
        progress: &Transfer,
        validator: &mut Option<String>,
        attempts: u32,
    ) -> Attempt {
        let offset = sink.written();
        let mut request = self.inner.client.get(parsed.clone());
        if offset > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={offset}-"));
            if let Some(v) = validator.as_deref() {
                request = request.header(IF_RANGE, v);
            }
        }
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => return transport_error(url, &e, false, attempts),
        };
        let status = response.status();
        // How many bytes at the start of this body were already delivered.
        let mut skip = 0u64;
        match status {
            StatusCode::PARTIAL_CONTENT if offset > 0 => {
                match content_range_start(response.headers()) {
                    Some(start) if start == offset => {}
                    other => {
                        // Not the range asked for: start over without one.
                        let fail = |e: Error| Attempt::Fail(e);
                        match sink.restart() {
                            Ok(true) => {}
                            Ok(false) => {
                                return fail(Error::Http {
                                    url: url.to_owned(),
                                    message: format!(
                                        "asked for bytes from {offset}, got a range starting at {other:?}"
                                    ),
                                    attempts,
                                })
                            }
                            Err(e) => return fail(e),
                        }
                        progress.restart();
                        return Attempt::Retry {
                            message: format!(
                                "asked for bytes from {offset}, got a range starting at {other:?}"
                            ),
                            progressed: false,
                        };
                    }
                }
            }
            StatusCode::OK => {
                *validator = validator_of(response.headers());
                if offset > 0 {
                    tracing::debug!(url, offset, "server ignored the range; starting over");
                    match sink.restart() {
                        Ok(true) => progress.restart(),
                        Ok(false) => skip = offset,
                        Err(e) => return Attempt::Fail(e),
                    }
                }
                if let Some(len) = header_u64(response.headers(), CONTENT_LENGTH.as_str()) {
                    progress.set_length(len);
                }
            }
            s if s.is_server_error()
                || s == StatusCode::REQUEST_TIMEOUT
                || s == StatusCode::TOO_MANY_REQUESTS =>
            {
                return Attempt::Retry {
                    message: format!("HTTP {}", s.as_u16()),
                    progressed: false,
                };
            }
            s => {
                return Attempt::Fail(Error::HttpStatus {
                    url: url.to_owned(),
                    status: s.as_u16(),
                    attempts,
                })
            }
        }
        let mut progressed = false;
        loop {
            match response.chunk().await {
                Ok(Some(mut chunk)) => {
                    if skip > 0 {
                        let n = skip.min(chunk.len() as u64);
                        skip -= n;
                        let _ = chunk.split_to(n as usize);
                        if chunk.is_empty() {
                            continue;
                        }
                    }
                    progressed = true;
                    let n = chunk.len() as u64;
                    if let Err(e) = sink.write(chunk).await {
                        return Attempt::Fail(e);
                    }
                    progress.inc(n);
                }
                Ok(None) => {
                    if skip > 0 {
                        return Attempt::Fail(Error::Http {
                            url: url.to_owned(),
                            message: format!(
                                "the body got shorter: it ends {skip} bytes before the {offset} already received"
                            ),
                            attempts,
                        });
                    }
                    return Attempt::Done;
                }
                Err(e) => return transport_error(url, &e, progressed, attempts),
            }
        }
    }
}

/// Retry on timeouts, connection failures and broken bodies; fail on the rest.
fn transport_error(url: &str, e: &reqwest::Error, progressed: bool, attempts: u32) -> Attempt {
    let message = describe(e);
    if e.is_timeout() || e.is_connect() || e.is_body() || e.is_request() || e.is_decode() {
        Attempt::Retry {
            message,
            progressed,
        }
    } else {
        Attempt::Fail(Error::Http {
            url: url.to_owned(),
            message,
            attempts,
        })
    }
}

/// The error and its causes on one line, timeouts named as such.
fn describe(e: &reqwest::Error) -> String {
    let mut message = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else if e.is_body() {
        "the response body broke off".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.ends_with(&text) {
            message = format!("{message}: {text}");
        }
        source = s.source();
    }
    message
}

/// Delay before attempt `n + 1`: `initial * 2^(n-1)` capped, jittered into
/// its upper half.
fn backoff(options: &HttpOptions, n: u32) -> Duration {
    let exp = options
        .backoff_initial
        .saturating_mul(1u32 << (n.saturating_sub(1)).min(20));
    let full = exp.min(options.backoff_max);
    let half = full / 2;
    half + full.saturating_sub(half).mul_f64(fastrand::f64())
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// The first byte of `Content-Range: bytes <first>-<last>/<total>`.
fn content_range_start(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get(CONTENT_RANGE)?.to_str().ok()?;
    let range = value.trim().strip_prefix("bytes ")?;
    let (first, _) = range.split_once('-')?;
    first.trim().parse().ok()
}

/// A strong `ETag`, else `Last-Modified`, for `If-Range`.
fn validator_of(headers: &HeaderMap) -> Option<String> {
    let etag = headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.starts_with("W/"));
    etag.or_else(|| headers.get(LAST_MODIFIED).and_then(|v| v.to_str().ok()))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn parses_content_range() {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_RANGE,
            HeaderValue::from_static("bytes 1000-1999/2000"),
        );
        assert_eq!(content_range_start(&h), Some(1000));
        h.insert(CONTENT_RANGE, HeaderValue::from_static("bytes */2000"));
        assert_eq!(content_range_start(&h), None);
    }

    #[test]
    fn backoff_doubles_within_bounds() {
        let o = HttpOptions {
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1000),
            ..HttpOptions::default()
        };
        for (n, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (30, 1000),
        ] {
            let d = backoff(&o, n).as_millis();
            assert!(d >= full / 2 && d <= full, "attempt {n}: {d} ms");
        }
    }

    #[test]
    fn weak_etags_are_not_validators() {
        let mut h = HeaderMap::new();
        h.insert(ETAG, HeaderValue::from_static("W/\"x\""));
        h.insert(
            LAST_MODIFIED,
            HeaderValue::from_static("Sat, 01 Jan 2000 00:00:00 GMT"),
        );
        assert_eq!(
            validator_of(&h).as_deref(),
            Some("Sat, 01 Jan 2000 00:00:00 GMT")
        );
        h.insert(ETAG, HeaderValue::from_static("\"abc\""));
        assert_eq!(validator_of(&h).as_deref(), Some("\"abc\""));
    }
}
