//! rigbench's binary: parse → dispatch → exit code. Everything else is library code.

use clap::Parser;

fn main() {
    let cli = rigbench::cli::Cli::parse();
    let code = match rigbench::app::dispatch(cli, std::env::args().collect()) {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.code
        }
    };
    std::process::exit(code as i32);
}
