//! Waterfall display rows for the dashboard: STFT power rows max-held down to a fixed width
//! and row rate, quantized to u8 dB. A display stream only, never replicated as events.
//!
//! Pixel `p` of `width` covers bins `⌊p·n/width⌋ .. ⌊(p+1)·n/width⌋` of `n`: every pixel
//! covers one or more bins when `n ≥ width`; when `n < width` each pixel shows the single
//! bin under it (`⌊p·n/width⌋`), so every bin is held over `width/n` pixels (± one).

use serde::{Deserialize, Serialize};

/// Waterfall settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WaterfallConfig {
    /// Pixels per row (16..=8192).
    pub width: usize,
    /// Output rows per second (at most one per STFT row).
    pub rows_per_s: f64,
    /// dB mapped to 0 (and below).
    pub db_min: f32,
    /// dB mapped to 255 (and above).
    pub db_max: f32,
}

impl Default for WaterfallConfig {
    fn default() -> Self {
        Self {
            width: 1024,
            rows_per_s: 20.0,
            db_min: -90.0,
            db_max: 30.0,
        }
    }
}

impl WaterfallConfig {
    /// Problems with these settings, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(16..=8192).contains(&self.width) {
            out.push(("width", "must be in 16..=8192".into()));
        }
        if !(self.rows_per_s.is_finite() && self.rows_per_s > 0.0) {
            out.push(("rows_per_s", "must be positive and finite".into()));
        }
        if !(self.db_min.is_finite() && self.db_max.is_finite() && self.db_min < self.db_max) {
            out.push((
                "db_max",
                "db_min and db_max must be finite, db_min < db_max".into(),
            ));
        }
        out
    }

    /// The code of `db`: `db_min` → 0, `db_max` → 255, linear between, clamped (NaN → 0).
    pub fn quantize(&self, db: f32) -> u8 {
        let span = (self.db_max - self.db_min).max(f32::MIN_POSITIVE);
        let x = ((db - self.db_min) / span * 255.0).round();
        if x.is_nan() {
            0
        } else {
            x.clamp(0.0, 255.0) as u8
        }
    }
}

/// One display row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaterfallRow {
    /// First STFT row it covers.
    pub row_index: u64,
    /// STFT rows max-held into it.
    pub rows: u32,
    /// `width` codes, low frequency first (see [`WaterfallConfig::quantize`]).
    pub values: Vec<u8>,
}

/// The waterfall core: STFT rows in, display rows out.
pub struct Waterfall {
    cfg: WaterfallConfig,
    nbins: usize,
    /// First bin of each pixel, and one past the last (`width + 1` entries for `n ≥ width`).
    lo: Vec<u32>,
    hi: Vec<u32>,
    /// STFT rows per output row (≥ 1, fractional: the rate is kept on average).
    period: f64,
    /// Linear power max-held over the pending rows.
    acc: Vec<f32>,
    first: u64,
    merged: u32,
    /// STFT rows pushed, and the count at which the pending row closes.
    pushed: u64,
    next: f64,
}

impl Waterfall {
    /// A waterfall over STFT rows of `nbins` bins, one every `hop_s` seconds. Settings are
    /// clamped into range; check [`WaterfallConfig::problems`] first.
    pub fn new(cfg: &WaterfallConfig, nbins: usize, hop_s: f64) -> Self {
        let width = cfg.width.clamp(16, 8192);
        let n = nbins.max(1);
        let lo: Vec<u32> = (0..width).map(|p| (p * n / width) as u32).collect();
        let hi = (0..width)
            .map(|p| (((p + 1) * n / width) as u32).max(lo[p] + 1))
            .collect();
        let period = 1.0 / (cfg.rows_per_s * hop_s);
        let period = if period.is_finite() {
            period.max(1.0)
        } else {
            1.0
        };
        Self {
            cfg: WaterfallConfig {
                width,
                ..cfg.clone()
            },
            nbins,
            lo,
            hi,
            period,
            acc: vec![f32::NEG_INFINITY; width],
            first: 0,
            merged: 0,
            pushed: 0,
            next: period,
        }
    }

    /// STFT rows per output row (on average).
    pub fn rows_per_output(&self) -> f64 {
        self.period
    }

    /// Max-holds STFT row `row_index` (linear power, `nbins` long; other lengths are
    /// ignored) into the pending display row; returns it when its period is complete.
    /// The period counts rows pushed, so STFT rows are expected contiguous.
    pub fn push(&mut self, row_index: u64, power: &[f32]) -> Option<WaterfallRow> {
        if power.len() != self.nbins {
            return None;
        }
        if self.merged == 0 {
            self.first = row_index;
        }
        for ((a, &lo), &hi) in self.acc.iter_mut().zip(&self.lo).zip(&self.hi) {
            let m = power[lo as usize..hi as usize]
                .iter()
                .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            *a = a.max(m);
        }
        self.merged += 1;
        self.pushed += 1;
        if (self.pushed as f64) < self.next {
            return None;
        }
        while self.next <= self.pushed as f64 {
            self.next += self.period;
        }
        self.flush()
    }

    /// Emits the pending display row now, however few rows it holds (None if empty).
    pub fn flush(&mut self) -> Option<WaterfallRow> {
        if self.merged == 0 {
            return None;
        }
        let values = self
            .acc
            .iter()
            .map(|&p| self.cfg.quantize(10.0 * p.log10()))
            .collect();
        self.acc.fill(f32::NEG_INFINITY);
        let rows = std::mem::take(&mut self.merged);
        Some(WaterfallRow {
            row_index: self.first,
            rows,
            values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::sim::{ChannelSpec, EmitterSpec, SimConfig, WaveformParams, simulate};
    use crate::dsp::stft::{Stft, StftConfig};

    fn cfg(width: usize, rows_per_s: f64) -> WaterfallConfig {
        WaterfallConfig {
            width,
            rows_per_s,
            db_min: -60.0,
            db_max: 20.0,
        }
    }

    #[test]
    fn a_single_strong_bin_shows_at_its_pixel_with_the_top_code() {
        let (n, w) = (4096, 1024);
        let mut wf = Waterfall::new(&cfg(w, 1e9), n, 1.0);
        let mut row = vec![1e-5f32; n]; // −50 dB
        row[2049] = 1e3; // +30 dB: above db_max
        let out = wf.push(0, &row).expect("one row per STFT row");
        assert_eq!(out.values.len(), w);
        assert_eq!(out.values[2049 * w / n], 255);
        let floor = cfg(w, 1.0).quantize(-50.0);
        assert_eq!(out.values.iter().filter(|&&v| v == floor).count(), w - 1);
    }

    #[test]
    fn db_range_maps_linearly_and_clamps() {
        let c = cfg(16, 1.0);
        assert_eq!(c.quantize(-60.0), 0);
        assert_eq!(c.quantize(-100.0), 0);
        assert_eq!(c.quantize(20.0), 255);
        assert_eq!(c.quantize(f32::INFINITY), 255);
        assert_eq!(c.quantize(f32::NEG_INFINITY), 0);
        assert_eq!(c.quantize(f32::NAN), 0);
        assert_eq!(c.quantize(-20.0), 128); // 127.5 rounds up
        assert_eq!(c.quantize(-60.0 + 80.0 / 255.0 * 17.0), 17);
        // Zero power is −∞ dB: code 0.
        let mut wf = Waterfall::new(&c, 16, 1.0);
        assert_eq!(wf.flush(), None);
        assert_eq!(wf.push(0, &[0.0; 16]).expect("row").values, vec![0; 16]);
    }

    #[test]
    fn row_rate_is_kept_and_rows_are_max_held() {
        // 2.4 Msps with hop 2048: 1171.875 STFT rows/s → 20 rows/s of ~58.6 rows each.
        let hop_s = 2048.0 / 2.4e6;
        let mut wf = Waterfall::new(&cfg(64, 20.0), 256, hop_s);
        let mut out = Vec::new();
        let total = 11_719u64; // 10 s
        for i in 0..total {
            let mut row = vec![1e-6f32; 256];
            row[(i % 256) as usize] = 10f32.powf(-3.0 + (i % 7) as f32);
            out.extend(wf.push(i, &row));
        }
        assert_eq!(out.len(), 200, "20 rows/s for 10 s");
        let mut next = 0;
        for r in &out {
            assert_eq!(r.row_index, next);
            assert!((58..=59).contains(&r.rows), "{}", r.rows);
            next += u64::from(r.rows);
            // Peaks cycle over −30…+30 dB every 7 rows: each output row held a +30 dB one.
            assert_eq!(r.values.iter().copied().max(), Some(255));
        }
        assert_eq!(next, 11_719);
        assert!(wf.flush().is_none());
    }

    #[test]
    fn widths_that_do_not_divide_the_bins_cover_every_bin_once() {
        for (n, w) in [(1000, 64), (4096, 1000), (100, 16), (10, 16), (33, 100)] {
            let wf = Waterfall::new(&cfg(w, 1.0), n, 1.0);
            assert_eq!(wf.lo[0], 0);
            assert_eq!(*wf.hi.last().expect("w > 0") as usize, n);
            for p in 1..w {
                if n >= w {
                    assert_eq!(wf.lo[p], wf.hi[p - 1], "n {n} w {w} p {p}");
                } else {
                    assert_eq!(wf.hi[p] - wf.lo[p], 1);
                    assert!(wf.lo[p] >= wf.lo[p - 1]);
                }
            }
            // A strong bin anywhere lights exactly the pixels holding it.
            for bin in [0, n / 3, n - 1] {
                let mut wf = Waterfall::new(&cfg(w, 1e9), n, 1.0);
                let mut row = vec![1e-5f32; n];
                row[bin] = 1.0;
                let v = wf.push(9, &row).expect("row").values;
                let lit: Vec<usize> = (0..w).filter(|&p| v[p] > 100).collect();
                let want: Vec<usize> = (0..w)
                    .filter(|&p| (wf.lo[p] as usize..wf.hi[p] as usize).contains(&bin))
                    .collect();
                assert!(!lit.is_empty());
                assert_eq!(lit, want, "n {n} w {w} bin {bin}");
            }
        }
    }

    #[test]
    fn a_simulated_tone_lands_on_its_pixel() {
        let fs = 2.4e6;
        let f0 = 300e3;
        let rec = simulate(&SimConfig {
            duration_s: 0.05,
            emitters: vec![EmitterSpec {
                start_s: 0.0,
                duration_s: 0.05,
                center_hz: f0,
                bandwidth_hz: 1e3,
                snr_db: 20.0,
                params: WaveformParams::Cw,
                channel: ChannelSpec::default(),
            }],
            ..SimConfig::default()
        });
        let stft_cfg = StftConfig::default();
        let mut stft = Stft::new(&stft_cfg);
        let hop_s = stft_cfg.hop as f64 / fs;
        let mut wf = Waterfall::new(&WaterfallConfig::default(), stft.nfft(), hop_s);
        let mut rows: Vec<WaterfallRow> = Vec::new();
        stft.push(&rec.samples, |i, p| rows.extend(wf.push(i, p)));
        rows.extend(wf.flush());
        let bin = (f0 / fs * 4096.0) as usize + 2048;
        let pixel = bin * 1024 / 4096;
        for r in &rows {
            let peak = (0..r.values.len()).max_by_key(|&p| r.values[p]);
            assert_eq!(peak, Some(pixel));
        }
        assert!(!rows.is_empty());
    }

    #[test]
    fn problems_name_bad_settings() {
        assert!(WaterfallConfig::default().problems().is_empty());
        let bad = WaterfallConfig {
            width: 8,
            rows_per_s: 0.0,
            db_min: 0.0,
            db_max: 0.0,
        };
        let keys: Vec<_> = bad.problems().into_iter().map(|p| p.0).collect();
        assert_eq!(keys, ["width", "rows_per_s", "db_max"]);
    }
}
