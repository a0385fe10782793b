//! Start to ready: spawns the command after `--`, asks `GET <path>` on `<addr>` every
//! millisecond until the answer is 200, and reports the time from spawn to that answer.
//! Repeated `--runs` times (the process is stopped with SIGTERM in between); prints the
//! median and every sample. Usage: `ready 127.0.0.1:18080 /readyz --runs 5 -- twostep serve`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use twostep_bench::{median, report};

fn ready(addr: &str, path: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let split = args
        .iter()
        .position(|a| a == "--")
        .ok_or_else(|| anyhow::anyhow!("usage: ready ADDR PATH [--runs N] -- CMD…"))?;
    let (ours, command) = (&args[..split], &args[split + 1..]);
    anyhow::ensure!(ours.len() >= 2 && !command.is_empty(), "usage: ready ADDR PATH [--runs N] -- CMD…");
    let (addr, path) = (&ours[0], &ours[1]);
    let runs: usize = match ours.iter().position(|a| a == "--runs") {
        Some(i) => ours.get(i + 1).ok_or_else(|| anyhow::anyhow!("--runs needs a number"))?.parse()?,
        None => 5,
    };
    let mut samples = Vec::new();
    for _ in 0..runs {
        anyhow::ensure!(!ready(addr, path), "something already answers on {addr}");
        let started = Instant::now();
        let mut child = Command::new(&command[0]).args(&command[1..]).stdout(Stdio::null()).spawn()?;
        let mut elapsed = None;
        while started.elapsed() < Duration::from_secs(30) {
            if ready(addr, path) {
                elapsed = Some(started.elapsed());
                break;
            }
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("the server exited before it was ready: {status}");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        child.wait()?;
        let elapsed = elapsed.ok_or_else(|| anyhow::anyhow!("not ready after 30 s"))?;
        samples.push(elapsed.as_secs_f64() * 1e3);
    }
    report("ready_ms", format!("{:.1}", median(samples.clone())));
    report("ready_samples_ms", samples.iter().map(|s| format!("{s:.1}")).collect::<Vec<_>>().join(" "));
    Ok(())
}
