//! Reports: turn the run's one result value into bytes (CSV, JSON, terminal table, Markdown).
//! Exporters return bytes; writing files is the caller's job.
