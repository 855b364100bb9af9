//! Loading a datastore the size of ManageIQ's domain (81 namespaces, 120 classes, 956
//! instances, 243 methods), generated into a temp dir.

use criterion::{criterion_group, criterion_main, Criterion};
use miq_automate_engine::generate::{write_domain, Size};
use miq_automate_engine::Datastore;

fn load(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("miq-engine-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let domain = write_domain(&dir, "Generated", Size::MANAGEIQ).expect("generate");
    let stats = Datastore::load(&[&domain]).expect("loads").stats();
    assert_eq!(
        (stats.classes, stats.instances, stats.methods),
        (120, 956, 243)
    );
    let mut group = c.benchmark_group("datastore");
    group.sample_size(20);
    group.bench_function("load ManageIQ-sized domain", |b| {
        b.iter(|| Datastore::load(&[&domain]).expect("loads"))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, load);
criterion_main!(benches);
