//! Scoring detections against ground truth: which emissions were found (a box overlapping
//! the truth in time and frequency), which boxes are false, and how far the edges are off.

use super::Emission;
use super::analyzer::TfBox;

/// How one truth emission fared.
#[derive(Clone, Debug, PartialEq)]
pub struct TruthMatch {
    /// The emission.
    pub truth: Emission,
    /// Index of the best overlapping box, if any.
    pub found: Option<usize>,
}

/// The score of a set of boxes against a set of truths.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Score {
    /// Per truth.
    pub matches: Vec<TruthMatch>,
    /// Boxes overlapping no truth.
    pub false_boxes: Vec<usize>,
}

fn overlap(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.1.min(b.1) - a.0.max(b.0)).max(0.0)
}

impl Score {
    /// Matches `boxes` to `truths`: a truth is found by the box with the largest
    /// time×frequency overlap (any positive overlap counts).
    pub fn of(truths: &[Emission], boxes: &[TfBox]) -> Self {
        let mut used = vec![false; boxes.len()];
        let matches = truths
            .iter()
            .map(|t| {
                let best = boxes
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        let ov = overlap((t.start_s, t.stop_s), (b.start_s, b.stop_s))
                            * overlap((t.freq_lo_hz, t.freq_hi_hz), (b.freq_lo_hz, b.freq_hi_hz));
                        (i, ov)
                    })
                    .filter(|(_, ov)| *ov > 0.0)
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(i, _)| i);
                if let Some(i) = best {
                    used[i] = true;
                }
                TruthMatch {
                    truth: t.clone(),
                    found: best,
                }
            })
            .collect();
        // A box that overlaps any truth is not false, even if another box matched better.
        let false_boxes = (0..boxes.len())
            .filter(|&i| {
                !used[i]
                    && !truths.iter().any(|t| {
                        overlap((t.start_s, t.stop_s), (boxes[i].start_s, boxes[i].stop_s)) > 0.0
                            && overlap(
                                (t.freq_lo_hz, t.freq_hi_hz),
                                (boxes[i].freq_lo_hz, boxes[i].freq_hi_hz),
                            ) > 0.0
                    })
            })
            .collect();
        Self {
            matches,
            false_boxes,
        }
    }

    /// Share of truths found.
    pub fn detection_rate(&self) -> f64 {
        if self.matches.is_empty() {
            return 1.0;
        }
        self.matches.iter().filter(|m| m.found.is_some()).count() as f64 / self.matches.len() as f64
    }
}

/// Edge errors of a matched box: (start, stop) in seconds, (lo, hi) in hertz.
pub fn edge_errors(truth: &Emission, b: &TfBox) -> (f64, f64, f64, f64) {
    (
        (b.start_s - truth.start_s).abs(),
        (b.stop_s - truth.stop_s).abs(),
        (b.freq_lo_hz - truth.freq_lo_hz).abs(),
        (b.freq_hi_hz - truth.freq_hi_hz).abs(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(t0: f64, t1: f64, f0: f64, f1: f64) -> Emission {
        Emission {
            start_s: t0,
            stop_s: t1,
            freq_lo_hz: f0,
            freq_hi_hz: f1,
            label: "cw".into(),
            snr_db: None,
        }
    }

    fn tfbox(t0: f64, t1: f64, f0: f64, f1: f64) -> TfBox {
        TfBox::spanning(t0, t1, f0, f1)
    }

    #[test]
    fn overlap_in_both_dimensions_is_needed() {
        let truths = [truth(0.0, 1.0, 0.0, 100.0), truth(2.0, 3.0, 0.0, 100.0)];
        let boxes = [
            tfbox(0.5, 1.5, 50.0, 60.0),
            tfbox(2.5, 2.6, 200.0, 300.0),
            tfbox(5.0, 6.0, 0.0, 10.0),
        ];
        let s = Score::of(&truths, &boxes);
        assert_eq!(s.matches[0].found, Some(0));
        assert_eq!(
            s.matches[1].found, None,
            "time overlaps but frequency does not"
        );
        assert_eq!(s.false_boxes, vec![1, 2]);
        assert_eq!(s.detection_rate(), 0.5);
        let (a, b, c, d) = edge_errors(&truths[0], &boxes[0]);
        assert_eq!((a, b, c, d), (0.5, 0.5, 50.0, 40.0));
    }
}
