//! rigbench's integration tests: one test binary (as ripgrep does) so the whole stack links
//! once. Each module drives the real library or the real `rigbench` binary.

#[macro_use]
mod anvil;
mod capacity;
mod chain_contract;
mod chain_embedded;
mod chain_rpc;
mod chain_support;
mod cli;
mod cli_keys;
mod compare;
mod economics;
mod gate;
mod hostile;
mod html;
mod ingest;
mod market;
mod metering;
mod metrics;
mod network;
mod payments;
mod payments_cli;
mod payments_rpc;
mod quality;
mod readme;
mod support;
mod transcode;
mod validation;
