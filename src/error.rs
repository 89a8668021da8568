//! Exit codes and the top-level error classification used by `main`.

/// Documented process exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything worked.
    Ok = 0,
    /// A gate found a regression (or, for `ticket verify`, the signature is invalid).
    Regression = 1,
    /// A usage or input error: bad flag, missing or unreadable file, invalid ladder, ...
    Usage = 2,
    /// The run itself failed: a transcode error, invalid renditions, a chain failure.
    RunFailed = 3,
}

/// An error tagged with the exit code it maps to. Library errors are converted into this at the
/// edge (`run`, `main`); the message chain is printed once by `main` with `{:#}`.
#[derive(Debug)]
pub struct Failure {
    pub code: ExitCode,
    pub error: anyhow::Error,
}

impl Failure {
    pub fn usage(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: ExitCode::Usage,
            error: error.into(),
        }
    }
    pub fn run(error: impl Into<anyhow::Error>) -> Self {
        Self {
            code: ExitCode::RunFailed,
            error: error.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.error)
    }
}
