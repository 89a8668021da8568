//! Dispatch: each subcommand from its validated configuration to library calls, and the
//! printing of what it returns. `main` calls [`dispatch`] and turns the result into an exit code.

use std::io::Write;

use anyhow::Context;

use crate::cli::{Cli, Command, TicketCommand};
use crate::config::{ChainSettings, RunConfig};
use crate::error::{ExitCode, Failure};
use crate::payments::tools;

/// Runs one command line; returns the exit code for a normal end, a [`Failure`] otherwise.
pub fn dispatch(cli: Cli, argv: Vec<String>) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run(args) => {
            let cfg = RunConfig::from_args(&args).map_err(Failure::usage)?;
            let outcome = crate::run::execute(&cfg, argv)?;
            let r = &outcome.result;
            if cfg.json {
                let bytes = crate::report::json::run_json(r).map_err(Failure::run)?;
                print_bytes(&bytes);
            } else if !cfg.quiet {
                print!(
                    "{}",
                    crate::report::table::render(&crate::report::table::rows(r))
                );
                println!("Results in {}", outcome.out_dir.display());
            }
            if let Some(error) = outcome.stopped {
                return Err(Failure::run(error));
            }
            if outcome.invalid_renditions {
                let v = &r.summary.validation;
                eprintln!(
                    "error: {} of {} renditions failed validation ({:?}); see {} (or pass --allow-invalid)",
                    v.renditions_failed,
                    v.renditions_checked,
                    v.failed_by_check,
                    outcome.out_dir.join("run.json").display()
                );
                return Ok(ExitCode::RunFailed);
            }
            Ok(ExitCode::Ok)
        }
        Command::Probe(args) => {
            crate::ingest::init_ffmpeg();
            let host = crate::metering::inventory::HostInfo::detect();
            let backends = crate::transcode::capabilities();
            if args.json {
                let v = serde_json::json!({ "host": host, "backends": backends });
                let bytes = serde_json::to_vec_pretty(&v)
                    .map_err(|e| Failure::run(anyhow::Error::from(e)))?;
                print_bytes(&bytes);
            } else {
                print!("{}", crate::report::sections::probe_text(&host, &backends));
            }
            Ok(ExitCode::Ok)
        }
        Command::Redeem(args) => {
            let chain = ChainSettings::from_args(&args.chain).map_err(Failure::usage)?;
            if !args.data_dir.is_dir() {
                return Err(Failure::usage(anyhow::anyhow!(
                    "--data-dir {} is not a directory; give the data directory of the run whose winners are pending",
                    args.data_dir.display()
                )));
            }
            let report = crate::run::payments::redeem(&chain, &args.data_dir)?;
            println!("{report}");
            Ok(ExitCode::Ok)
        }
        Command::Ticket(cmd) => ticket(cmd),
        Command::Merge(args) => merge(args),
        Command::Economics(args) => {
            let run = crate::economics::load_run_json(&args.run)
                .with_context(|| format!("cannot use --run {}", args.run.display()))
                .map_err(Failure::usage)?;
            let mut rig = crate::economics::rig::Rig::load(&args.rig)
                .with_context(|| format!("invalid rig file {}", args.rig.display()))
                .map_err(Failure::usage)?;
            for kv in &args.set {
                rig.set(kv)
                    .with_context(|| format!("invalid --set {kv:?}"))
                    .map_err(Failure::usage)?;
            }
            let econ = crate::economics::evaluate(&run, &rig)
                .map_err(|e| Failure::usage(anyhow::Error::from(e)))?;
            if args.json {
                let bytes = serde_json::to_vec_pretty(&econ)
                    .map_err(|e| Failure::run(anyhow::Error::from(e)))?;
                print_bytes(&bytes);
            } else {
                let mut with = run.clone();
                with.economics = Some(econ);
                print!(
                    "{}",
                    crate::report::table::render(&crate::report::sections::economics(&with))
                );
            }
            Ok(ExitCode::Ok)
        }
    }
}

fn ticket(cmd: TicketCommand) -> Result<ExitCode, Failure> {
    let usage = |e: tools::ArgError| Failure::usage(anyhow::Error::from(e));
    match cmd {
        TicketCommand::Hash(a) => {
            let creation_round = match &a.creation_round {
                Some(t) => Some(tools::parse_u256("creation-round", t).map_err(usage)?),
                None => None,
            };
            let block_hash = match &a.creation_round_block_hash {
                Some(t) => Some(tools::parse_b256("creation-round-block-hash", t).map_err(usage)?),
                None => None,
            };
            println!(
                "{}",
                tools::hash(
                    tools::parse_address("recipient", &a.recipient).map_err(usage)?,
                    tools::parse_address("sender", &a.sender).map_err(usage)?,
                    tools::parse_u256("face-value", &a.face_value).map_err(usage)?,
                    tools::parse_u256("win-prob", &a.win_prob).map_err(usage)?,
                    tools::parse_u32("sender-nonce", &a.sender_nonce).map_err(usage)?,
                    tools::parse_b256("recipient-rand-hash", &a.recipient_rand_hash)
                        .map_err(usage)?,
                    creation_round,
                    block_hash,
                )
            );
            Ok(ExitCode::Ok)
        }
        TicketCommand::Sign(a) => {
            let hash = tools::parse_b256("hash", &a.hash).map_err(usage)?;
            let key = crate::run::payments::operator_key(a.keystore.as_deref())
                .map_err(Failure::usage)?;
            let sig = tools::sign(&hash, &key).map_err(|e| Failure::run(anyhow::Error::from(e)))?;
            println!("{sig}");
            Ok(ExitCode::Ok)
        }
        TicketCommand::Verify(a) => {
            let hash = tools::parse_b256("hash", &a.hash).map_err(usage)?;
            let sig = tools::parse_bytes("sig", &a.sig).map_err(usage)?;
            let signer = tools::parse_address("signer", &a.signer).map_err(usage)?;
            match tools::verify(&hash, &sig, signer) {
                Ok(()) => {
                    println!("true");
                    Ok(ExitCode::Ok)
                }
                Err(reason) => {
                    println!("false");
                    eprintln!("invalid signature: {reason}");
                    Ok(ExitCode::Regression)
                }
            }
        }
        TicketCommand::Wins(a) => {
            let sig = tools::parse_bytes("sig", &a.sig).map_err(usage)?;
            let rand = tools::parse_u256("recipient-rand", &a.recipient_rand).map_err(usage)?;
            let win_prob = tools::parse_u256("win-prob", &a.win_prob).map_err(usage)?;
            println!("{}", tools::wins(&sig, rand, win_prob));
            Ok(ExitCode::Ok)
        }
    }
}

/// `rigbench merge`: read, check and merge the node folders, write the fleet report, and exit 3
/// when a node failed or was partial (the report lists it).
fn merge(args: crate::cli::MergeArgs) -> Result<ExitCode, Failure> {
    let rig = match &args.rig {
        Some(path) => {
            let mut rig = crate::economics::rig::Rig::load(path)
                .with_context(|| format!("invalid rig file {}", path.display()))
                .map_err(Failure::usage)?;
            for kv in &args.set {
                rig.set(kv)
                    .with_context(|| format!("invalid --set {kv:?}"))
                    .map_err(Failure::usage)?;
            }
            Some((rig, path.display().to_string()))
        }
        None => None,
    };
    let fleet = crate::merge::merge_folders(&args.dirs, &crate::merge::MergeOptions { rig })
        .map_err(Failure::usage)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create --out {}", args.out.display()))
        .map_err(Failure::usage)?;
    let mut json =
        serde_json::to_vec_pretty(&fleet).map_err(|e| Failure::run(anyhow::Error::from(e)))?;
    json.push(b'\n');
    let md = crate::report::fleet::markdown(&fleet);
    let html = crate::report::fleet::html(&fleet);
    let files: [(&str, &[u8]); 3] = [
        ("fleet.json", &json),
        ("fleet.md", md.as_bytes()),
        ("fleet.html", html.as_bytes()),
    ];
    for (name, bytes) in files {
        let path = args.out.join(name);
        std::fs::write(&path, bytes)
            .with_context(|| format!("cannot write {}", path.display()))
            .map_err(Failure::run)?;
    }
    let t = &fleet.totals;
    if args.json {
        print_bytes(&json);
    } else {
        println!(
            "Fleet report in {}: {} nodes, {} complete, {} streams, margin {}",
            args.out.join("fleet.md").display(),
            t.nodes,
            t.nodes_ok,
            t.streams_sustained
                .map_or("unknown".to_string(), |s| s.to_string()),
            t.margin_usd_per_hour
                .map_or("unknown".to_string(), |m| format!("${m:.4} per hour")),
        );
    }
    if !t.nodes_left_out.is_empty() {
        eprintln!(
            "error: {} of {} nodes did not complete ({}); they are listed in {}",
            t.nodes_left_out.len(),
            t.nodes,
            t.nodes_left_out.join(", "),
            args.out.join("fleet.md").display()
        );
        return Ok(ExitCode::RunFailed);
    }
    Ok(ExitCode::Ok)
}

fn print_bytes(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) is not an error worth a message.
    let _ = out.write_all(bytes).and_then(|_| out.flush());
}
