//! A hostile user's inputs through the real binary: every flag at 0, negative, huge or garbage;
//! files empty, truncated, a directory or garbage; stdout full, closed or a closed pipe. Each case
//! asserts the exit code (never 101, the panic code), a message naming the flag or file, and that
//! nothing was written outside the out-dir (each case runs in a fresh working folder, and a
//! refused run leaves no out-dir behind). Most cases fail before any transcode, so this is fast.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_rigbench");
const U64_MAX: &str = "18446744073709551615";
/// 2^256: one more than the largest uint256.
const TWO_256: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639936";
const ADDR: &str = "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf";
const HASH: &str = "0x0000000000000000000000000000000000000000000000000000000000000001";

fn manifest(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// A fresh working folder with the inputs the cases refer to by name.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Work {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("empty"), "").unwrap();
        std::fs::write(
            d.join("garbage"),
            b"\x00\xffnot media, not json, not toml [[[",
        )
        .unwrap();
        std::fs::create_dir(d.join("folder")).unwrap();
        let clip = std::fs::read(manifest("fixtures/bbb_720p25_5s_gop2.mp4")).unwrap();
        std::fs::write(d.join("truncated.mp4"), &clip[..clip.len().min(4096)]).unwrap();
        std::fs::write(d.join("cut.json"), r#"[{"name":"x","width":320,"#).unwrap();
        let ladder = |name: &str, extra: &str| {
            format!(r#"[{{"name":{name},"width":320,"height":180,"bitrate":300000{extra}}}]"#)
        };
        let ladders = [
            ("traversal.json", ladder(r#""../../x""#, "")),
            ("absolute.json", ladder(r#""/tmp/x""#, "")),
            ("slash.json", ladder(r#""a/b""#, "")),
            ("nul.json", ladder(r#""a\u0000b""#, "")),
            ("dot.json", ladder(r#"".""#, "")),
            (
                "bitrate1.json",
                r#"[{"name":"x","width":320,"height":180,"bitrate":1}]"#.into(),
            ),
            (
                "bitrate1e14.json",
                r#"[{"name":"x","width":320,"height":180,"bitrate":100000000000000}]"#.into(),
            ),
            ("gop.json", ladder(r#""x""#, r#","gop":"1e308""#)),
            (
                "twice.json",
                r#"[{"name":"a","width":320,"height":180,"bitrate":300000},
                    {"name":"a","width":640,"height":360,"bitrate":900000}]"#
                    .into(),
            ),
        ];
        for (name, text) in ladders {
            std::fs::write(d.join(name), text).unwrap();
        }
        std::fs::create_dir(d.join("held")).unwrap();
        std::fs::write(d.join("held/run.json"), "{}").unwrap();
        std::fs::create_dir(d.join("stranger")).unwrap();
        std::fs::write(d.join("stranger/thesis.tex"), "mine").unwrap();
        Work { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Every path under the folder.
    fn listing(&self) -> BTreeSet<PathBuf> {
        fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                out.insert(e.path());
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&e.path(), out);
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(self.path(), &mut out);
        out
    }
}

/// `rigbench ARGS` in `work`, `{}` in an argument replaced by the working folder.
fn rigbench(work: &Work, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(work.path());
    c.args(
        args.iter()
            .map(|a| a.replace("{}", &work.path().display().to_string())),
    );
    c.env_remove("RIGBENCH_PRIVATE_KEY");
    c.env_remove("RIGBENCH_KEYSTORE_PASSWORD");
    c
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A refused `rigbench run` with `--out-dir {}/out` and these flags.
fn run_case(flags: &[&'static str]) -> Vec<&'static str> {
    let mut v = vec!["run", "--out-dir", "{}/out", "--quiet"];
    v.extend_from_slice(flags);
    v
}

#[test]
fn bad_flags_and_files_are_usage_errors_naming_what_is_wrong() {
    let no_pay = "--no-payments";
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        // Numbers: 0, negative, huge, garbage.
        (
            run_case(&[no_pay, "--idle-seconds", U64_MAX]),
            &["--idle-seconds", "3600"],
        ),
        (
            run_case(&[no_pay, "--session-delay", U64_MAX]),
            &["--session-delay", "3600000"],
        ),
        (
            run_case(&[no_pay, "--concurrent-sessions", "100000"]),
            &["--concurrent-sessions", "1000"],
        ),
        (
            run_case(&[no_pay, "--concurrent-sessions", "0"]),
            &["--concurrent-sessions"],
        ),
        (
            run_case(&[no_pay, "--concurrent-sessions", "-1"]),
            &["--concurrent-sessions"],
        ),
        (
            run_case(&[no_pay, "--concurrent-sessions", "many"]),
            &["--concurrent-sessions"],
        ),
        (
            run_case(&[no_pay, "--segment-seconds", "0"]),
            &["--segment-seconds"],
        ),
        (
            run_case(&[no_pay, "--segment-seconds", "-2"]),
            &["--segment-seconds"],
        ),
        (
            run_case(&[no_pay, "--segment-seconds", "NaN"]),
            &["--segment-seconds"],
        ),
        (
            run_case(&[no_pay, "--segment-seconds", "inf"]),
            &["--segment-seconds"],
        ),
        (
            run_case(&[no_pay, "--segment-seconds", "1e308"]),
            &["--segment-seconds", "600"],
        ),
        (run_case(&[no_pay, "--loop", "0"]), &["--loop"]),
        (
            run_case(&[no_pay, "--loop", "4294967295"]),
            &["--loop", "10000"],
        ),
        (run_case(&[no_pay, "--repeat", "0"]), &["--repeat"]),
        (
            run_case(&[no_pay, "--repeat", "4294967295"]),
            &["--repeat", "1000"],
        ),
        (
            run_case(&[no_pay, "--power-interval", "5"]),
            &["--power-interval", "10"],
        ),
        (
            run_case(&[no_pay, "--power-interval", "0"]),
            &["--power-interval"],
        ),
        (
            run_case(&[no_pay, "--power-interval", U64_MAX]),
            &["--power-interval", "60000"],
        ),
        (run_case(&[no_pay, "--segs", "-1"]), &["--segs"]),
        (run_case(&[no_pay, "--nvidia", "0,0"]), &["--nvidia"]),
        (
            run_case(&[no_pay, "--backend", "cpu", "--nvidia", "0"]),
            &["--nvidia"],
        ),
        // Money flags.
        (
            run_case(&["--price-per-pixel", "1.5"]),
            &["--price-per-pixel", "not a whole number"],
        ),
        (
            run_case(&["--price-per-pixel", "-1"]),
            &["--price-per-pixel"],
        ),
        (
            run_case(&["--price-per-pixel", TWO_256]),
            &["--price-per-pixel", "larger than uint256"],
        ),
        (
            run_case(&["--price-per-pixel", "100000000000000000000"]),
            &["--price-per-pixel", "bound"],
        ),
        (
            run_case(&["--price-per-pixel", "0x"]),
            &["--price-per-pixel"],
        ),
        (run_case(&["--ticket-ev", "0"]), &["--ticket-ev"]),
        (run_case(&["--ticket-ev", "0X"]), &["--ticket-ev"]),
        (
            run_case(&["--redeem-gas-price", "NaN"]),
            &["--redeem-gas-price"],
        ),
        (
            run_case(&["--redeem-gas-price", "-1"]),
            &["--redeem-gas-price"],
        ),
        (
            run_case(&["--redeem-gas-price", "1e300"]),
            &["--redeem-gas-price"],
        ),
        (
            run_case(&["--sender-deposit", TWO_256]),
            &["--sender-deposit", "uint256"],
        ),
        (
            run_case(&["--sender-reserve", "1e18"]),
            &["--sender-reserve"],
        ),
        // Flags the mode ignores.
        (
            run_case(&["--keystore", "{}/empty"]),
            &["--keystore", "--chain rpc"],
        ),
        (run_case(&["--broker", ADDR]), &["--broker", "--chain rpc"]),
        (
            run_case(&[no_pay, "--price-per-pixel", "5"]),
            &["--price-per-pixel", "--no-payments"],
        ),
        (
            run_case(&[no_pay, "--data-dir", "{}/pay"]),
            &["--data-dir", "--no-payments"],
        ),
        (
            run_case(&["--set", "power.electricity_usd_per_kwh=1"]),
            &["--set", "--rig"],
        ),
        (run_case(&["--chain", "rpc"]), &["--chain-rpc"]),
        // Ladders.
        (
            run_case(&[no_pay, "--transcoding-options", "{}/folder"]),
            &["--transcoding-options", "directory"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/empty"]),
            &["--transcoding-options"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/garbage"]),
            &["--transcoding-options"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/cut.json"]),
            &["cut.json"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/missing.json"]),
            &["missing.json"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "P9000p"]),
            &["P9000p"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/traversal.json"]),
            &["../../x", "name"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/absolute.json"]),
            &["/tmp/x", "name"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/slash.json"]),
            &["a/b", "name"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/nul.json"]),
            &["name"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/dot.json"]),
            &["name"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/twice.json"]),
            &["\"a\"", "twice"],
        ),
        (
            run_case(&[
                no_pay,
                "--transcoding-options",
                "P240p30fps16x9,P240p30fps16x9",
            ]),
            &["twice"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/bitrate1.json"]),
            &["bitrate", "10000"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/bitrate1e14.json"]),
            &["bitrate", "800000000"],
        ),
        (
            run_case(&[no_pay, "--transcoding-options", "{}/gop.json"]),
            &["gop", "3600"],
        ),
        // Files: empty, truncated, a directory, garbage.
        (run_case(&[no_pay, "--in", "{}/empty"]), &["empty"]),
        (run_case(&[no_pay, "--in", "{}/garbage"]), &["garbage"]),
        (
            run_case(&[no_pay, "--in", "{}/folder"]),
            &["--in", "folder"],
        ),
        (
            run_case(&[no_pay, "--in", "{}/truncated.mp4"]),
            &["truncated.mp4"],
        ),
        (
            run_case(&[no_pay, "--in", "{}/missing.mp4"]),
            &["missing.mp4"],
        ),
        (run_case(&[no_pay, "--rig", "{}/empty"]), &["rig file"]),
        (
            run_case(&[no_pay, "--rig", "{}/folder"]),
            &["rig file", "folder"],
        ),
        (
            run_case(&[no_pay, "--rig", "{}/garbage"]),
            &["rig file", "garbage"],
        ),
        (
            run_case(&["--data-dir", "{}/empty"]),
            &["--data-dir", "not a directory"],
        ),
        (
            run_case(&["--data-dir", "{}/empty/below"]),
            &["--data-dir", "not a directory"],
        ),
        (
            vec!["run", "--quiet", no_pay, "--out-dir", "{}/empty"],
            &["--out-dir", "not a directory"],
        ),
        (
            vec!["run", "--quiet", no_pay, "--out-dir", "{}/held"],
            &["--out-dir", "already holds a run", "--force"],
        ),
        (
            vec![
                "run",
                "--quiet",
                no_pay,
                "--force",
                "--out-dir",
                "{}/stranger",
            ],
            &["--force", "does not look like"],
        ),
        // The other subcommands.
        (
            vec!["economics", "--run", "{}/empty", "--rig", "{}/garbage"],
            &["--run"],
        ),
        (
            vec!["economics", "--run", "{}/folder", "--rig", "{}/garbage"],
            &["--run"],
        ),
        (
            vec!["economics", "--run", "{}/garbage", "--rig", "{}/garbage"],
            &["--run"],
        ),
        (vec!["redeem", "--data-dir", "{}/missing"], &["--data-dir"]),
        (vec!["redeem", "--data-dir", "{}/folder"], &["--data-dir"]),
        (
            vec![
                "redeem",
                "--data-dir",
                "{}/folder",
                "--keystore",
                "{}/empty",
            ],
            &["--keystore"],
        ),
        (
            vec![
                "ticket",
                "wins",
                "--sig",
                "0x0102",
                "--recipient-rand",
                "1",
                "--win-prob",
                "1",
            ],
            &["--sig", "2 bytes", "65 bytes"],
        ),
        (
            vec![
                "ticket",
                "wins",
                "--sig",
                "zz",
                "--recipient-rand",
                "1",
                "--win-prob",
                "1",
            ],
            &["--sig"],
        ),
        (
            vec![
                "ticket",
                "wins",
                "--sig",
                "0x11",
                "--recipient-rand",
                "1",
                "--win-prob",
                TWO_256,
            ],
            &["--sig"],
        ),
        (
            vec![
                "ticket",
                "hash",
                "--recipient",
                ADDR,
                "--sender",
                ADDR,
                "--face-value",
                TWO_256,
                "--win-prob",
                "1",
                "--sender-nonce",
                "1",
                "--recipient-rand-hash",
                HASH,
            ],
            &["--face-value", "larger than uint256"],
        ),
        (
            vec![
                "ticket",
                "hash",
                "--recipient",
                ADDR,
                "--sender",
                ADDR,
                "--face-value",
                "1",
                "--win-prob",
                "1",
                "--sender-nonce",
                "4294967296",
                "--recipient-rand-hash",
                HASH,
            ],
            &["--sender-nonce"],
        ),
        (
            vec![
                "ticket",
                "hash",
                "--recipient",
                "0x12",
                "--sender",
                ADDR,
                "--face-value",
                "1",
                "--win-prob",
                "1",
                "--sender-nonce",
                "1",
                "--recipient-rand-hash",
                HASH,
            ],
            &["--recipient"],
        ),
        (
            vec!["ticket", "sign", "--hash", HASH],
            &["RIGBENCH_PRIVATE_KEY"],
        ),
        (vec!["ticket", "sign", "--hash", "0x01"], &["--hash"]),
        (
            vec![
                "ticket", "verify", "--hash", HASH, "--sig", "0x", "--signer", "nobody",
            ],
            &["--signer"],
        ),
    ];
    assert_usage_errors(&cases);
}

const U64_OVER: &str = "18446744073709551616";

/// (the command before the flag, the flag, (value, what stderr must also say) for each value).
type FlagCases<'a> = (
    &'a [&'static str],
    &'static str,
    &'a [(&'static str, &'static [&'static str])],
);

/// `rigbench SUBCOMMAND` with `prefix`, then `--flag value`, for each (value, needles): the
/// needles always include the flag.
fn flag_cases(
    prefix: &[&'static str],
    flag: &'static str,
    values: &[(&'static str, &'static [&'static str])],
) -> Vec<(Vec<&'static str>, Vec<&'static str>)> {
    values
        .iter()
        .map(|(value, needles)| {
            let mut args = prefix.to_vec();
            args.extend([flag, value]);
            let mut n = vec![flag];
            n.extend_from_slice(needles);
            (args, n)
        })
        .collect()
}

/// Every numeric flag of capacity, market, gate, orchestrator (and compare's and merge's
/// positional results given a negative number) at 0, negative, huge and garbage: exit 2 with a
/// message naming the flag and the range it accepts.
#[test]
fn newer_subcommands_refuse_bad_numbers_naming_the_flag_and_range() {
    let network: &'static str =
        Box::leak(manifest("fixtures/networks/livepeer-like.toml").into_boxed_str());
    let capacity = [
        "capacity",
        "--out-dir",
        "{}/out",
        "--no-payments",
        "--quiet",
    ];
    let market = [
        "market",
        "--network",
        network,
        "--out-dir",
        "{}/out",
        "--quiet",
    ];
    let gate = [
        "gate",
        "--baseline",
        "{}/folder",
        "--candidate",
        "{}/folder",
    ];
    let orchestrator = [
        "orchestrator",
        "--listen",
        "127.0.0.1:0",
        "--out-dir",
        "{}/out",
        "--quiet",
    ];
    let mut cases = Vec::new();
    let table: &[FlagCases] = &[
        (
            &capacity,
            "--max-sessions",
            &[
                ("0", &["at least 1"]),
                ("-1", &["from 1 to 1000"]),
                ("4294967295", &["at most 1000"]),
                (U64_MAX, &["from 1 to 1000"]),
                ("many", &["from 1 to 1000"]),
            ],
        ),
        (
            &capacity,
            "--probe-segments",
            &[
                ("0", &["at least 1"]),
                ("-1", &["from 1 to 10000"]),
                ("4294967295", &["at most 10000"]),
                ("six", &["from 1 to 10000"]),
            ],
        ),
        (
            &capacity,
            "--max-repeats",
            &[
                ("0", &["at least 1"]),
                ("-1", &["from 1 to 100"]),
                ("4294967295", &["at most 100"]),
                ("x", &["from 1 to 100"]),
            ],
        ),
        (
            &capacity,
            "--headroom",
            &[
                ("0", &["(0, 1]"]),
                ("-1", &["(0, 1]"]),
                ("1e308", &["(0, 1]"]),
                ("NaN", &["(0, 1]"]),
                ("x", &["(0, 1]"]),
            ],
        ),
        (
            &capacity,
            "--time-budget",
            &[
                ("0", &["positive"]),
                ("-1", &["positive"]),
                ("1e308", &["week"]),
                ("x", &["week"]),
            ],
        ),
        // run's flags, as capacity takes them.
        (&capacity, "--segment-seconds", &[("-1", &["600"])]),
        (&capacity, "--session-delay", &[("-1", &["3600000"])]),
        (&capacity, "--power-interval", &[("-1", &["10 to 60000"])]),
        (&capacity, "--idle-seconds", &[("-1", &["0 to 3600"])]),
        (
            &market,
            "--streams",
            &[
                ("0", &["at least one stream"]),
                ("1000001", &["from 1 to 1000000"]),
                ("4294967295", &["from 1 to 1000000"]),
                ("-1", &["from 1 to 1000000"]),
                (U64_MAX, &["from 1 to 1000000"]),
                ("x", &["from 1 to 1000000"]),
            ],
        ),
        (
            &market,
            "--days",
            &[
                ("0", &["3660"]),
                ("-1", &["3660"]),
                ("1e308", &["3660"]),
                ("NaN", &["3660"]),
                ("inf", &["3660"]),
                ("x", &["3660"]),
            ],
        ),
        (
            &market,
            "--seed",
            &[
                ("-1", &["from 0 to 18446744073709551615"]),
                (U64_OVER, &["from 0 to 18446744073709551615"]),
                ("x", &["from 0 to 18446744073709551615"]),
            ],
        ),
        (
            &market,
            "--runs",
            &[
                ("0", &["1..=1000"]),
                ("-1", &["from 1 to 1000"]),
                ("4294967295", &["1..=1000"]),
                ("x", &["from 1 to 1000"]),
            ],
        ),
        (
            &market,
            "--threads",
            &[
                ("-1", &["0 (one per core) or more"]),
                (U64_OVER, &["0 (one per core) or more"]),
                ("x", &["0 (one per core) or more"]),
            ],
        ),
        (
            &gate,
            "--threshold",
            &[
                ("0", &["strictly between 0 and 100"]),
                ("-1", &["strictly between 0 and 100"]),
                ("100", &["strictly between 0 and 100"]),
                ("1e308", &["strictly between 0 and 100"]),
                ("NaN", &["strictly between 0 and 100"]),
                ("x", &["strictly between 0 and 100"]),
            ],
        ),
        (
            &orchestrator,
            "--max-sessions",
            &[
                ("0", &["from 1 to 10000"]),
                ("10001", &["from 1 to 10000"]),
                ("-1", &["from 1 to 10000"]),
                (U64_MAX, &["from 1 to 10000"]),
                ("x", &["from 1 to 10000"]),
            ],
        ),
        (
            &orchestrator,
            "--max-segment-bytes",
            &[
                ("0", &["from 1024 to 1073741824"]),
                ("1023", &["from 1024 to 1073741824"]),
                ("1073741825", &["from 1024 to 1073741824", "held in memory"]),
                ("-1", &["from 1024 to 1073741824"]),
                (U64_OVER, &["from 1024 to 1073741824"]),
                ("x", &["from 1024 to 1073741824"]),
            ],
        ),
        (
            &orchestrator,
            "--read-timeout-ms",
            &[
                ("0", &["between 1 and 600000"]),
                ("600001", &["between 1 and 600000"]),
                ("-1", &["from 1 to 600000"]),
                (U64_MAX, &["between 1 and 600000"]),
                ("x", &["from 1 to 600000"]),
            ],
        ),
        (
            &orchestrator,
            "--session-idle-seconds",
            &[
                ("0", &["at least 1"]),
                ("-1", &["1 or more"]),
                (U64_OVER, &["1 or more"]),
                ("x", &["1 or more"]),
            ],
        ),
        (
            &orchestrator,
            "--redeem-gas-price",
            &[
                ("-1", &["non-negative"]),
                ("NaN", &["gwei"]),
                ("1e300", &["1000000000"]),
                ("x", &["from 0 to 1000000000"]),
            ],
        ),
        (
            &orchestrator,
            "--price-per-pixel",
            &[
                ("-1", &["not a whole number"]),
                ("1.5", &["not a whole number"]),
                (TWO_256, &["larger than uint256"]),
                ("100000000000000000000", &["int64"]),
            ],
        ),
        (
            &orchestrator,
            "--ticket-ev",
            &[
                ("0", &["above 0"]),
                ("-1", &["not a whole number"]),
                ("1000000000000000000001", &["above the bound"]),
                (TWO_256, &["larger than uint256"]),
            ],
        ),
        (
            &orchestrator,
            "--sender-deposit",
            &[
                ("-1", &["not a whole number"]),
                ("1000000000000000000000001", &["above the bound"]),
                (TWO_256, &["larger than uint256"]),
            ],
        ),
        (
            &orchestrator,
            "--sender-reserve",
            &[
                ("-1", &["not a whole number"]),
                ("1000000000000000000000001", &["above the bound"]),
                (TWO_256, &["larger than uint256"]),
            ],
        ),
    ];
    for (prefix, flag, values) in table {
        cases.extend(flag_cases(prefix, flag, values));
    }
    // Negative numbers where a subcommand takes paths: they reach the path checks.
    cases.push((vec!["compare", "-1", "-2"], vec!["-1"]));
    cases.push((
        vec!["merge", "-1", "--out", "{}/out"],
        vec!["-1", "not a folder"],
    ));
    let cases: Vec<(Vec<&str>, &[&str])> = cases
        .iter()
        .map(|(a, n)| (a.clone(), n.as_slice()))
        .collect();
    assert!(cases.len() > 80, "{} cases", cases.len());
    assert_usage_errors(&cases);
}

/// Runs `cmd` with stdin closed and at most `secs` seconds (a case that is wrongly accepted, say
/// an orchestrator that starts serving, is killed and reported rather than hanging the suite):
/// its exit code (None when killed) and stderr.
fn output_within(mut cmd: Command, secs: u64) -> (Option<i32>, String) {
    let logs = tempfile::tempdir().unwrap();
    let err_path = logs.path().join("stderr");
    let err_file = std::fs::File::create(&err_path).unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err_file)
        .spawn()
        .expect("rigbench starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let err = std::fs::read_to_string(&err_path).unwrap_or_default();
    match status {
        Some(s) => (s.code(), err),
        None => (
            None,
            format!("{err}\n[still running after {secs} s: killed]"),
        ),
    }
}

/// Runs each case in a fresh working folder: exit 2, never a panic, stderr naming every needle,
/// and nothing left behind.
fn assert_usage_errors(cases: &[(Vec<&str>, &[&str])]) {
    let mut failures = Vec::new();
    for (args, needles) in cases {
        let work = Work::new();
        let before = work.listing();
        let (code, err) = output_within(rigbench(&work, args), 60);
        let mut why = Vec::new();
        if code != Some(2) {
            why.push(format!("exit {code:?}, want 2"));
        }
        if err.contains("panicked") || code == Some(101) {
            why.push("panicked".to_string());
        }
        for n in needles.iter() {
            let n = n.replace("{}", &work.path().display().to_string());
            if !err.contains(&n) {
                why.push(format!("stderr lacks {n:?}"));
            }
        }
        let after = work.listing();
        let new: Vec<_> = after.difference(&before).collect();
        if !new.is_empty() {
            why.push(format!("left files behind: {new:?}"));
        }
        if !why.is_empty() {
            failures.push(format!("{args:?}: {}\n  stderr: {err}", why.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn bad_input_on_the_default_out_dir_leaves_no_empty_run_folder() {
    let work = Work::new();
    let o = rigbench(
        &work,
        &["run", "--quiet", "--no-payments", "--in", "{}/garbage"],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        !work.path().join("reports").exists(),
        "a refused run leaves no reports/runs/<stamp>/"
    );
}

/// `cmd` with stdout sent to /dev/full.
fn to_dev_full(mut cmd: Command) -> Output {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    cmd.stdout(full).stderr(Stdio::piped()).output().unwrap()
}

const WINS: &[&str] = &["ticket", "wins", "--recipient-rand", "5", "--win-prob", "1"];

fn wins_args() -> Vec<String> {
    let mut a: Vec<String> = WINS.iter().map(|s| s.to_string()).collect();
    a.extend(["--sig".to_string(), format!("0x{}", "11".repeat(65))]);
    a
}

#[test]
fn a_full_stdout_is_an_error_never_a_panic_or_exit_0() {
    let work = Work::new();
    let wins = wins_args();
    let wins: Vec<&str> = wins.iter().map(String::as_str).collect();
    let hash = [
        "ticket",
        "hash",
        "--recipient",
        ADDR,
        "--sender",
        ADDR,
        "--face-value",
        "0X10",
        "--win-prob",
        "1",
        "--sender-nonce",
        "1",
        "--recipient-rand-hash",
        HASH,
    ];
    let cases: Vec<&[&str]> = vec![
        &["probe"],
        &["probe", "--json"],
        &wins,
        &hash,
        &["--help"],
        &["run", "--help"],
        &["--version"],
    ];
    for args in cases {
        let o = to_dev_full(rigbench(&work, args));
        let err = text(&o);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.contains("stdout"), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_pipe_or_stdout_ends_quietly() {
    let work = Work::new();
    let wins = wins_args();
    let wins: Vec<&str> = wins.iter().map(String::as_str).collect();
    for args in [&["probe"][..], &wins] {
        // The reading end is closed before rigbench writes: its write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = rigbench(&work, args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = text(&o);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: quiet, got {err}");
    }
    // Descriptor 1 closed altogether: Rust's runtime puts /dev/null there before main, so
    // this is `> /dev/null`: no panic, and no file rigbench opens takes descriptor 1.
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("exec '{BIN}' probe >&-"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!text(&o).contains("panicked"), "{}", text(&o));
}

#[test]
fn run_json_to_a_full_stdout_fails_and_keeps_the_results() {
    let work = Work::new();
    let args = [
        "run",
        "--json",
        "--no-payments",
        "--no-live",
        "--segs",
        "1",
        "--transcoding-options",
        "P144p30fps16x9",
        "--out-dir",
        "{}/out",
    ];
    let o = to_dev_full(rigbench(&work, &args));
    let err = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("stdout") && err.contains("results are in"),
        "{err}"
    );
    assert!(work.path().join("out/run.json").is_file());
    // The same out-dir again: refused, the first run kept; with --force, replaced.
    let again = rigbench(&work, &args).output().unwrap();
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    let mut forced: Vec<&str> = args.to_vec();
    forced.push("--force");
    let o = rigbench(&work, &forced).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("run.json on stdout");
    assert_eq!(j["summary"]["total_segments"], 1);
}
