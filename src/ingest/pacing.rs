//! Live pacing, livepeer_bench's rule (`-live`, on by default): after transcoding a segment, a
//! session sleeps for the segment's duration minus the time the transcode took, if that is
//! positive, so that segments arrive no faster than a live broadcaster sends them. A slow
//! transcode is not made up for later, exactly as in livepeer_bench.
//!
//! Sleeping can be cut short by a stop flag (Ctrl-C), checked at least every
//! [`STOP_POLL_INTERVAL`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often a pacing sleep looks at the stop flag.
pub const STOP_POLL_INTERVAL: Duration = Duration::from_millis(50);

/// How long to sleep after a segment of `segment_duration_seconds` that took `elapsed` to
/// transcode: `seg_dur - elapsed` when positive, else zero.
pub fn remaining_sleep(segment_duration_seconds: f64, elapsed: Duration) -> Duration {
    if !(segment_duration_seconds.is_finite() && segment_duration_seconds > 0.0) {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(segment_duration_seconds)
        .map(|segment| segment.saturating_sub(elapsed))
        .unwrap_or(Duration::ZERO)
}

/// Sleeps for `duration` unless `stop` becomes true first. Returns `true` when it slept the
/// whole time, `false` when it was stopped.
pub fn sleep_unless_stopped(duration: Duration, stop: &AtomicBool) -> bool {
    let deadline = Instant::now() + duration;
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(STOP_POLL_INTERVAL));
    }
}

/// Paces after one segment: sleeps [`remaining_sleep`] unless stopped. Returns `false` when the
/// stop flag is set (before or during the sleep), so the session should end.
pub fn pace_after_segment(
    segment_duration_seconds: f64,
    elapsed: Duration,
    stop: &AtomicBool,
) -> bool {
    sleep_unless_stopped(remaining_sleep(segment_duration_seconds, elapsed), stop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn remaining_sleep_table() {
        let ms = Duration::from_millis;
        for (segment, elapsed, expected) in [
            (2.0, ms(500), ms(1500)),
            (2.0, ms(2000), Duration::ZERO),
            (2.0, ms(3500), Duration::ZERO),
            (1.28, ms(0), ms(1280)),
            (0.0, ms(0), Duration::ZERO),
            (-1.0, ms(0), Duration::ZERO),
            (f64::NAN, ms(0), Duration::ZERO),
            (f64::INFINITY, ms(0), Duration::ZERO),
        ] {
            assert_eq!(
                remaining_sleep(segment, elapsed),
                expected,
                "{segment} s after {elapsed:?}"
            );
        }
    }

    #[test]
    fn a_set_flag_stops_at_once() {
        let stop = AtomicBool::new(true);
        // An hour's sleep returns false at once: the flag is checked before sleeping.
        assert!(!sleep_unless_stopped(Duration::from_secs(3600), &stop));
        assert!(!pace_after_segment(3600.0, Duration::ZERO, &stop));
    }

    #[test]
    fn a_flag_set_during_the_sleep_stops_it() {
        let stop = Arc::new(AtomicBool::new(false));
        let setter = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                stop.store(true, Ordering::Relaxed);
            })
        };
        // Would sleep an hour; returns once the flag is seen.
        assert!(!sleep_unless_stopped(Duration::from_secs(3600), &stop));
        setter.join().unwrap();
    }

    #[test]
    fn an_unset_flag_lets_a_zero_sleep_complete() {
        let stop = AtomicBool::new(false);
        assert!(sleep_unless_stopped(Duration::ZERO, &stop));
        assert!(pace_after_segment(1.0, Duration::from_secs(5), &stop));
    }
}
