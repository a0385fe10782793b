//! The password ceiling: how long one argon2id hash takes at Twostep's own parameters
//! (m=19456 KiB, t=2, p=1, through `twostep_core::credential::password`), and so how many
//! sign-ins per second the machine's cores could verify if they did nothing else.

use std::time::Instant;
use twostep_bench::{median, report};
use twostep_core::credential::password;
use twostep_core::domain::Password;

fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(15);
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let pw = Password::new("bench-password-1234");
    let phc = password::hash(&pw)?; // also warms up the allocator
    let mut hashes = Vec::new();
    let mut verifies = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        password::hash(&pw)?;
        hashes.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        anyhow::ensure!(password::verify(&pw, &phc), "the hash does not verify");
        verifies.push(t.elapsed().as_secs_f64());
    }
    let hash = median(hashes);
    let verify = median(verifies);
    // The same work on every core at once: what the cores really give together.
    let per_thread = rounds.div_ceil(2).max(2);
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..cores {
            s.spawn(|| {
                for _ in 0..per_thread {
                    let _ = password::verify(&pw, &phc);
                }
            });
        }
    });
    let parallel = (cores * per_thread) as f64 / t.elapsed().as_secs_f64();
    report("cores", cores);
    report("hash_ms", format!("{:.1}", hash * 1e3));
    report("verify_ms", format!("{:.1}", verify * 1e3));
    report("ceiling_per_s", format!("{:.1}", cores as f64 / hash));
    report("parallel_per_s", format!("{:.1}", parallel));
    Ok(())
}
