//! The standard process metrics every Prometheus client exports, with the
//! names and meanings of the Go client's process collector, read from
//! `/proc` at scrape time (nothing is sampled between scrapes):
//!
//! | metric | from |
//! |---|---|
//! | `process_cpu_seconds_total` | `/proc/self/stat` utime + stime |
//! | `process_resident_memory_bytes` | `/proc/self/status` `VmRSS` |
//! | `process_virtual_memory_bytes` | `/proc/self/status` `VmSize` |
//! | `process_open_fds` | entries of `/proc/self/fd` |
//! | `process_max_fds` | `/proc/self/limits` "Max open files", soft limit |
//! | `process_start_time_seconds` | `/proc/self/stat` starttime + `/proc/stat` btime, read once |
//!
//! A value that cannot be read (no `/proc`, as off Linux) is left out of the
//! scrape rather than reported as zero.

use std::fmt;

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
};

/// Clock ticks per second of `/proc/self/stat`'s times: Linux's `USER_HZ`,
/// 100 on every architecture it exports to user space (the Go client's
/// procfs makes the same assumption, to avoid a `sysconf` call).
const USER_HZ: f64 = 100.0;

/// Writes the process metrics on each scrape; register it with the
/// registry ([`crate::metrics::Metrics`] does).
#[derive(Debug)]
pub struct ProcessCollector {
    /// Unix time the process started, in seconds; fixed, so read once.
    start_time: Option<f64>,
}

impl ProcessCollector {
    pub fn new() -> ProcessCollector {
        let start_time = (|| {
            let stat = Stat::parse(&std::fs::read_to_string("/proc/self/stat").ok()?)?;
            let boot = boot_time(&std::fs::read_to_string("/proc/stat").ok()?)?;
            Some(boot as f64 + stat.start_ticks as f64 / USER_HZ)
        })();
        ProcessCollector { start_time }
    }
}

impl Default for ProcessCollector {
    fn default() -> Self {
        ProcessCollector::new()
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let read = |path| std::fs::read_to_string(path).ok();
        if let Some(stat) = read("/proc/self/stat").as_deref().and_then(Stat::parse) {
            let seconds = (stat.utime + stat.stime) as f64 / USER_HZ;
            counter(
                &mut encoder,
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                seconds,
            )?;
        }
        if let Some(status) = read("/proc/self/status") {
            if let Some(rss) = status_bytes(&status, "VmRSS:") {
                gauge(
                    &mut encoder,
                    "process_resident_memory_bytes",
                    "Resident memory size in bytes.",
                    rss,
                )?;
            }
            if let Some(size) = status_bytes(&status, "VmSize:") {
                gauge(
                    &mut encoder,
                    "process_virtual_memory_bytes",
                    "Virtual memory size in bytes.",
                    size,
                )?;
            }
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            gauge(
                &mut encoder,
                "process_open_fds",
                "Number of open file descriptors.",
                fds.count() as u64,
            )?;
        }
        if let Some(max) = read("/proc/self/limits")
            .as_deref()
            .and_then(max_open_files)
        {
            gauge(
                &mut encoder,
                "process_max_fds",
                "Maximum number of open file descriptors.",
                max,
            )?;
        }
        if let Some(start) = self.start_time {
            gauge(
                &mut encoder,
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                start,
            )?;
        }
        Ok(())
    }
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: f64,
) -> Result<(), fmt::Error> {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: impl EncodeGaugeValue,
) -> Result<(), fmt::Error> {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// The fields of `/proc/self/stat` this module reads (proc(5)).
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    /// Field 14, user-mode time in clock ticks.
    utime: u64,
    /// Field 15, kernel-mode time in clock ticks.
    stime: u64,
    /// Field 22, start time in clock ticks after boot.
    start_ticks: u64,
}

impl Stat {
    fn parse(text: &str) -> Option<Stat> {
        // Field 2, the command name, is in parentheses and may itself hold
        // spaces and parentheses: the fields after it start at the last `)`.
        let after = &text[text.rfind(')')? + 1..];
        // `after` begins with field 3 (the state).
        let mut fields = after.split_ascii_whitespace();
        let mut field = |n: usize| fields.nth(n)?.parse::<u64>().ok();
        let utime = field(14 - 3)?;
        let stime = field(0)?;
        let start_ticks = field(22 - 15 - 1)?;
        Some(Stat {
            utime,
            stime,
            start_ticks,
        })
    }
}

/// `btime` of `/proc/stat`: boot time, in seconds since the Unix epoch.
fn boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

/// A `kB` line of `/proc/self/status`, such as `VmRSS:  7712 kB`, in bytes.
fn status_bytes(text: &str, key: &str) -> Option<u64> {
    let value = text.lines().find_map(|line| line.strip_prefix(key))?;
    let kib: u64 = value.trim().strip_suffix("kB")?.trim().parse().ok()?;
    kib.checked_mul(1024)
}

/// The soft limit of "Max open files" in `/proc/self/limits`; none when it
/// is `unlimited`.
fn max_open_files(text: &str) -> Option<u64> {
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))?;
    line.split_ascii_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_past_a_command_name_with_spaces_and_parentheses() {
        // A real line (proc(5) layout), with the name changed to a hostile one.
        let line = "4242 (greet (gw) x) S 1 4242 4242 0 -1 4194560 1520 0 0 0 \
                    731 129 0 0 20 0 3 0 98765 123456789 1900 18446744073709551615 \
                    1 1 0 0 0 0 0 4096 17987 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(
            Stat::parse(line),
            Some(Stat {
                utime: 731,
                stime: 129,
                start_ticks: 98765,
            })
        );
    }

    #[test]
    fn a_truncated_stat_line_reads_as_nothing() {
        assert_eq!(Stat::parse("4242 (gw) S 1 4242"), None);
        assert_eq!(Stat::parse("no parenthesis"), None);
    }

    #[test]
    fn boot_time_is_the_btime_line() {
        let text = "cpu  1 2 3 4\nintr 5\nctxt 6\nbtime 1764460800\nprocesses 7\n";
        assert_eq!(boot_time(text), Some(1_764_460_800));
    }

    #[test]
    fn status_sizes_are_converted_from_kib() {
        let text = "Name:\tgreet-gateway\nVmSize:\t  123456 kB\nVmRSS:\t    7712 kB\n";
        assert_eq!(status_bytes(text, "VmRSS:"), Some(7712 * 1024));
        assert_eq!(status_bytes(text, "VmSize:"), Some(123456 * 1024));
        assert_eq!(status_bytes(text, "VmHWM:"), None);
    }

    #[test]
    fn max_fds_is_the_soft_limit_and_unlimited_is_none() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             95654                95654                processes \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(max_open_files(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files\n";
        assert_eq!(max_open_files(unlimited), None);
    }

    #[test]
    fn this_process_reports_every_metric_with_a_plausible_value() {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(ProcessCollector::new()));
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        let value = |name: &str| -> f64 {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} missing from\n{text}"));
            line[name.len() + 1..].parse().unwrap()
        };
        assert!(value("process_resident_memory_bytes") > 1024.0 * 1024.0);
        assert!(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
        assert!(value("process_open_fds") >= 3.0);
        assert!(value("process_max_fds") >= value("process_open_fds"));
        assert!(value("process_cpu_seconds_total") >= 0.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = value("process_start_time_seconds");
        assert!(
            start <= now + 1.0 && start > now - 3600.0,
            "{start} vs {now}"
        );
        assert!(text.contains("# TYPE process_cpu_seconds_total counter\n"));
        assert!(text.contains("# TYPE process_open_fds gauge\n"));
    }
}
