//! Short-time Fourier transform as a sans-IO core: samples in, power spectra out (one row
//! per hop, fft-shifted so bin 0 is −fs/2). The plan, window and buffers are made once.

use std::sync::Arc;

use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};

use super::{Complex32, simd};

/// Window functions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKind {
    /// Hann (default): −31 dB sidelobes, 1.5-bin noise bandwidth.
    #[default]
    Hann,
    /// Hamming.
    Hamming,
    /// Blackman-Harris (4-term): very low sidelobes, wider main lobe.
    BlackmanHarris,
    /// No window.
    Rectangular,
}

impl WindowKind {
    /// The window's `n` coefficients (periodic form).
    pub fn coefficients(self, n: usize) -> Vec<f32> {
        use std::f64::consts::TAU;
        (0..n)
            .map(|i| {
                let x = TAU * i as f64 / n as f64;
                (match self {
                    WindowKind::Hann => 0.5 - 0.5 * x.cos(),
                    WindowKind::Hamming => 0.54 - 0.46 * x.cos(),
                    WindowKind::BlackmanHarris => {
                        0.35875 - 0.48829 * x.cos() + 0.14128 * (2.0 * x).cos()
                            - 0.01168 * (3.0 * x).cos()
                    }
                    WindowKind::Rectangular => 1.0,
                }) as f32
            })
            .collect()
    }
}

/// STFT settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StftConfig {
    /// FFT size (a power of two is fastest).
    pub nfft: usize,
    /// Samples between frames.
    pub hop: usize,
    /// Window.
    pub window: WindowKind,
}

impl Default for StftConfig {
    fn default() -> Self {
        Self {
            nfft: 4096,
            hop: 2048,
            window: WindowKind::Hann,
        }
    }
}

impl StftConfig {
    /// Problems with these settings, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(64..=65_536).contains(&self.nfft) {
            out.push(("nfft", "must be in 64..=65536".into()));
        }
        if self.hop == 0 || self.hop > self.nfft {
            out.push(("hop", "must be in 1..=nfft".into()));
        }
        out
    }
}

/// The STFT core. Power is normalised by the window energy, so complex white noise of total
/// power σ² has a mean of σ² in every bin.
pub struct Stft {
    nfft: usize,
    hop: usize,
    /// Window coefficients.
    window: Vec<f32>,
    fft: Arc<dyn Fft<f32>>,
    /// Samples not yet consumed by a frame (at most nfft − 1 after each push).
    pending: Vec<Complex32>,
    buf: Vec<Complex32>,
    scratch: Vec<Complex32>,
    row: Vec<f32>,
    scale: f32,
    frames: u64,
    peak: f32,
}

impl Stft {
    /// Plans the FFT and allocates every buffer.
    pub fn new(config: &StftConfig) -> Self {
        let nfft = config.nfft.max(2);
        let fft = FftPlanner::<f32>::new().plan_fft_forward(nfft);
        let coefficients = config.window.coefficients(nfft);
        let energy: f32 = coefficients.iter().map(|w| w * w).sum();
        Self {
            nfft,
            hop: config.hop.clamp(1, nfft),
            scratch: vec![Complex32::default(); fft.get_inplace_scratch_len()],
            fft,
            window: coefficients,
            pending: Vec::with_capacity(2 * nfft),
            buf: vec![Complex32::default(); nfft],
            row: vec![0.0; nfft],
            scale: 1.0 / energy.max(f32::MIN_POSITIVE),
            frames: 0,
            peak: 0.0,
        }
    }

    /// FFT size (bins per row).
    pub fn nfft(&self) -> usize {
        self.nfft
    }

    /// Hop in samples.
    pub fn hop(&self) -> usize {
        self.hop
    }

    /// The largest power in any row since the last call.
    pub fn take_peak(&mut self) -> f32 {
        std::mem::take(&mut self.peak)
    }

    /// Rows produced so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Feeds samples; calls `on_row(row_index, power)` for every completed frame.
    /// Row `i` covers samples `i·hop .. i·hop + nfft` of the stream.
    pub fn push(&mut self, samples: &[Complex32], mut on_row: impl FnMut(u64, &[f32])) {
        let mut row = std::mem::take(&mut self.row);
        self.frames_of(samples, |stft, start| {
            stft.transform(start, samples, &mut row);
            on_row(stft.frames - 1, &row);
        });
        self.row = row;
    }

    /// Feeds samples; fills `out` with every completed row (`nfft` values each, replacing
    /// what it held: a reused buffer of the same size is not cleared first) and returns the
    /// index of the first (or of the next row, when none completed).
    pub fn push_rows(&mut self, samples: &[Complex32], out: &mut Vec<f32>) -> u64 {
        let first = self.frames;
        let (n, hop) = (self.nfft, self.hop);
        let total = self.pending.len() + samples.len();
        let rows = if total >= n { (total - n) / hop + 1 } else { 0 };
        out.resize(rows * n, 0.0);
        let mut dst = out.chunks_exact_mut(n);
        self.frames_of(samples, |stft, start| {
            if let Some(row) = dst.next() {
                stft.transform(start, samples, row);
            }
        });
        first
    }

    /// Calls `frame(self, start)` for every frame of pending ++ `samples` (`start` indexes
    /// that concatenation), then keeps what the next frame needs.
    fn frames_of(&mut self, samples: &[Complex32], mut frame: impl FnMut(&mut Self, usize)) {
        let total = self.pending.len() + samples.len();
        let mut start = 0;
        while total - start >= self.nfft {
            self.frames += 1;
            frame(self, start);
            start += self.hop;
        }
        // Keep the tail from `start` on.
        let have = self.pending.len();
        if start >= have {
            self.pending.clear();
            self.pending.extend_from_slice(&samples[start - have..]);
        } else {
            self.pending.drain(..start);
            self.pending.extend_from_slice(samples);
        }
    }

    /// Windows the frame at `start` of pending ++ `samples`, transforms it and writes the
    /// fft-shifted power to `row`. A non-finite sample would make the whole row NaN (and
    /// poison a noise floor for ever): such a frame is redone with those samples as zero.
    fn transform(&mut self, start: usize, samples: &[Complex32], row: &mut [f32]) {
        self.window_frame(start, samples);
        let mut seen = self.power_row(row);
        if !seen.finite {
            self.window_frame(start, samples);
            for c in &mut self.buf {
                if !(c.re.is_finite() && c.im.is_finite()) {
                    *c = Complex32::default();
                }
            }
            seen = self.power_row(row);
        }
        self.peak = self.peak.max(seen.max);
    }

    /// Transforms the windowed frame in `buf` into the fft-shifted power `row`.
    fn power_row(&mut self, row: &mut [f32]) -> simd::PowerSummary {
        let n = self.nfft;
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        let half = n / 2;
        let (neg, pos) = row.split_at_mut(n - half);
        // fftshift: output bins [half..nfft) (negative frequencies) first.
        let a = simd::power(neg, &self.buf[half..], self.scale);
        let b = simd::power(pos, &self.buf[..half], self.scale);
        simd::PowerSummary {
            max: a.max.max(b.max),
            finite: a.finite && b.finite,
        }
    }

    /// Copies the frame at `start` of pending ++ `samples` into `buf`, windowed.
    fn window_frame(&mut self, start: usize, samples: &[Complex32]) {
        let n = self.nfft;
        let have = self.pending.len();
        if start >= have {
            let s = start - have;
            simd::windowed(&mut self.buf, &samples[s..s + n], &self.window);
        } else {
            let a = (have - start).min(n);
            let (head, tail) = self.buf.split_at_mut(a);
            let (wa, wb) = self.window.split_at(a);
            simd::windowed(head, &self.pending[start..start + a], wa);
            simd::windowed(tail, &samples[..n - a], wb);
        }
    }

    /// Baseband frequency (Hz) of the centre of row bin `bin` at `sample_rate`.
    pub fn bin_hz(&self, bin: f64, sample_rate: f64) -> f64 {
        (bin - (self.nfft / 2) as f64) * sample_rate / self.nfft as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tone(n: usize, cycles_per_sample: f64, amp: f32) -> Vec<Complex32> {
        (0..n)
            .map(|i| {
                let ph = std::f64::consts::TAU * cycles_per_sample * i as f64;
                Complex32::new(amp * ph.cos() as f32, amp * ph.sin() as f32)
            })
            .collect()
    }

    #[test]
    fn rows_arrive_per_hop_whatever_the_chunking() {
        let cfg = StftConfig {
            nfft: 256,
            hop: 64,
            window: WindowKind::Hann,
        };
        let x = tone(2000, 0.1, 1.0);
        let mut whole = Vec::new();
        Stft::new(&cfg).push(&x, |i, r| whole.push((i, r.to_vec())));
        let mut pieces = Vec::new();
        let mut s = Stft::new(&cfg);
        for chunk in x.chunks(37) {
            s.push(chunk, |i, r| pieces.push((i, r.to_vec())));
        }
        assert_eq!(whole.len(), (2000 - 256) / 64 + 1);
        assert_eq!(whole, pieces);
    }

    #[test]
    fn a_tone_lands_in_its_bin_after_the_shift() {
        let cfg = StftConfig {
            nfft: 1024,
            hop: 1024,
            window: WindowKind::Hann,
        };
        let mut s = Stft::new(&cfg);
        // +100 bins above centre, and a negative frequency.
        for (cps, want) in [(100.0 / 1024.0, 512 + 100), (-200.0 / 1024.0, 512 - 200)] {
            let mut peak = 0;
            s.push(&tone(1024, cps, 1.0), |_, r| {
                peak = r
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, _)| i)
                    .unwrap();
            });
            assert_eq!(peak, want);
            assert!((s.bin_hz(want as f64, 1024.0) - cps * 1024.0).abs() < 1e-9);
        }
    }

    #[test]
    fn a_non_finite_sample_counts_as_zero_and_spoils_nothing_else() {
        let cfg = StftConfig {
            nfft: 256,
            hop: 128,
            window: WindowKind::Hann,
        };
        let mut x = tone(2048, 0.1, 1.0);
        x[700] = Complex32::new(f32::NAN, 0.0);
        x[1500] = Complex32::new(1.0, f32::INFINITY);
        let mut zeroed = x.clone();
        zeroed[700] = Complex32::default();
        zeroed[1500] = Complex32::default();
        let (mut got, mut want) = (Vec::new(), Vec::new());
        let mut s = Stft::new(&cfg);
        s.push_rows(&x, &mut got);
        let peak = s.take_peak();
        Stft::new(&cfg).push_rows(&zeroed, &mut want);
        assert!(got.iter().all(|v| v.is_finite()));
        assert_eq!(got, want);
        assert!(peak.is_finite() && peak > 0.0);
    }

    proptest! {
        /// Parseval: with a rectangular window and no overlap, the mean bin power equals the
        /// mean sample power.
        #[test]
        fn parseval_holds(samples in proptest::collection::vec((-1.0f32..1.0, -1.0f32..1.0), 128)) {
            let x: Vec<Complex32> = samples.iter().map(|(a, b)| Complex32::new(*a, *b)).collect();
            let cfg = StftConfig { nfft: 128, hop: 128, window: WindowKind::Rectangular };
            let mut got = 0.0f64;
            Stft::new(&cfg).push(&x, |_, r| got = r.iter().map(|v| f64::from(*v)).sum::<f64>() / 128.0);
            let time: f64 = x.iter().map(|c| f64::from(c.norm_sqr())).sum::<f64>() / 128.0;
            prop_assert!((got - time).abs() <= 1e-4 * time.max(1e-3), "freq {got} vs time {time}");
        }
    }

    #[test]
    fn white_noise_has_unit_mean_per_bin_for_any_window() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let x: Vec<Complex32> = (0..1 << 16)
            .map(|_| Complex32::new(rng.random::<f32>() - 0.5, rng.random::<f32>() - 0.5))
            .collect();
        let var = 2.0 / 12.0; // two components, uniform on [-0.5, 0.5)
        for window in [
            WindowKind::Hann,
            WindowKind::BlackmanHarris,
            WindowKind::Hamming,
        ] {
            let mut sum = 0.0f64;
            let mut n = 0;
            Stft::new(&StftConfig {
                nfft: 512,
                hop: 256,
                window,
            })
            .push(&x, |_, r| {
                sum += r.iter().map(|v| f64::from(*v)).sum::<f64>();
                n += r.len();
            });
            let mean = sum / n as f64 / var;
            assert!((mean - 1.0).abs() < 0.02, "{window:?}: {mean}");
        }
    }
}
