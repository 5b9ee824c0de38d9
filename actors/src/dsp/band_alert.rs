//! Band alerts: what the constrained-mode band-energy detector reports, and their fixed
//! 12-byte wire form (every 12-byte input decodes to a valid alert; other lengths are errors).

use thiserror::Error;

/// Bytes of an encoded [`BandAlert`].
pub const ALERT_LEN: usize = 12;

/// A band whose energy rose above its baseline: plain data, 12 bytes on the wire.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BandAlert {
    /// The band's id.
    pub band_id: u16,
    /// Band level over its baseline at the event's peak, dB.
    pub delta_db: f32,
    /// How long the band stayed up, ms (≥ 1 when the event ended; 0 for an onset alert).
    pub duration_ms: u32,
    /// 0..=255 from the margin over the threshold and the duration.
    pub confidence: u8,
    /// Start of the event, µs (the time base of [`BandEnergyDetector::push`]).
    pub ts_us: u64,
}

/// Why bytes are not a [`BandAlert`].
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum BandAlertError {
    /// Not exactly [`ALERT_LEN`] bytes.
    #[error("a band alert is {ALERT_LEN} bytes, got {0}")]
    Length(usize),
}

/// Longest encodable duration, ms (`0xFFFF·2¹⁵`, ~24.8 days); longer ones saturate.
pub const MAX_DURATION_MS: u32 = 0xFFFF << 15;

/// dB per code of the encoded `delta_db`.
pub(crate) const DELTA_STEP_DB: f32 = 0.125;

impl BandAlert {
    /// True for an onset alert (the event is still open).
    pub fn is_onset(&self) -> bool {
        self.duration_ms == 0
    }

    /// Fixed 12-byte encoding: one little-endian 96-bit word holding, from bit 0, `band_id`
    /// (16 bits), `confidence` (8), `delta_db` in 1/8 dB (10 bits, 0..=127.875, saturating),
    /// `duration_ms` as `m·2^e` (20 bits: e 4, m 16 — exact below 65 536 ms, within 2⁻¹⁵
    /// above, saturating at [`MAX_DURATION_MS`]) and `ts_us` in whole ms (42 bits, to the year 2109).
    pub fn encode(&self) -> [u8; ALERT_LEN] {
        let delta = (self.delta_db / DELTA_STEP_DB).round().clamp(0.0, 1023.0) as u128;
        let d = self.duration_ms.min(MAX_DURATION_MS);
        let e = (32 - d.leading_zeros()).saturating_sub(16);
        let dur = u128::from((e << 16) | (d >> e));
        let ts_ms = u128::from((self.ts_us / 1000).min((1 << 42) - 1));
        let w = u128::from(self.band_id)
            | u128::from(self.confidence) << 16
            | delta << 24
            | dur << 34
            | ts_ms << 54;
        let mut out = [0; ALERT_LEN];
        out.copy_from_slice(&w.to_le_bytes()[..ALERT_LEN]);
        out
    }

    /// Parses [`Self::encode`]'s bytes; every 12-byte string is a valid alert.
    pub fn decode(bytes: &[u8]) -> Result<Self, BandAlertError> {
        let b: &[u8; ALERT_LEN] = bytes
            .try_into()
            .map_err(|_| BandAlertError::Length(bytes.len()))?;
        let mut w = [0; 16];
        w[..ALERT_LEN].copy_from_slice(b);
        let w = u128::from_le_bytes(w);
        let dur = (w >> 34) as u32 & 0xF_FFFF;
        Ok(Self {
            band_id: w as u16,
            confidence: (w >> 16) as u8,
            delta_db: ((w >> 24) as u32 & 0x3FF) as f32 * DELTA_STEP_DB,
            duration_ms: (dur & 0xFFFF) << (dur >> 16),
            ts_us: (w >> 54) as u64 * 1000,
        })
    }
}
