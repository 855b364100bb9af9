//! `cargo run --release -p miq-automate-engine --example load_stats -- DIR...`: loads domain
//! exports and prints their stats and the load time (best of 10).

use std::time::Instant;

use miq_automate_engine::Datastore;

fn main() {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    let mut best = f64::MAX;
    let mut stats = None;
    for _ in 0..10 {
        let start = Instant::now();
        match Datastore::load(&dirs) {
            Ok(ds) => stats = Some(ds.stats()),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        }
        best = best.min(start.elapsed().as_secs_f64() * 1000.0);
    }
    if let Some(s) = stats {
        println!("{s}");
    }
    println!("load: {best:.1} ms (best of 10)");
}
