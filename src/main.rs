//! rigbench's binary: parse → dispatch → exit code. Everything else is library code.
//!
//! Errors print through a writer that cannot panic (`2> /dev/full` must not turn an exit 2 into
//! 101). A closed stdout (`>&-`) needs nothing here: Rust's runtime reopens a closed descriptor 1
//! on /dev/null before `main`, so no file rigbench opens can take its number.

use std::io::IsTerminal;

use clap::Parser;

fn main() {
    let cli = match rigbench::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(clap_exit(&e)),
    };
    let code = match rigbench::app::dispatch(cli, std::env::args().collect()) {
        Ok(code) => code,
        Err(failure) => {
            rigbench::report::progress::stderr_line(&format!("error: {failure}"));
            failure.code
        }
    };
    std::process::exit(code as i32);
}

/// Usage errors go to stderr (exit 2, as clap does); `--help` and `--version` go to stdout through
/// the one stdout helper, so `--help > /dev/full` is an error rather than exit 0 with nothing
/// written.
fn clap_exit(e: &clap::Error) -> i32 {
    if e.use_stderr() {
        let _ = e.print();
        return rigbench::error::ExitCode::Usage as i32;
    }
    let styled = e.render();
    let text = if std::io::stdout().is_terminal() {
        styled.ansi().to_string()
    } else {
        styled.to_string()
    };
    match rigbench::app::out(text) {
        Ok(()) => rigbench::error::ExitCode::Ok as i32,
        Err(failure) => {
            rigbench::report::progress::stderr_line(&format!("error: {failure}"));
            failure.code as i32
        }
    }
}
