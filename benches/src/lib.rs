//! Fixtures shared by the polling benchmarks (`cargo bench -p polling-benches`).
//!
//! Each benchmark measures a baseline and the design it compares in the same
//! run, and ends by printing a table of figures with the ratio, through
//! [`Tally`]: these machines are shared and noisy, so only ratios measured
//! side by side mean anything.
//!
//! The benchmarks that need PostgreSQL create a fresh database on the server
//! `DATABASE_URL` names (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! with [`BenchDb`] and drop it afterwards.

mod bench_db;
mod closed_loop;
pub mod http;
mod tally;

pub use bench_db::BenchDb;
pub use closed_loop::closed_loop;
pub use tally::Tally;
