//! The market simulation's speed target (issue 10): 100 orchestrators, a month of simulated
//! time at the example network's demand (about 1000 new streams an hour, ~510 at once), 20
//! replications, on one thread: under 10 seconds. Also one simulated day, for quick checks.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use rigbench::market::network::NetworkFile;
use rigbench::market::replicate;

fn network() -> NetworkFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/networks/livepeer-like.toml");
    NetworkFile::load(&path).expect("the example network loads")
}

fn bench_market(c: &mut Criterion) {
    let file = network();
    let month = file.market(30.0).expect("valid");
    assert_eq!(month.orchestrators.len(), 100);
    let day = file.market(1.0).expect("valid");
    let mut g = c.benchmark_group("market");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("1 replication, 100 orchestrators, 1 day", |b| {
        b.iter(|| black_box(replicate(black_box(&day), 1, 1, 1)))
    });
    g.measurement_time(Duration::from_secs(120));
    g.bench_function(
        "20 replications, 100 orchestrators, 30 days, one thread (target < 10 s)",
        |b| b.iter(|| black_box(replicate(black_box(&month), 1, 20, 1))),
    );
    g.finish();
}

criterion_group!(benches, bench_market);
criterion_main!(benches);
