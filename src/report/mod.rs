//! Reports: turn the run's one result value into bytes (CSV, JSON, terminal table, Markdown).
//! Exporters return bytes or strings; writing files is the caller's job, except the
//! segments.csv writer, which must flush each row as its segment finishes.

pub mod capacity;
pub mod charts;
pub mod csv;
pub mod html;
pub mod json;
pub mod markdown;
pub mod market;
pub mod money;
pub mod progress;
pub mod sections;
pub mod table;
pub mod text;
