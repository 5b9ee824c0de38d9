//! The SDR source stage: a simulated radio (the seeded scene of `dsp::sim::SimStream`) that,
//! fed the time, hands out the IQ windows that elapsed — as a real receiver would.

use std::sync::Arc;
use std::time::Duration;

use crate::dsp::sim::SimStream;
use crate::dsp::{Complex32, Emission};
use crate::pipeline::Stage;
use crate::sensors::config::{RfConfig, SensorConfig};

/// Consecutive IQ samples of one stream.
#[derive(Clone, Debug)]
pub struct IqWindow {
    /// Index of the first sample since the stream started.
    pub first_sample: u64,
    /// Time of the stream's first sample, µs since the Unix epoch.
    pub stream_start_us: u64,
    /// The samples.
    pub samples: Arc<Vec<Complex32>>,
    /// Ground truth inside this window (simulated sources), times relative to the window.
    pub truth: Vec<Emission>,
    /// The stream ends after this window (a replay's end, a peer hanging up): whatever is
    /// still open is reported and the next window starts a new stream.
    pub last: bool,
}

/// Longest stall back-filled; beyond it windows are skipped, as a receiver overruns.
const MAX_BACKLOG: Duration = Duration::from_secs(1);

/// Simulated receiver.
pub struct SimulatedRadio {
    rf: RfConfig,
    stream: SimStream,
    start_us: Option<u64>,
    next_sample: u64,
    skipped: u64,
}

impl SimulatedRadio {
    /// A radio for `config`'s `[rf]` settings, seeded by `config.seed`.
    pub fn new(config: &SensorConfig) -> Self {
        Self {
            stream: SimStream::new(
                config.seed,
                config.rf.sample_rate_hz,
                config.rf.center_freq_hz,
            ),
            rf: config.rf.clone(),
            start_us: None,
            next_sample: 0,
            skipped: 0,
        }
    }

    /// Samples skipped because the pipeline fell more than a second behind.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

impl Stage for SimulatedRadio {
    type In = ();
    type Out = IqWindow;

    fn tick_every(&self) -> Option<Duration> {
        let window = self.rf.window_samples as f64 / self.rf.sample_rate_hz;
        Some(Duration::from_secs_f64((window / 2.0).max(0.01)))
    }

    fn on_input(&mut self, _: (), _now_us: u64) -> Vec<IqWindow> {
        Vec::new()
    }

    fn on_tick(&mut self, now_us: u64) -> Vec<IqWindow> {
        let start = *self.start_us.get_or_insert(now_us);
        let fs = self.rf.sample_rate_hz;
        let due = (now_us.saturating_sub(start) as f64 * fs / 1e6) as u64;
        let n = self.rf.window_samples as u64;
        let backlog = (MAX_BACKLOG.as_secs_f64() * fs) as u64;
        if due.saturating_sub(self.next_sample) > backlog + n {
            // Skip whole windows, keeping the scene continuous.
            while due.saturating_sub(self.next_sample) > backlog {
                let _ = self.stream.next_window(n as usize);
                self.next_sample += n;
                self.skipped += n;
            }
        }
        let mut out = Vec::new();
        while self.next_sample + n <= due {
            let w = self.stream.next_window(n as usize);
            out.push(IqWindow {
                first_sample: self.next_sample,
                stream_start_us: start,
                samples: Arc::new(w.samples),
                truth: w.annotations,
                last: false,
            });
            self.next_sample += n;
        }
        out
    }
}
