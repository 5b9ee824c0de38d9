//! The replay source stage: a SigMF recording streamed as IQ windows, paced at its sample
//! rate (real time) or as fast as the pipeline takes them, once or repeating.

use std::sync::Arc;
use std::time::Duration;

use super::source::IqWindow;
use crate::dsp::IqRecording;
use crate::pipeline::Stage;

/// Windows handed out per tick when not paced (the edges' credits then set the speed).
const UNPACED_BURST: usize = 4;

/// Streams a recording.
pub struct ReplayRadio {
    rec: Arc<IqRecording>,
    window: usize,
    realtime: bool,
    repeat: bool,
    /// Next sample of the recording, and of the stream (which keeps counting on repeat).
    pos: usize,
    stream_pos: u64,
    start_us: Option<u64>,
    done: bool,
}

impl ReplayRadio {
    /// A replay of `rec` in windows of `window` samples.
    pub fn new(rec: Arc<IqRecording>, window: usize, realtime: bool, repeat: bool) -> Self {
        Self {
            rec,
            window: window.max(1),
            realtime,
            repeat,
            pos: 0,
            stream_pos: 0,
            start_us: None,
            done: false,
        }
    }

    /// Whether a non-repeating replay has handed out everything.
    pub fn done(&self) -> bool {
        self.done
    }

    fn next(&mut self, start_us: u64) -> Option<IqWindow> {
        let n = self.rec.samples.len();
        if self.pos >= n {
            if !self.repeat || n == 0 {
                self.done = true;
                return None;
            }
            self.pos = 0;
        }
        let end = (self.pos + self.window).min(n);
        let samples = self.rec.samples[self.pos..end].to_vec();
        let last = end == n && !self.repeat;
        let w = IqWindow {
            first_sample: self.stream_pos,
            stream_start_us: start_us,
            samples: Arc::new(samples),
            truth: Vec::new(),
            last,
        };
        self.stream_pos += (end - self.pos) as u64;
        self.pos = end;
        Some(w)
    }
}

impl Stage for ReplayRadio {
    type In = ();
    type Out = IqWindow;

    fn tick_every(&self) -> Option<Duration> {
        if self.realtime {
            Some(Duration::from_secs_f64(
                (self.window as f64 / self.rec.sample_rate_hz / 2.0).max(0.005),
            ))
        } else {
            Some(Duration::from_millis(1))
        }
    }

    fn on_input(&mut self, _: (), _now_us: u64) -> Vec<IqWindow> {
        Vec::new()
    }

    fn on_tick(&mut self, now_us: u64) -> Vec<IqWindow> {
        let began = *self.start_us.get_or_insert(now_us);
        // Event times follow the recording's own clock when it has one.
        let stream_start = self.rec.start_us.unwrap_or(began);
        let budget = if self.realtime {
            let elapsed_s = now_us.saturating_sub(began) as f64 / 1e6;
            let due = (elapsed_s * self.rec.sample_rate_hz) as u64;
            (due.saturating_sub(self.stream_pos) / self.window as u64) as usize
        } else {
            UNPACED_BURST
        };
        let mut out = Vec::new();
        for _ in 0..budget {
            match self.next(stream_start) {
                Some(w) => out.push(w),
                None => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::Complex32;

    fn rec(n: usize) -> Arc<IqRecording> {
        Arc::new(IqRecording {
            sample_rate_hz: 1000.0,
            samples: (0..n).map(|i| Complex32::new(i as f32, 0.0)).collect(),
            ..IqRecording::default()
        })
    }

    #[test]
    fn unpaced_replay_hands_out_everything_once_in_order() {
        let mut r = ReplayRadio::new(rec(1000), 64, false, false);
        let mut got = Vec::new();
        let mut t = 0;
        while !r.done() {
            for w in r.on_tick(t) {
                assert_eq!(w.first_sample as usize, got.len());
                got.extend(w.samples.iter().map(|c| c.re as usize));
            }
            t += 1000;
        }
        assert_eq!(got, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn realtime_replay_is_paced_and_repeats_continuously() {
        let mut r = ReplayRadio::new(rec(300), 100, true, true);
        assert!(
            r.on_tick(1_000_000).is_empty(),
            "nothing is due at the start"
        );
        // 0.25 s later at 1 kS/s: two whole windows are due.
        assert_eq!(r.on_tick(1_250_000).len(), 2);
        // 0.75 s later: 7 windows due in all; the recording (3 windows) wrapped.
        let ws = r.on_tick(1_750_000);
        assert_eq!(ws.len(), 5);
        assert_eq!(ws.last().unwrap().first_sample, 600);
        assert!(!r.done());
    }
}
