//! Ingest speed: cutting the default fixture into MPEG-TS segments (demux + remux, no re-encode)
//! and parsing an HLS media playlist of 1800 segments (an hour of 2-second segments).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use rigbench::ingest;

fn prepare_default_fixture(c: &mut Criterion) {
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bbb_720p25_5s_gop2.mp4");
    let work = tempfile::tempdir().expect("tempdir");
    ingest::init_ffmpeg();
    c.bench_function(
        "ingest/prepare bbb_720p25_5s_gop2.mp4 (2 s segments)",
        |b| {
            b.iter(|| {
                ingest::prepare(&input, 2.0, work.path()).expect("prepare the default fixture")
            })
        },
    );
}

fn parse_playlist(c: &mut Criterion) {
    let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n");
    for i in 0..1800 {
        text.push_str(&format!("#EXTINF:2.000000,\nseg_{i:05}.ts\n"));
    }
    text.push_str("#EXT-X-ENDLIST\n");
    c.bench_function("ingest/parse HLS media playlist (1800 segments)", |b| {
        b.iter(|| ingest::hls::parse_media_playlist(&text).expect("parse"))
    });
}

criterion_group!(benches, prepare_default_fixture, parse_playlist);
criterion_main!(benches);
