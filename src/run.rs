//! The run: schedules sessions, drives each segment through ingest → transcode → validation with
//! payments beside it and meters around it, and folds everything into one `RunResult`.
