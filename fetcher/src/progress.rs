//! Progress display for downloads: one indicatif bar per transfer (bytes,
//! rate, ETA) under a total bar over all of them. Drawn on stderr only when
//! it is a terminal; otherwise every bar is hidden and costs nothing.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bars of one fetch run.
#[derive(Clone)]
pub struct Progress {
    multi: MultiProgress,
    total: ProgressBar,
}

impl Progress {
    /// Visible when stderr is a terminal, hidden otherwise.
    pub fn auto() -> Self {
        Self::new(std::io::stderr().is_terminal())
    }

    /// Nothing drawn.
    pub fn hidden() -> Self {
        Self::new(false)
    }

    pub fn new(visible: bool) -> Self {
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let multi = MultiProgress::with_draw_target(target);
        let total = multi.add(ProgressBar::new(0));
        total.set_style(style("total"));
        total.set_message("total");
        Self { multi, total }
    }

    /// Adds `bytes` expected bytes to the total.
    pub fn expect(&self, bytes: u64) {
        self.total.inc_length(bytes);
    }

    /// Counts `bytes` of the total as done without a transfer (a cache hit).
    pub fn expect_done(&self, bytes: u64) {
        self.total.inc(bytes);
    }

    /// A bar for one transfer, named `name`, of `size` bytes when known.
    pub fn transfer(&self, name: &str, size: Option<u64>) -> Transfer {
        let bar = self
            .multi
            .insert_before(&self.total, ProgressBar::new(size.unwrap_or(0)));
        bar.set_style(style("one"));
        bar.set_message(name.to_owned());
        Transfer {
            bar,
            total: Some(self.total.clone()),
        }
    }

    /// A bar counting `total` steps (e.g. images) above the transfers.
    pub fn steps(&self, name: &str, total: u64) -> ProgressBar {
        let bar = self.multi.insert(0, ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>12} {pos}/{len} [{bar:30}] {elapsed} {msg}")
                .expect("valid progress template")
                .progress_chars("=> "),
        );
        bar.set_prefix(name.to_owned());
        bar
    }

    /// Ends the total bar.
    pub fn finish(&self) {
        self.total.finish();
    }
}

fn style(kind: &str) -> ProgressStyle {
    let template = if kind == "total" {
        "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}"
    } else {
        "{msg:40!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}"
    };
    ProgressStyle::with_template(template)
        .expect("valid progress template")
        .progress_chars("=> ")
}

/// The bar of one transfer, feeding the total.
pub struct Transfer {
    bar: ProgressBar,
    total: Option<ProgressBar>,
}

impl Transfer {
    /// A transfer that shows nothing.
    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            total: None,
        }
    }

    pub fn set_length(&self, len: u64) {
        self.bar.set_length(len);
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
        if let Some(t) = &self.total {
            t.inc(n);
        }
    }

    /// The transfer starts over: its bytes so far no longer count.
    pub fn restart(&self) {
        let done = self.bar.position();
        self.bar.set_position(0);
        if let Some(t) = &self.total {
            t.set_position(t.position().saturating_sub(done));
        }
    }

    pub fn position(&self) -> u64 {
        self.bar.position()
    }

    /// Removes the bar (the bytes stay counted in the total).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
