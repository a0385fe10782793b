//! Helpers shared by the benchmark binaries (see `bench/run` and the README's "Benchmarks").
//! Nothing here runs under `cargo test`: the suite is timed, and timed tests are not tests.

/// Key-value lines (`name=value`) are how every binary here reports to `bench/run`.
pub fn report(name: &str, value: impl std::fmt::Display) {
    println!("{name}={value}");
}

/// The median of a non-empty sample (upper median for even lengths).
pub fn median(mut sample: Vec<f64>) -> f64 {
    sample.sort_by(f64::total_cmp);
    sample.get(sample.len() / 2).copied().unwrap_or(f64::NAN)
}
