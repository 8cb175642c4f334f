//! What a benchmark process used: CPU time (per thread and per process) and peak memory,
//! from Linux `/proc`; `None` where the files do not exist.

/// On-CPU time of the calling thread, nanoseconds (first field of
/// `/proc/thread-self/schedstat`, the scheduler's sum of execution time, updated at
/// scheduler ticks and switches); `None` where the file does not exist.
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Peak resident set size of this process, bytes (Linux `VmHWM`); `None` elsewhere.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time this process used so far, user plus system, all threads (ended ones
/// included), seconds (fields 14 and 15 of `/proc/self/stat`, in clock ticks of 1/100 s,
/// Linux's fixed `USER_HZ`).
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after_name = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}
