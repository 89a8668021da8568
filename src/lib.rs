//! rigbench: will this rig make money transcoding video for a Livepeer-style network?
//!
//! Data flows one way: `cli` → `config` → `run` (ingest → transcode → validation, payments
//! beside, metering around) → one [`result::RunResult`] → `economics` → `report`.

pub mod app;
pub mod capacity;
pub mod chain;
pub mod cli;
pub mod compare;
pub mod config;
pub mod economics;
pub mod error;
pub mod gate;
pub mod ingest;
pub mod market;
pub mod metering;
pub mod metrics;
pub mod net;
pub mod orchestrator;
pub mod payments;
pub mod report;
pub mod result;
pub mod run;
pub mod transcode;
pub mod validation;
