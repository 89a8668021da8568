//! rigbench's binary: parse → dispatch → exit code. Everything else is library code.

use clap::Parser;

fn main() {
    let cli = rigbench::cli::Cli::parse();
    let code = if stdout_closed() {
        // A file opened later would take descriptor 1 and receive what is meant for stdout.
        rigbench::report::progress::stderr_line(
            "error: stdout is closed; give rigbench somewhere to write (a terminal, a file, /dev/null)",
        );
        rigbench::error::ExitCode::Usage
    } else {
        match rigbench::app::dispatch(cli, std::env::args().collect()) {
            Ok(code) => code,
            Err(failure) => {
                rigbench::report::progress::stderr_line(&format!("error: {failure}"));
                failure.code
            }
        }
    };
    std::process::exit(code as i32);
}

/// Whether file descriptor 1 is closed (`>&-`), as Linux's /proc shows it.
fn stdout_closed() -> bool {
    let proc_self = std::path::Path::new("/proc/self/fd");
    proc_self.is_dir() && std::fs::symlink_metadata(proc_self.join("1")).is_err()
}
