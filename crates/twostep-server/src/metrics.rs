//! Prometheus metrics: requests by route and status, latency, sign-in outcomes, SMS.

use axum::http::Method;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};
use twostep_core::store::WaitHistogram;

type Labels = Vec<(&'static str, String)>;

/// A request's labels, built without allocating beyond the route.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    sign_ins: Family<Labels, Counter>,
    second_steps: Family<Labels, Counter>,
    sms: Family<Labels, Counter>,
    email: Family<Labels, Counter>,
    runtime: Family<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>,
    /// The store's acquire waits as of the last scrape (the store keeps the counts).
    acquire_waits: Arc<Mutex<WaitHistogram>>,
}

/// `db_acquire_duration_seconds`: a histogram whose counts the store keeps.
#[derive(Debug)]
struct AcquireWaits(Arc<Mutex<WaitHistogram>>);

impl Collector for AcquireWaits {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let h = self.0.lock().map(|h| h.clone()).unwrap_or_default();
        let mut buckets: Vec<(f64, u64)> = h.bounds.iter().copied().zip(h.counts.iter().copied()).collect();
        // The encoder writes f64::MAX as le="+Inf"; it adds the counts up itself.
        buckets.push((f64::MAX, h.counts.get(h.bounds.len()).copied().unwrap_or(0)));
        let count = h.counts.iter().sum();
        let mut metric = encoder.encode_descriptor(
            "db_acquire_duration_seconds",
            "How long queries waited for a pooled database connection (timed-out waits included)",
            None,
            MetricType::Histogram,
        )?;
        metric.encode_histogram::<prometheus_client::encoding::NoLabelSet>(h.sum_seconds, count, &buckets, None)
    }
}

/// What the service is holding at the moment of a scrape.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub pool_open: u32,
    pub pool_idle: u32,
    /// Password hashes running or waiting.
    pub hashing: usize,
    /// How long queries have waited for a pooled connection since the start.
    pub acquire_waits: WaitHistogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("twostep");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let sign_ins = Family::<Labels, Counter>::default();
        let second_steps = Family::<Labels, Counter>::default();
        let sms = Family::<Labels, Counter>::default();
        let email = Family::<Labels, Counter>::default();
        let runtime = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "runtime",
            "What the service holds now: database connections (open, idle), password hashes \
             (running or queued), and the process (resident bytes, CPU seconds, open files)",
            runtime.clone(),
        );
        registry.register("emails", "Notification emails sent and failed", email.clone());
        // Always 1: which build is running (set TWOSTEP_COMMIT when building to name it).
        let build_info = Family::<Labels, prometheus_client::metrics::gauge::Gauge>::default();
        build_info
            .get_or_create(&vec![
                ("version", env!("CARGO_PKG_VERSION").to_owned()),
                ("commit", option_env!("TWOSTEP_COMMIT").unwrap_or("unknown").to_owned()),
            ])
            .set(1);
        registry.register("build_info", "The running build: version and commit", build_info);
        registry.register("http_requests", "HTTP requests by route, method and status", requests.clone());
        registry.register("http_request_duration_seconds", "HTTP request latency by route", latency.clone());
        registry.register("sign_ins", "Sign-in outcomes", sign_ins.clone());
        registry.register("second_steps", "Second-step code checks", second_steps.clone());
        registry.register("sms", "Text messages sent, refused and failed", sms.clone());
        let acquire_waits = Arc::new(Mutex::new(WaitHistogram::default()));
        registry.register_collector(Box::new(AcquireWaits(acquire_waits.clone())));
        Self {
            registry: Arc::new(registry),
            requests,
            latency,
            sign_ins,
            second_steps,
            sms,
            email,
            runtime,
            acquire_waits,
        }
    }
}

impl Metrics {
    pub fn request(&self, route: &str, method: &Method, status: u16, seconds: f64) {
        let method = match *method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::DELETE => "DELETE",
            Method::PATCH => "PATCH",
            Method::HEAD => "HEAD",
            Method::OPTIONS => "OPTIONS",
            _ => "other",
        };
        let labels = RequestLabels { route: route.to_owned(), method, status };
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&RouteLabels { route: labels.route }).observe(seconds);
    }

    pub fn sign_in(&self, outcome: &str) {
        self.sign_ins.get_or_create(&vec![("outcome", outcome.to_owned())]).inc();
    }

    /// A second-step check's outcome, by method (`totp`, `sms`, `recovery_code`).
    pub fn second_step(&self, outcome: &str, method: &str) {
        self.second_steps.get_or_create(&vec![("outcome", outcome.to_owned()), ("method", method.to_owned())]).inc();
    }

    pub fn sms(&self, outcome: &str) {
        self.sms.get_or_create(&vec![("outcome", outcome.to_owned())]).inc();
    }

    pub fn email(&self, outcome: &str) {
        self.email.get_or_create(&vec![("outcome", outcome.to_owned())]).inc();
    }

    /// Sets the gauges of what is held now (called at each scrape).
    pub fn observe(&self, now: Snapshot) {
        let set = |what: &str, value: f64| {
            self.runtime.get_or_create(&vec![("what", what.to_owned())]).set(value);
        };
        set("db_connections_open", f64::from(now.pool_open));
        set("db_connections_idle", f64::from(now.pool_idle));
        set("password_hashes_in_flight", now.hashing as f64);
        if let Ok(mut waits) = self.acquire_waits.lock() {
            *waits = now.acquire_waits;
        }
        if let Some(process) = process_stats() {
            set("process_resident_bytes", process.0);
            set("process_cpu_seconds", process.1);
            set("process_open_fds", process.2);
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Resident memory (bytes), CPU time (seconds) and open file descriptors of this process,
/// from `/proc` (Linux); `None` elsewhere.
fn process_stats() -> Option<(f64, f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; here 11 and 12 (0-based after ')').
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // rss (field 24) is in pages.
    let pages: f64 = fields.get(21)?.parse().ok()?;
    // Linux reports CPU time in USER_HZ, 100 per second on every supported architecture.
    let fds = std::fs::read_dir("/proc/self/fd").map(|d| d.count() as f64).unwrap_or(0.0);
    Some((pages * 4096.0, ticks / 100.0, fds))
}
