//! Transcode speed: the per-segment path (decode once, scale, encode every rendition with
//! libx264, mux MPEG-TS in memory) on one 2-second segment of the default fixture with the
//! default ladder; validation of those renditions; and ladder parsing.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use rigbench::ingest;
use rigbench::transcode::ladder::{
    default_ladder, parse_ladder_json, parse_transcoding_options, LIVEPEER_BENCH_LADDER_JSON,
};
use rigbench::transcode::{Backend, Session, SessionConfig};
use rigbench::validation::{expected_frames, expected_size, validate_rendition, validate_segment};

fn segment_path(c: &mut Criterion) {
    ingest::init_ffmpeg();
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bbb_720p25_5s_gop2.mp4");
    let work = tempfile::tempdir().expect("tempdir");
    let src = ingest::prepare(&input, 2.0, work.path()).expect("prepare the default fixture");
    let seg = src.segments[0].clone();
    let ladder = default_ladder();
    let mut session = Session::new(
        SessionConfig {
            backend: Backend::Cpu,
            gpu: None,
            ladder: ladder.clone(),
            keep_renditions_dir: None,
            session: 0,
        },
        &src.info,
    )
    .expect("cpu session");
    let mut g = c.benchmark_group("transcode");
    g.sample_size(10);
    g.bench_function("segment 2 s 720p25 → livepeer_bench ladder (cpu)", |b| {
        b.iter(|| session.transcode_segment(&seg).expect("transcode"))
    });
    let out = session.transcode_segment(&seg).expect("transcode");
    g.bench_function("validate the 4 renditions of one segment", |b| {
        b.iter(|| {
            for r in &out.renditions {
                let p = &ladder[r.profile_index];
                assert!(
                    validate_rendition(
                        r,
                        p,
                        expected_frames(&seg, src.info.fps, p),
                        expected_size(p, src.info.width, src.info.height)
                    )
                    .ok
                );
            }
        })
    });
    g.bench_function(
        "validate the 4 renditions of one segment in parallel",
        |b| {
            b.iter(|| {
                let checks = validate_segment(&out, &ladder, &seg, &src.info);
                assert!(checks.iter().all(|c| c.ok));
            })
        },
    );
    g.finish();
}

fn ladder_parsing(c: &mut Criterion) {
    c.bench_function("ladder/parse livepeer-bench.json", |b| {
        b.iter(|| parse_ladder_json(LIVEPEER_BENCH_LADDER_JSON, "embedded").expect("parse"))
    });
    c.bench_function("ladder/parse 3 preset names", |b| {
        b.iter(|| {
            parse_transcoding_options("P240p30fps16x9,P360p30fps16x9,P720p30fps16x9")
                .expect("parse")
        })
    });
}

criterion_group!(benches, segment_path, ladder_parsing);
criterion_main!(benches);
