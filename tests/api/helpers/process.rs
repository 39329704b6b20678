//! Processes, as /proc shows them.

/// Is a process gone (or a zombie nobody has reaped yet)?
pub fn process_is_gone(pid: u32) -> bool {
    match stat_fields(pid) {
        None => true,
        Some(fields) => fields
            .first()
            .is_some_and(|state| state == "Z" || state == "X"),
    }
}

/// Child processes of `parent`.
pub fn children_of(parent: u32) -> Vec<u32> {
    matching(|fields| fields.get(1) == Some(&parent.to_string()))
}

/// Live (not zombie) processes in process group `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    matching(|fields| {
        fields.get(2) == Some(&pgid.to_string()) && fields.first().is_some_and(|s| s != "Z")
    })
}

/// Pids whose stat fields satisfy `keep`.
fn matching(keep: impl Fn(&[String]) -> bool) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|&pid| stat_fields(pid).is_some_and(|fields| keep(&fields)))
        .collect()
}

/// The fields of `/proc/<pid>/stat` after "pid (comm) ": state, ppid, pgrp,
/// ...; `None` when the process is gone.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.rsplit_once(") ")
            .map(|(_, rest)| rest.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
    )
}

/// Sends `signal` to the process `pid` (a child the test started, or the
/// test process itself); a process already gone is not an error here.
pub fn send_signal(pid: u32, signal: rustix::process::Signal) {
    if let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(pid, signal);
    }
}
