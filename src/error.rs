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
    /// The whole chain, outermost first, joined by ": " like anyhow's `{:#}`, but a cause whose
    /// text the message before it already quotes is left out: a library error that names its OS
    /// error and also keeps it as its source would otherwise print it twice.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", chain_text(&self.error))
    }
}

/// [`Failure`]'s text for any error chain.
pub fn chain_text(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|p| p.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read input 'x': {source}; check its permissions")]
    struct Quoting {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn each_cause_is_printed_once() {
        let os = || std::io::Error::from_raw_os_error(13);
        let cases: Vec<(anyhow::Error, &str)> = vec![
            (
                anyhow::Error::from(Quoting { source: os() }).context("cannot use --in x"),
                "cannot use --in x: cannot read input 'x': Permission denied (os error 13); check its permissions",
            ),
            (
                anyhow::Error::from(os()).context("cannot write run.json"),
                "cannot write run.json: Permission denied (os error 13)",
            ),
            (anyhow::anyhow!("plain"), "plain"),
        ];
        for (error, want) in cases {
            assert_eq!(Failure::usage(error).to_string(), want);
        }
    }
}
