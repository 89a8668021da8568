//! Dispatch: each subcommand from its validated configuration to library calls, and the
//! printing of what it returns. `main` calls [`dispatch`] and turns the result into an exit code.
//!
//! Every byte for stdout goes through [`out`]: a closed pipe (`| head`) ends the output quietly,
//! any other failed write (`> /dev/full`) is an error with a non-zero exit, never a panic and never
//! exit 0 having lost the output.

use std::io::Write;

use anyhow::Context;

use crate::cli::{Cli, Command, TicketCommand};
use crate::config::{ChainSettings, RunConfig};
use crate::error::{ExitCode, Failure};
use crate::payments::tools;

/// Writes `text` to stdout and flushes. A closed pipe is not an error (the reader has what it
/// wanted); any other failure is, naming stdout.
pub fn out(text: impl AsRef<[u8]>) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_ref()).and_then(|_| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::run(
            anyhow::Error::from(e).context("cannot write to stdout"),
        )),
    }
}

/// [`out`] with a newline.
fn outln(text: impl std::fmt::Display) -> Result<(), Failure> {
    out(format!("{text}\n"))
}

/// Runs one command line; returns the exit code for a normal end, a [`Failure`] otherwise.
pub fn dispatch(cli: Cli, argv: Vec<String>) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Run(args) => {
            let cfg = RunConfig::from_args(&args).map_err(Failure::usage)?;
            run(&cfg, argv)
        }
        Command::Probe(args) => {
            crate::ingest::init_ffmpeg();
            let host = crate::metering::inventory::HostInfo::detect();
            let backends = crate::transcode::capabilities();
            if args.nvenc_cap {
                nvenc_caps(&host, args.json)?;
                return Ok(ExitCode::Ok);
            }
            if args.json {
                let v = serde_json::json!({ "host": host, "backends": backends });
                let mut bytes = serde_json::to_vec_pretty(&v)
                    .map_err(|e| Failure::run(anyhow::Error::from(e)))?;
                bytes.push(b'\n');
                out(bytes)?;
            } else {
                out(crate::report::text::probe_text(&host, &backends))?;
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
            let text = crate::report::text::redeem(&report);
            if report.pending > 0 {
                return Err(Failure::run(anyhow::anyhow!(
                    "{text}\n{} winners are still pending; run `rigbench redeem` again when the chain is reachable",
                    report.pending
                )));
            }
            outln(text)?;
            Ok(ExitCode::Ok)
        }
        Command::Ticket(cmd) => ticket(cmd),
        Command::Compare(args) => compare(args),
        Command::Gate(args) => gate(args),
        Command::Orchestrator(args) => {
            let cfg = crate::config::orchestrator_from_args(&args).map_err(Failure::usage)?;
            crate::orchestrator::install_signal_handler();
            let quiet = cfg.quiet;
            let out_dir = cfg.out_dir.clone();
            let summary = crate::orchestrator::serve(cfg, |addr| {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(
                    out,
                    "{}{}",
                    crate::orchestrator::LISTENING_PREFIX,
                    crate::net::server::base_url(addr)
                );
                let _ = out.flush();
            })?;
            if !quiet {
                eprintln!(
                    "served {} segments ({} failed, {} refused); {} winning tickets in {}; summary in {}",
                    summary.segments_transcoded,
                    summary.segments_failed,
                    summary.refusals.values().sum::<u64>(),
                    summary.tickets.winning_tickets,
                    summary.payments_data_dir,
                    out_dir.join("orchestrator.json").display()
                );
            }
            Ok(ExitCode::Ok)
        }
        Command::Merge(args) => merge(args),
        Command::Capacity(args) => capacity(&args, argv),
        Command::Economics(args) => {
            let (run, mut overrides) = match (&args.capacity, &args.run) {
                (Some(cap), _) => {
                    let (run, capacity) = crate::capacity::money_inputs(cap)
                        .with_context(|| format!("cannot use --capacity {}", cap.display()))
                        .map_err(Failure::usage)?;
                    let overrides = crate::economics::Overrides {
                        capacity,
                        ..Default::default()
                    };
                    (run, overrides)
                }
                (None, Some(path)) => {
                    let run = crate::economics::load_run_json(path)
                        .with_context(|| format!("cannot use --run {}", path.display()))
                        .map_err(Failure::usage)?;
                    if run.partial && !args.allow_partial {
                        return Err(Failure::usage(anyhow::anyhow!(
                            "--run {} is a partial run (interrupted or failed midway): its figures cover only the segments that finished; pass --allow-partial to price it anyway (the result is labelled partial)",
                            path.display()
                        )));
                    }
                    (run, crate::economics::Overrides::default())
                }
                (None, None) => {
                    return Err(Failure::usage(anyhow::anyhow!(
                        "give --run run.json or --capacity capacity.json"
                    )))
                }
            };
            let mut rig = crate::economics::rig::Rig::load(&args.rig)
                .with_context(|| format!("invalid rig file {}", args.rig.display()))
                .map_err(Failure::usage)?;
            for kv in &args.set {
                rig.set(kv)
                    .with_context(|| format!("invalid --set {kv:?}"))
                    .map_err(Failure::usage)?;
            }
            if let Some(path) = &args.market {
                overrides.utilisation = crate::market::load_utilisation(path)
                    .with_context(|| format!("cannot use --market {}", path.display()))
                    .map_err(Failure::usage)?;
            }
            let econ = crate::economics::evaluate_with(&run, &rig, &overrides)
                .map_err(|e| Failure::usage(anyhow::Error::from(e)))?;
            if args.json {
                let mut bytes = serde_json::to_vec_pretty(&econ)
                    .map_err(|e| Failure::run(anyhow::Error::from(e)))?;
                bytes.push(b'\n');
                out(bytes)?;
            } else {
                let mut with = run.clone();
                with.economics = Some(econ);
                out(crate::report::table::render(
                    &crate::report::sections::economics(&with),
                ))?;
            }
            Ok(ExitCode::Ok)
        }
        Command::Market(args) => market(&args, argv),
    }
}

/// `rigbench market`: load the network, the rig and the run, simulate, write market.json,
/// print the table.
fn market(args: &crate::cli::MarketArgs, argv: Vec<String>) -> Result<ExitCode, Failure> {
    use crate::market::{CapacityInput, MarketError, MarketRequest};
    let network =
        crate::market::network::NetworkFile::load(&args.network).map_err(Failure::usage)?;
    let rig = match &args.rig {
        Some(path) => Some(
            crate::economics::rig::Rig::load(path)
                .with_context(|| format!("invalid rig file {}", path.display()))
                .map_err(Failure::usage)?,
        ),
        None => None,
    };
    let run_pixels = |run: &crate::result::RunResult, path: &std::path::Path| {
        let s = &run.summary;
        (s.source_seconds > 0.0 && s.output_pixels > 0)
            .then(|| s.output_pixels as f64 / s.source_seconds)
            .ok_or_else(|| {
                Failure::usage(anyhow::anyhow!(
                    "{}: the run transcoded nothing (0 source seconds or 0 output pixels)",
                    path.display()
                ))
            })
    };
    let fleet = match (&args.fleet, &rig) {
        (Some(path), Some(rig)) => {
            let shown = path.display().to_string();
            let f = crate::merge::load_fleet_json(path)
                .with_context(|| format!("cannot use --fleet {shown}"))
                .map_err(Failure::usage)?;
            let mut input = crate::market::fleet::read(&f, &shown, rig).map_err(Failure::usage)?;
            let (pixels, note) =
                crate::market::fleet::pixels_per_stream_second(&input).map_err(Failure::usage)?;
            input.estimated.extend(note);
            Some((input, pixels))
        }
        _ => None,
    };
    let (capacity, pixels) = match (fleet, &args.capacity, &args.run, args.streams) {
        (Some((input, pixels)), ..) => (CapacityInput::Fleet(Box::new(input)), Some(pixels)),
        (None, Some(path), _, _) => {
            let (run, source) = crate::capacity::money_inputs(path)
                .with_context(|| format!("cannot use --capacity {}", path.display()))
                .map_err(Failure::usage)?;
            let crate::economics::CapacitySource::Searched {
                streams,
                limit,
                confidence,
            } = source
            else {
                return Err(Failure::usage(anyhow::anyhow!(
                    "--capacity {}: no searched capacity in it",
                    path.display()
                )));
            };
            let pixels = run_pixels(&run, path)?;
            (
                CapacityInput::Searched {
                    run: Box::new(run),
                    streams,
                    note: format!("{streams} streams, limit {limit}; {confidence}"),
                },
                Some(pixels),
            )
        }
        (None, None, Some(path), _) => {
            let run = crate::economics::load_run_json(path)
                .with_context(|| format!("cannot use --run {}", path.display()))
                .map_err(Failure::usage)?;
            let pixels = run_pixels(&run, path)?;
            (CapacityInput::Run(Box::new(run)), Some(pixels))
        }
        (None, None, None, Some(0)) => {
            return Err(Failure::usage(anyhow::anyhow!(
                "--streams 0: this rig must accept at least one stream"
            )))
        }
        (None, None, None, Some(n)) if n > crate::market::network::MAX_CAPACITY_STREAMS => {
            return Err(Failure::usage(anyhow::anyhow!(
                "--streams {n}: give from 1 to {} (the bound a network file's capacities have)",
                crate::market::network::MAX_CAPACITY_STREAMS
            )))
        }
        (None, None, None, Some(n)) => (CapacityInput::Streams(n), None),
        (None, None, None, None) => (CapacityInput::NetworkFile, None),
    };
    let threads = match args.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n.min(256),
    };
    let req = MarketRequest {
        network,
        network_file: args.network.display().to_string(),
        rig,
        capacity,
        days: args.days,
        seed: args.seed,
        runs: args.runs,
        command_line: argv,
        threads,
    };
    let out_dir = args.out_dir.clone().unwrap_or_else(|| {
        let mut d = crate::config::default_out_dir().into_os_string();
        d.push("-market");
        d.into()
    });
    let result = crate::market::run(&req, pixels).map_err(|e| match e {
        MarketError::Economics(_)
        | MarketError::Network(_)
        | MarketError::Input(_)
        | MarketError::TooLarge { .. } => Failure::usage(e),
    })?;
    let bytes = crate::report::market::market_json(&result).map_err(Failure::run)?;
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create --out-dir {}", out_dir.display()))
        .map_err(Failure::usage)?;
    let path = out_dir.join("market.json");
    crate::report::market::write_atomically(&path, &bytes)
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(Failure::run)?;
    let text = if args.json {
        bytes
    } else if args.quiet {
        Vec::new()
    } else {
        let mut t = crate::report::table::render(&crate::report::market::sections(&result));
        t.push_str(&format!("Results in {}\n", path.display()));
        t.into_bytes()
    };
    out(text).map_err(|f| {
        Failure::run(
            f.error
                .context(format!("market.json is in {}", path.display())),
        )
    })?;
    Ok(ExitCode::Ok)
}

fn compare(args: crate::cli::CompareArgs) -> Result<ExitCode, Failure> {
    let (runs, forced) = crate::compare::load(&args.results, args.force)
        .map_err(|e| Failure::usage(anyhow::Error::from(e)))?;
    let c = crate::compare::compare(&runs, forced);
    let md = crate::compare::markdown(&c);
    if let Some(path) = &args.md {
        write_output("--md", path, md.as_bytes())?;
    }
    if let Some(path) = &args.html {
        write_output("--html", path, crate::compare::html_page(&c).as_bytes())?;
    }
    out(md.as_bytes())?;
    Ok(ExitCode::Ok)
}

fn gate(args: crate::cli::GateArgs) -> Result<ExitCode, Failure> {
    let usage = |e: crate::gate::GateError| Failure::usage(anyhow::Error::from(e));
    let threshold_percent = crate::gate::parse_threshold(&args.threshold).map_err(usage)?;
    let metrics = crate::gate::select_metrics(&args.metric).map_err(usage)?;
    let baseline = crate::gate::resolve_baseline(
        &args.baseline,
        std::path::Path::new(crate::gate::baseline::BASELINES_DIR),
    )
    .map_err(usage)?;
    let cfg = crate::gate::GateConfig {
        baseline,
        candidate: args.candidate.clone(),
        threshold_percent,
        metrics,
        allow_host_change: args.allow_host_change,
    };
    let report = crate::gate::run_gate(&cfg).map_err(usage)?;
    if let Some(dir) = &args.out_dir {
        let cand = crate::gate::load_run("candidate", &cfg.candidate, false).map_err(usage)?;
        crate::gate::write_outputs(dir, &report, &cand.result)
            .with_context(|| format!("cannot write --out-dir {}", dir.display()))
            .map_err(Failure::usage)?;
    }
    if args.json {
        let mut bytes =
            serde_json::to_vec_pretty(&report).map_err(|e| Failure::run(anyhow::Error::from(e)))?;
        bytes.push(b'\n');
        out(&bytes)?;
    } else {
        out(crate::gate::text(&report).as_bytes())?;
    }
    Ok(if report.regressed {
        ExitCode::Regression
    } else {
        ExitCode::Ok
    })
}

/// Writes an output file a flag names; a folder or an unwritable path is a usage error.
fn write_output(flag: &str, path: &std::path::Path, bytes: &[u8]) -> Result<(), Failure> {
    if path.is_dir() {
        return Err(Failure::usage(anyhow::anyhow!(
            "{flag} {} is a folder; give a file name",
            path.display()
        )));
    }
    std::fs::write(path, bytes)
        .with_context(|| format!("cannot write {flag} {}", path.display()))
        .map_err(Failure::usage)
}

/// `rigbench run`: the benchmark, then run.json or the table on stdout.
fn run(cfg: &RunConfig, argv: Vec<String>) -> Result<ExitCode, Failure> {
    let outcome = crate::run::execute(cfg, argv)?;
    let r = &outcome.result;
    let printed = if cfg.json {
        crate::report::json::run_json(r)
            .map_err(Failure::run)
            .and_then(out)
    } else if !cfg.quiet {
        out(crate::report::table::render(
            &crate::report::sections::rows(r),
        ))
        .and_then(|_| outln(format_args!("Results in {}", outcome.out_dir.display())))
    } else {
        Ok(())
    };
    if let Err(mut failure) = printed {
        failure.error = failure.error.context(format!(
            "the run finished and its results are in {}, but printing them failed",
            outcome.out_dir.display()
        ));
        return Err(failure);
    }
    if let Some(error) = outcome.stopped {
        return Err(Failure::run(error));
    }
    if !outcome.quality_failures.is_empty() {
        crate::report::progress::stderr_line(&format!(
            "error: {} scored rendition(s) below the quality thresholds: {}; see {}",
            outcome.quality_failures.len(),
            outcome.quality_failures.join("; "),
            outcome.out_dir.join("run.json").display()
        ));
        return Ok(ExitCode::RunFailed);
    }
    if let Some(name) = &cfg.save_baseline {
        let dir = crate::gate::baseline::save(
            std::path::Path::new(crate::gate::baseline::BASELINES_DIR),
            name,
            &outcome.out_dir,
            r,
        )
        .with_context(|| format!("cannot keep --save-baseline {name}"))
        .map_err(Failure::run)?;
        if !cfg.quiet && !cfg.json {
            outln(format_args!("Baseline {name:?} kept in {}", dir.display()))?;
        }
    }
    if outcome.invalid_renditions {
        let v = &r.summary.validation;
        crate::report::progress::stderr_line(&format!(
            "error: {} of {} renditions failed validation ({:?}); see {} (or pass --allow-invalid)",
            v.renditions_failed,
            v.renditions_checked,
            v.failed_by_check,
            outcome.out_dir.join("run.json").display()
        ));
        return Ok(ExitCode::RunFailed);
    }
    Ok(ExitCode::Ok)
}

/// `rigbench capacity`: search, print the table (or capacity.json), the money at the capacity.
fn capacity(args: &crate::cli::CapacityArgs, argv: Vec<String>) -> Result<ExitCode, Failure> {
    let given = crate::cli::capacity_run_only_flags_given(&argv);
    let cfg = crate::capacity::CapacityConfig::from_args(args, &given).map_err(Failure::usage)?;
    let outcome = crate::capacity::execute(&cfg, argv)?;
    let r = &outcome.result;
    let printed = if cfg.json {
        let mut bytes =
            serde_json::to_vec_pretty(r).map_err(|e| Failure::run(anyhow::Error::from(e)))?;
        bytes.push(b'\n');
        out(bytes)
    } else if !cfg.quiet {
        let mut text = crate::report::capacity::table(r);
        if let Some(money) = capacity_money_run(r, &outcome.out_dir) {
            text.push_str(&crate::report::table::render(
                &crate::report::sections::economics(&money),
            ));
        }
        out(text).and_then(|_| outln(format_args!("Results in {}", outcome.out_dir.display())))
    } else {
        Ok(())
    };
    if let Err(mut failure) = printed {
        failure.error = failure.error.context(format!(
            "the search finished and its results are in {}, but printing them failed",
            outcome.out_dir.display()
        ));
        return Err(failure);
    }
    if let Some(error) = outcome.stopped {
        return Err(Failure::run(error));
    }
    if outcome.interrupted {
        return Err(Failure::run(anyhow::anyhow!(
            "interrupted by Ctrl-C or SIGTERM; every finished probe is in {}",
            outcome.out_dir.join("capacity.csv").display()
        )));
    }
    Ok(ExitCode::Ok)
}

/// `rigbench probe --nvenc-cap`: each GPU's NVENC session cap, or why it cannot be detected.
fn nvenc_caps(host: &crate::metering::inventory::HostInfo, json: bool) -> Result<(), Failure> {
    use crate::capacity::nvenc_cap;
    let ids: Vec<u32> = if host.gpus.is_empty() {
        vec![0]
    } else {
        host.gpus.iter().map(|g| g.index).collect()
    };
    let found: Vec<Result<nvenc_cap::NvencCap, String>> = ids
        .iter()
        .map(|&id| nvenc_cap::detect(id, nvenc_cap::DEFAULT_BOUND).map_err(|e| e.to_string()))
        .collect();
    if json {
        let v: Vec<serde_json::Value> = found
            .iter()
            .map(|r| match r {
                Ok(cap) => serde_json::json!({ "ok": cap }),
                Err(e) => serde_json::json!({ "error": e }),
            })
            .collect();
        let mut bytes =
            serde_json::to_vec_pretty(&v).map_err(|e| Failure::run(anyhow::Error::from(e)))?;
        bytes.push(b'\n');
        out(bytes)
    } else {
        let mut text = String::new();
        for r in &found {
            match r {
                Ok(c) => text.push_str(&format!(
                    "GPU {} ({}): NVENC cap {} ({}; {})\n",
                    c.gpu,
                    c.name.as_deref().unwrap_or("?"),
                    c.sessions_text(),
                    c.source,
                    c.detail
                )),
                Err(e) => text.push_str(&format!("{e}\n")),
            }
        }
        out(text)
    }
}

/// The run the capacity's economics were computed from, with those economics, for printing.
fn capacity_money_run(
    r: &crate::capacity::CapacityResult,
    out_dir: &std::path::Path,
) -> Option<crate::result::RunResult> {
    let econ = r.economics.clone()?;
    let dir = r.economics_run_dir.as_ref()?;
    let mut run = crate::economics::load_run_json(&out_dir.join(dir).join("run.json")).ok()?;
    run.economics = Some(econ);
    Some(run)
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
            outln(tools::hash(
                tools::parse_address("recipient", &a.recipient).map_err(usage)?,
                tools::parse_address("sender", &a.sender).map_err(usage)?,
                tools::parse_u256("face-value", &a.face_value).map_err(usage)?,
                tools::parse_u256("win-prob", &a.win_prob).map_err(usage)?,
                tools::parse_u32("sender-nonce", &a.sender_nonce).map_err(usage)?,
                tools::parse_b256("recipient-rand-hash", &a.recipient_rand_hash).map_err(usage)?,
                creation_round,
                block_hash,
            ))?;
            Ok(ExitCode::Ok)
        }
        TicketCommand::Sign(a) => {
            let hash = tools::parse_b256("hash", &a.hash).map_err(usage)?;
            let key = tools::operator_key(a.keystore.as_deref())
                .context("cannot load the orchestrator's key")
                .map_err(Failure::usage)?;
            let sig = tools::sign(&hash, &key).map_err(|e| Failure::run(anyhow::Error::from(e)))?;
            outln(sig)?;
            Ok(ExitCode::Ok)
        }
        TicketCommand::Verify(a) => {
            let hash = tools::parse_b256("hash", &a.hash).map_err(usage)?;
            let sig = tools::parse_bytes("sig", &a.sig).map_err(usage)?;
            let signer = tools::parse_address("signer", &a.signer).map_err(usage)?;
            match tools::verify(&hash, &sig, signer) {
                Ok(()) => {
                    outln("true")?;
                    Ok(ExitCode::Ok)
                }
                Err(reason) => {
                    outln("false")?;
                    crate::report::progress::stderr_line(&format!("invalid signature: {reason}"));
                    Ok(ExitCode::Regression)
                }
            }
        }
        TicketCommand::Wins(a) => {
            let sig = tools::parse_signature("sig", &a.sig).map_err(usage)?;
            let rand = tools::parse_u256("recipient-rand", &a.recipient_rand).map_err(usage)?;
            let win_prob = tools::parse_u256("win-prob", &a.win_prob).map_err(usage)?;
            outln(tools::wins(&sig, rand, win_prob))?;
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
        out(&json)?;
    } else {
        outln(format_args!(
            "Fleet report in {}: {} nodes, {} complete, {} streams, margin {}{}",
            args.out.join("fleet.md").display(),
            t.nodes,
            t.nodes_ok,
            t.streams_sustained
                .map_or("unknown".to_string(), |s| s.to_string()),
            t.margin_usd_per_hour
                .map_or("unknown".to_string(), |m| format!("${m:.4} per hour")),
            match (&t.staking_basis, t.margin_with_staking_usd_per_hour) {
                (Some(_), Some(m)) => format!(", with staking ${m:.4} per hour"),
                (Some(_), None) => ", with staking unknown".to_string(),
                (None, _) => String::new(),
            },
        ))?;
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
