//! Parsed flags → a validated, typed run configuration. Only this module, `cli` and `main` know
//! about clap.
