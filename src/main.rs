//! rigbench's binary: parse → dispatch → exit code. Everything else is library code.
//!
//! Errors print through a writer that cannot panic (`2> /dev/full` must not turn an exit 2 into
//! 101). A closed stdout (`>&-`) needs nothing here: Rust's runtime reopens a closed descriptor 1
//! on /dev/null before `main`, so no file rigbench opens can take its number.

use clap::Parser;

fn main() {
    let cli = rigbench::cli::Cli::parse();
    let code = match rigbench::app::dispatch(cli, std::env::args().collect()) {
        Ok(code) => code,
        Err(failure) => {
            rigbench::report::progress::stderr_line(&format!("error: {failure}"));
            failure.code
        }
    };
    std::process::exit(code as i32);
}
