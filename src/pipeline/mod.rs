//! The pipeline behind `ksurf run`, `ksurf plan` and `ksurf extract
//! --shard`: from a config's plan to complete images in the dataset.
//!
//! - [`discover`]: the config's `[[source]]` tables → the fetch plan (the
//!   same discovery `ksurf fetch` does).
//! - [`work`]: which planned packages are still to do (the incremental
//!   key: package SHA-256 + schema version, read from each image's `images`
//!   marker), the work list file `_plan/plan.json` and its shards.
//! - [`process`]: fetch → unpack → extract → write, overlapped: package
//!   i+1 is fetched and unpacked while image i is extracted.
//! - [`log`]: the `run_log` table, one row per image and group.

pub mod discover;
pub mod log;
pub mod process;
pub mod work;
