//! ksurf's aggregator: reads the extractor's per-image tables, streams
//! them merged by function name across the images of each comparison
//! group ([`config`], [`groups`], [`stream`], [`aggregate`]), computes
//! per-image status and per-pair changes ([`model`], [`diff`]) into the
//! `function_status` / `function_changes` tables ([`tables`]), and renders
//! the per-function pages ([`history`], [`report`], [`html`], [`site`]).
//! The type kind has its own model and diff ([`type_diff`], the
//! `type_changes` table) and page ([`type_report`]) on the same groups,
//! pairs, name-sorted streams and site. The interface kinds (tracepoints,
//! syscalls, kfuncs, LSM hooks) and the config kind share one change shape and cursor
//! ([`interface_diff`]), each with its own comparison rules
//! ([`tracepoint_diff`], [`syscall_diff`], [`kfunc_diff`], [`lsm_diff`],
//! [`kconfig_diff`]);
//! [`aggregate`] runs every kind through one per-kind pass.

pub mod aggregate;
pub mod config;
pub mod diff;
pub mod error;
pub mod freshness;
pub mod groups;
pub mod model;
pub mod placement;
pub mod release;
pub mod stream;
pub mod tables;
pub mod type_diff;
pub mod type_report;

pub use error::{Error, Result};
pub mod history;
pub mod html;
pub mod interface_diff;
pub mod interface_report;
pub mod kconfig_diff;
pub mod kfunc_diff;
pub mod lsm_diff;
pub mod report;
pub mod site;
pub mod site_index;
pub mod syscall_diff;
pub mod tracepoint_diff;
