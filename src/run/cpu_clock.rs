//! CPU clocks that split a run's CPU time by side: the orchestrator's transcode apart from
//! rigbench's own broadcaster work (validation, payments, segment files, meters).
//!
//! A side is a set of threads, and FFmpeg and libx264 start threads of their own, so a side is
//! measured with a Linux `perf_event_open` task-clock counter opened with `inherit` on the
//! thread that starts the side: it counts that thread and every thread it starts afterwards,
//! those that have already exited included. Where perf events are not allowed (some containers'
//! seccomp, `perf_event_paranoid` 3) the split is reported unavailable, with the reason, never
//! guessed. The thread and process clocks are `clock_gettime` (always available).

use std::sync::atomic::{AtomicU64, Ordering};

/// CPU time of the calling thread, nanoseconds.
pub fn thread_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)
}

/// CPU time of the whole process (every thread, exited ones included), nanoseconds.
pub fn process_cpu_ns() -> u64 {
    clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID)
}

fn clock_ns(clock: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call; the clock ids
    // are the two CPU-time clocks Linux always provides.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// A task-clock counter on the calling thread and every thread it starts from now on.
pub struct InheritedCpuCounter {
    fd: libc::c_int,
}

const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_COUNT_SW_TASK_CLOCK: u64 = 1;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;
/// `perf_event_attr` flag bit: count threads started after the counter opened.
const ATTR_INHERIT: u64 = 1 << 1;
/// Size of `perf_event_attr` this module fills (PERF_ATTR_SIZE_VER5 and later accept 128).
const ATTR_SIZE: usize = 128;

impl InheritedCpuCounter {
    /// Opens the counter, or says why perf events are unavailable.
    pub fn open() -> Result<Self, String> {
        // perf_event_attr: type u32 @0, size u32 @4, config u64 @8, flags u64 @40; the rest 0.
        let mut attr = [0u8; ATTR_SIZE];
        attr[0..4].copy_from_slice(&PERF_TYPE_SOFTWARE.to_ne_bytes());
        attr[4..8].copy_from_slice(&(ATTR_SIZE as u32).to_ne_bytes());
        attr[8..16].copy_from_slice(&PERF_COUNT_SW_TASK_CLOCK.to_ne_bytes());
        attr[40..48].copy_from_slice(&ATTR_INHERIT.to_ne_bytes());
        // SAFETY: `attr` is a zero-initialised perf_event_attr of the size it declares, alive for
        // the call; pid 0 / cpu -1 asks for the calling thread on any CPU, no group. The kernel
        // only reads the buffer.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                attr.as_ptr(),
                0 as libc::pid_t,
                -1 as libc::c_int,
                -1 as libc::c_int,
                PERF_FLAG_FD_CLOEXEC,
            )
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(format!(
                "perf_event_open (task clock) is not allowed here: {e}; the CPU split by side needs perf events (kernel.perf_event_paranoid ≤ 2, or a container that permits them)"
            ));
        }
        Ok(Self {
            fd: fd as libc::c_int,
        })
    }

    /// CPU nanoseconds counted so far (the thread and its descendants).
    pub fn read_ns(&self) -> Option<u64> {
        let mut value = 0u64;
        // SAFETY: `self.fd` is an open perf event we own; the buffer is a u64 we own, and a
        // counter without read_format flags reads exactly one u64.
        let n = unsafe {
            libc::read(
                self.fd,
                (&mut value as *mut u64).cast::<libc::c_void>(),
                std::mem::size_of::<u64>(),
            )
        };
        (n == std::mem::size_of::<u64>() as isize).then_some(value)
    }
}

impl Drop for InheritedCpuCounter {
    fn drop(&mut self) {
        // SAFETY: we own the fd and close it once.
        unsafe { libc::close(self.fd) };
    }
}

/// CPU nanoseconds per side, summed over a run's sessions.
#[derive(Debug, Default)]
pub struct CpuTally {
    pub transcode_ns: AtomicU64,
    pub validation_ns: AtomicU64,
    pub payments_ns: AtomicU64,
    /// Set when a counter could not be opened.
    pub unavailable: std::sync::Mutex<Option<String>>,
}

impl CpuTally {
    pub fn add(counter: &AtomicU64, ns: u64) {
        counter.fetch_add(ns, Ordering::Relaxed);
    }

    pub fn mark_unavailable(&self, why: String) {
        if let Ok(mut slot) = self.unavailable.lock() {
            slot.get_or_insert(why);
        }
    }

    /// Runs `f` under an inherited counter and adds what it used to `counter`.
    pub fn measure<T>(&self, counter: &AtomicU64, f: impl FnOnce() -> T) -> T {
        match InheritedCpuCounter::open() {
            Ok(c) => {
                let before = c.read_ns().unwrap_or(0);
                let out = f();
                Self::add(
                    counter,
                    c.read_ns().unwrap_or(before).saturating_sub(before),
                );
                out
            }
            Err(why) => {
                self.mark_unavailable(why);
                f()
            }
        }
    }

    /// The split over a window whose process CPU was `process_ns`.
    pub fn split(&self, process_ns: u64) -> crate::result::CpuSplit {
        let s = |ns: u64| ns as f64 / 1e9;
        let transcode = self.transcode_ns.load(Ordering::Relaxed);
        let payments = self.payments_ns.load(Ordering::Relaxed);
        let validation = self.validation_ns.load(Ordering::Relaxed);
        let unavailable = self.unavailable.lock().ok().and_then(|u| u.clone());
        let known = unavailable.is_none();
        // Payments run on the session thread, inside the transcode counter: moved to their side.
        let transcode_only = transcode.saturating_sub(payments);
        let broadcaster = process_ns.saturating_sub(transcode_only);
        crate::result::CpuSplit {
            process_cpu_seconds: s(process_ns),
            transcode_cpu_seconds: known.then(|| s(transcode_only)),
            validation_cpu_seconds: known.then(|| s(validation)),
            payments_cpu_seconds: s(payments),
            broadcaster_cpu_seconds: known.then(|| s(broadcaster)),
            broadcaster_share_of_transcode: (known && transcode_only > 0)
                .then(|| broadcaster as f64 / transcode_only as f64),
            method: "perf_event_open task clock with inherit per side; broadcaster = process CPU − transcode".to_string(),
            unavailable_reason: unavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spends `ms` of this thread's CPU time (not wall time: the machine may be busy).
    fn burn(ms: u64) {
        let until = thread_cpu_ns() + ms * 1_000_000;
        let mut x = 0u64;
        while thread_cpu_ns() < until {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
    }

    #[test]
    fn thread_and_process_clocks_advance() {
        let (t0, p0) = (thread_cpu_ns(), process_cpu_ns());
        burn(20);
        assert!(thread_cpu_ns() > t0);
        assert!(process_cpu_ns() > p0);
    }

    #[test]
    fn an_inherited_counter_counts_threads_started_after_it() {
        let counter = match InheritedCpuCounter::open() {
            Ok(c) => c,
            Err(why) => {
                eprintln!("SKIP an_inherited_counter_counts_threads_started_after_it: {why}");
                return;
            }
        };
        let before = counter.read_ns().unwrap();
        // The calling thread does nothing; two children burn 50 ms of CPU each, then exit.
        std::thread::scope(|s| {
            s.spawn(|| burn(50));
            s.spawn(|| burn(50));
        });
        let used = counter.read_ns().unwrap() - before;
        assert!(used >= 100_000_000, "children's CPU counted: {used} ns");
    }
}
