//! What /proc says about the processes under test: resident memory and its
//! peak, CPU time, time spent waiting for a CPU, and a process's children
//! (to find gatehouse's Hydra). Read before and after each scenario; kept
//! apart from starting and stopping the processes, which is `server`'s.

use std::collections::HashMap;

/// Memory and CPU of one process, from /proc.
#[derive(Debug, Clone, Copy)]
pub struct ProcStats {
    pub rss_kb: u64,
    pub anon_kb: u64,
    /// Peak RSS since the last [`reset_peak`] (VmHWM).
    pub peak_kb: u64,
    pub cpu_s: f64,
}

/// Per thread id: seconds run and seconds waited for a CPU.
pub type CpuWaits = HashMap<String, (f64, f64)>;

/// Memory and CPU of `pid` now; None once it is gone.
pub fn sample(pid: u32) -> Option<ProcStats> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields = stat_fields(&stat);
    // utime and stime are fields 14 and 15 of the whole line.
    let ticks: u64 = fields[11].parse::<u64>().ok()? + fields[12].parse::<u64>().ok()?;
    let per_second = rustix::param::clock_ticks_per_second().max(1) as f64;
    Some(ProcStats {
        rss_kb: kb("VmRSS:")?,
        anon_kb: kb("RssAnon:")?,
        peak_kb: kb("VmHWM:")?,
        cpu_s: ticks as f64 / per_second,
    })
}

/// Seconds the process's threads have run and waited for a CPU, from
/// /proc/PID/task/*/schedstat, per thread (threads come and go).
pub fn cpu_waits(pid: u32) -> CpuWaits {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return HashMap::new();
    };
    tasks
        .flatten()
        .filter_map(|task| {
            let text = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            let mut ns = text.split_whitespace().map(|n| n.parse::<f64>().ok());
            let (run, wait) = (ns.next()??, ns.next()??);
            Some((
                task.file_name().to_string_lossy().into(),
                (run / 1e9, wait / 1e9),
            ))
        })
        .collect()
}

/// Seconds spent waiting for a CPU between two [`cpu_waits`] readings.
pub fn cpu_wait_between(before: &CpuWaits, after: &CpuWaits) -> f64 {
    after
        .iter()
        .map(|(tid, (_, wait))| wait - before.get(tid).map_or(0.0, |b| b.1))
        .sum()
}

/// Resets VmHWM to the current RSS, so that the next reading is the peak of
/// one scenario. False when the kernel refused.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Child processes of `parent`, from /proc.
pub fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat_fields(&stat).get(1).and_then(|p| p.parse().ok()) == Some(parent)
        })
        .collect()
}

/// The fields of /proc/PID/stat after the command name (state is [0]).
fn stat_fields(stat: &str) -> Vec<&str> {
    stat.rsplit_once(") ")
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_sampled() {
        let me = sample(std::process::id()).expect("/proc/self");
        assert!(me.rss_kb > 0 && me.peak_kb > 0, "{me:?}");
        assert!(me.cpu_s >= 0.0);
    }
}
