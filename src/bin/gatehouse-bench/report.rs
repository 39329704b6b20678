//! What a run found: the JSON document, the table, and the targets of issue 7.

use serde::Serialize;

use crate::flows::Owner;

#[derive(Serialize, Debug, Clone, Copy)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

impl From<[f64; 3]> for Percentiles {
    fn from([p50, p90, p99]: [f64; 3]) -> Self {
        Percentiles { p50, p90, p99 }
    }
}

#[derive(Serialize, Debug)]
pub struct Report {
    pub machine: Machine,
    pub duration_s: f64,
    pub concurrency: usize,
    /// Verifications in flight at once in the forward-auth scenarios.
    pub forward_auth_concurrency: usize,
    /// The verifications a second `fa-paced` offered.
    pub forward_auth_rate: u32,
    /// The gatehouse executable measured, and the Hydra it supervised.
    pub gatehouse: String,
    pub hydra: String,
    /// Where gatehouse's store and Hydra's database are: "sqlite" or
    /// "postgres".
    pub database: &'static str,
    /// gatehouse instances (each with its Hydra) the flows took turns on;
    /// the process columns are the first instance's.
    pub instances: usize,
    /// Browser, headless and bare-hydra flows sent to each instance (of the
    /// first variant).
    pub instance_flows: Vec<u64>,
    /// Resident memory after start-up, before any load.
    pub idle_rss_mb: IdleRss,
    pub scenarios: Vec<ScenarioReport>,
    pub ratios: Ratios,
    pub targets: Vec<Target>,
    /// The proof of work's costs (scenario `proof`).
    pub proofs: Option<crate::proofs::ProofReport>,
}

#[derive(Serialize, Debug)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
}

impl Machine {
    pub fn this() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |text: &str, key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        };
        let mem_kb: f64 = field(&meminfo, "MemTotal")
            .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
            .unwrap_or(0.0);
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
            memory_gib: (mem_kb / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        }
    }
}

#[derive(Serialize, Debug, Default)]
pub struct IdleRss {
    pub gatehouse: Option<f64>,
    /// Of which anonymous memory (heap, stacks); the rest is mapped files,
    /// mostly the executable's own pages.
    pub gatehouse_anon: Option<f64>,
    pub hydra: Option<f64>,
}

#[derive(Serialize, Debug)]
pub struct ScenarioReport {
    pub name: &'static str,
    /// Which gatehouse ("" when the run measured one).
    pub variant: &'static str,
    pub flows: u64,
    pub elapsed_s: f64,
    pub flows_per_s: f64,
    pub errors: u64,
    /// The first few error messages, as they were.
    pub error_samples: Vec<String>,
    pub latency_ms: Option<Percentiles>,
    pub steps: Vec<StepReport>,
    /// None for the in-process `otp` scenario.
    pub gatehouse_process: Option<ProcReport>,
    pub hydra_process: Option<ProcReport>,
    /// CPU seconds this benchmark process used meanwhile (clients, SMS
    /// sink; for `otp` also the service under test): it shares the machine.
    pub load_generator_cpu_s: Option<f64>,
}

#[derive(Serialize, Debug)]
pub struct StepReport {
    pub name: &'static str,
    pub owner: Owner,
    /// As the client saw it.
    pub latency_ms: Option<Percentiles>,
    /// Gatehouse's own time in this step: its request duration less the
    /// waits on Hydra and the SMS gateway (from its metrics; interpolated
    /// inside histogram buckets).
    pub own_ms: Option<Percentiles>,
    /// Share of this step's requests whose own time was at most 5 ms.
    pub own_within_5ms: Option<f64>,
}

#[derive(Serialize, Debug, Clone, Copy)]
pub struct ProcReport {
    /// Peak resident memory during the scenario (VmHWM, reset before it).
    pub peak_rss_mb: f64,
    pub rss_after_mb: f64,
    /// CPU time (user + system) used during the scenario.
    pub cpu_s: f64,
    /// Time its threads were ready to run but waited for a CPU (schedstat):
    /// on a saturated machine part of every latency.
    pub cpu_wait_s: f64,
}

#[derive(Serialize, Debug, Default)]
pub struct Ratios {
    pub browser_over_bare_hydra: Option<f64>,
    pub headless_over_bare_hydra: Option<f64>,
}

#[derive(Serialize, Debug)]
pub struct Target {
    pub target: String,
    /// "met", "missed" or "not measured".
    pub status: &'static str,
    pub value: String,
}

impl Report {
    pub fn scenario(&self, name: &str) -> Option<&ScenarioReport> {
        self.scenarios.iter().find(|s| s.name == name)
    }

    /// Fills `ratios` and `targets` from the scenarios.
    pub fn evaluate(&mut self) {
        let rate = |name: &str| self.scenario(name).map(|s| s.flows_per_s);
        let bare = rate("bare-hydra").filter(|r| *r > 0.0);
        let ratio = |name: &str| Some(rate(name)? / bare?);
        let ratios = Ratios {
            browser_over_bare_hydra: ratio("browser"),
            headless_over_bare_hydra: ratio("headless"),
        };
        let mut targets = Vec::new();
        for (name, value) in [
            ("browser", ratios.browser_over_bare_hydra),
            ("headless", ratios.headless_over_bare_hydra),
        ] {
            targets.push(throughput_target(name, value, rate(name), bare));
        }
        targets.extend(self.own_time_targets());
        targets.extend(self.memory_targets());
        targets.push(self.error_target());
        targets.extend(crate::comparisons::targets(self));
        self.ratios = ratios;
        self.targets = targets;
    }

    /// Per gatehouse step of `browser` and `headless`: its own time's p99
    /// under 5 ms.
    fn own_time_targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        for scenario in ["browser", "headless"] {
            let Some(s) = self.scenario(scenario) else {
                continue;
            };
            for step in s.steps.iter().filter(|st| st.owner == Owner::Gatehouse) {
                let target = format!(
                    "{scenario} `{}`: gatehouse's own time p99 < 5 ms (concurrency {})",
                    step.name, self.concurrency
                );
                targets.push(match (step.own_ms, step.own_within_5ms) {
                    (Some(own), Some(share)) => Target {
                        target,
                        status: if share >= 0.99 { "met" } else { "missed" },
                        value: format!("p99 {:.2} ms ({:.2}% within 5 ms)", own.p99, share * 100.0),
                    },
                    _ => not_measured(target),
                });
            }
        }
        targets
    }

    /// gatehouse's peak RSS under load and its RSS idle.
    fn memory_targets(&self) -> [Target; 2] {
        let peak = self
            .scenarios
            .iter()
            .filter(|s| !s.name.starts_with("oathkeeper"))
            .filter_map(|s| s.gatehouse_process.map(|p| p.peak_rss_mb))
            .reduce(f64::max);
        [
            match peak {
                Some(mb) => Target {
                    target: "gatehouse peak RSS < 40 MB under load".into(),
                    status: if mb < 40.0 { "met" } else { "missed" },
                    value: format!("{mb:.1} MB"),
                },
                None => not_measured("gatehouse peak RSS < 40 MB under load".into()),
            },
            match self.idle_rss_mb.gatehouse {
                Some(mb) => Target {
                    target: "gatehouse RSS < 15 MB idle".into(),
                    status: if mb < 15.0 { "met" } else { "missed" },
                    value: format!("{mb:.1} MB"),
                },
                None => not_measured("gatehouse RSS < 15 MB idle".into()),
            },
        ]
    }

    /// No errors, measured only by a run at concurrency 16 for 60 s.
    fn error_target(&self) -> Target {
        let errors: u64 = self.scenarios.iter().map(|s| s.errors).sum();
        let long_enough = self.duration_s >= 60.0 && self.concurrency >= 16;
        Target {
            target: "zero errors at concurrency 16 for 60 s".into(),
            status: match (errors, long_enough) {
                (0, true) => "met",
                (0, false) => "not measured",
                _ => "missed",
            },
            value: format!(
                "{errors} errors in {} flows ({} s per scenario, concurrency {})",
                self.scenarios
                    .iter()
                    .map(|s| s.flows + s.errors)
                    .sum::<u64>(),
                self.duration_s,
                self.concurrency
            ),
        }
    }

    /// The human-readable report.
    pub fn table(&self) -> String {
        let mut out = Lines::default();
        let m = &self.machine;
        out.line(format!(
            "machine: {} CPUs ({}), {} GiB RAM; {} s per scenario, concurrency {}",
            m.cpus, m.cpu_model, m.memory_gib, self.duration_s, self.concurrency
        ));
        out.line(format!(
            "database: {}; {} instance{} (processes measured: the first; sign-in flows each: {:?})",
            self.database,
            self.instances,
            if self.instances == 1 { "" } else { "s" },
            self.instance_flows
        ));
        out.line(format!(
            "idle before load: gatehouse RSS {} MB (anonymous {} MB), Hydra RSS {} MB",
            opt(self.idle_rss_mb.gatehouse, 1),
            opt(self.idle_rss_mb.gatehouse_anon, 1),
            opt(self.idle_rss_mb.hydra, 1)
        ));
        out.line(String::new());
        self.scenario_table(&mut out);
        for s in &self.scenarios {
            out.line(String::new());
            s.step_table(&mut out);
        }
        out.line(String::new());
        out.line(format!(
            "browser / bare-hydra = {}   headless / bare-hydra = {}",
            opt(self.ratios.browser_over_bare_hydra, 3),
            opt(self.ratios.headless_over_bare_hydra, 3)
        ));
        out.line(String::new());
        out.line("targets (issues 7 and 25):".into());
        for t in &self.targets {
            out.line(format!("  {:<12} {}: {}", t.status, t.target, t.value));
        }
        if let Some(proofs) = &self.proofs {
            out.line(String::new());
            out.line(proofs.line());
        }
        out.0
    }

    /// One row per scenario: rate, latency, and what the processes used.
    fn scenario_table(&self, out: &mut Lines) {
        out.line(format!(
            "{:<24} {:>8} {:>7} {:>6} {:>8} {:>8} {:>8} | {:>9} {:>6} {:>7} | {:>9} {:>6} | {:>7}",
            "scenario",
            "flows/s",
            "flows",
            "errors",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "gh RSS MB",
            "gh CPU",
            "gh wait",
            "hy RSS MB",
            "hy CPU",
            "gen CPU"
        ));
        for s in &self.scenarios {
            let [p50, p90, p99] = ms(s.latency_ms);
            let (g, h) = (s.gatehouse_process, s.hydra_process);
            out.line(format!(
                "{:<24} {:>8.1} {:>7} {:>6} {:>8} {:>8} {:>8} | {:>9} {:>6} {:>7} | {:>9} {:>6} | {:>7}",
                format!("{}{}", s.name, crate::measure::label(s.variant)),
                s.flows_per_s,
                s.flows,
                s.errors,
                p50,
                p90,
                p99,
                opt(g.map(|g| g.peak_rss_mb), 1),
                opt(g.map(|g| g.cpu_s), 1),
                opt(g.map(|g| g.cpu_wait_s), 1),
                opt(h.map(|h| h.peak_rss_mb), 1),
                opt(h.map(|h| h.cpu_s), 1),
                opt(s.load_generator_cpu_s, 1),
            ));
        }
        out.line("(gh = gatehouse, hy = Hydra, gen = this load generator; RSS: peak during the scenario; CPU: seconds".into());
        out.line(" used during it; wait: seconds gatehouse's threads were ready but waited for a CPU; otp runs in".into());
        out.line(" the benchmark's own process; in fa-* and oathkeeper-* rows gh is the verifying process)".into());
    }
}

impl ScenarioReport {
    /// The scenario's steps: latency as the client saw it and gatehouse's
    /// own time; then the first errors.
    fn step_table(&self, out: &mut Lines) {
        out.line(format!(
            "{}{}: steps (own = gatehouse's own time, without waiting on Hydra or the SMS gateway)",
            self.name,
            crate::measure::label(self.variant)
        ));
        out.line(format!(
            "  {:<26} {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8}",
            "step", "p50 ms", "p90 ms", "p99 ms", "own p50", "own p90", "own p99"
        ));
        for st in &self.steps {
            let owner = match st.owner {
                Owner::Gatehouse => "gatehouse",
                Owner::Hydra if self.name == "bare-hydra" => "hydra",
                Owner::Hydra => "hydra via proxy",
                Owner::Library => "library",
                Owner::Verifier => "verifier",
            };
            let ([p50, p90, p99], [o50, o90, o99]) = (ms(st.latency_ms), ms(st.own_ms));
            out.line(format!(
                "  {:<26} {p50:>8} {p90:>8} {p99:>8} | {o50:>8} {o90:>8} {o99:>8}",
                format!("{} [{owner}]", st.name),
            ));
        }
        for message in &self.error_samples {
            out.line(format!("  error: {message}"));
        }
    }
}

/// The table's text, a line at a time.
#[derive(Default)]
struct Lines(String);

impl Lines {
    fn line(&mut self, text: String) {
        self.0.push_str(&text);
        self.0.push('\n');
    }
}

/// `{name} >= 90% of bare-hydra flows/s`, from the ratio of the two rates.
fn throughput_target(
    name: &str,
    ratio: Option<f64>,
    own: Option<f64>,
    bare: Option<f64>,
) -> Target {
    let target = format!("{name} >= 90% of bare-hydra flows/s");
    match ratio {
        Some(r) => Target {
            target,
            status: if r >= 0.9 { "met" } else { "missed" },
            value: format!(
                "{:.1}% ({:.1} vs {:.1} flows/s)",
                r * 100.0,
                own.unwrap_or(0.0),
                bare.unwrap_or(0.0)
            ),
        },
        None => not_measured(target),
    }
}

fn not_measured(target: String) -> Target {
    Target {
        target,
        status: "not measured",
        value: "scenario not run".into(),
    }
}

/// p50, p90 and p99 in milliseconds with two decimals, or `-` each.
fn ms(p: Option<Percentiles>) -> [String; 3] {
    [p.map(|p| p.p50), p.map(|p| p.p90), p.map(|p| p.p99)].map(|v| opt(v, 2))
}

fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}
