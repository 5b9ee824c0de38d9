//! Time-frequency tiles: a rectangle of STFT rows and bins as u8 dB codes with their own
//! offset and scale, and a compact binary form (`TFT1`) to store or ship as an artifact.

use std::ops::Range;

use thiserror::Error;

/// Magic of an encoded tile.
pub const TILE_MAGIC: [u8; 4] = *b"TFT1";

/// Bytes before the data of an encoded tile.
pub const TILE_HEADER_LEN: usize = 32;

/// dB of a power ≤ 0 or NaN, and the clamp of every level: keeps offset and scale finite.
const DB_FLOOR: f32 = -300.0;
const DB_CEIL: f32 = 300.0;

/// Rows × bins of quantized dB. Code `c` of cell `(r, b)` stands for
/// `db_offset + c·db_scale` dB, within `db_scale/2` of the level it was made from.
#[derive(Clone, Debug, PartialEq)]
pub struct TfTile {
    /// STFT row of the tile's first row.
    pub t0_row: u64,
    /// Rows.
    pub rows: u32,
    /// First bin (fft-shifted index in the STFT row).
    pub bin_lo: u32,
    /// Bins per row.
    pub bins: u32,
    /// dB of code 0 (the tile's minimum).
    pub db_offset: f32,
    /// dB per code (the tile's span / 255; 0 for a flat tile).
    pub db_scale: f32,
    /// `rows × bins` codes, row-major.
    pub data: Vec<u8>,
}

/// Why a tile cannot be made or decoded.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TileError {
    /// No rows or no bins.
    #[error("a tile needs at least one row and one bin")]
    Empty,
    /// The bin range does not fit every row.
    #[error("bins {lo}..{hi} do not fit a row of {len}")]
    BinRange {
        /// First bin asked for.
        lo: usize,
        /// One past the last.
        hi: usize,
        /// Length of the (shortest) row.
        len: usize,
    },
    /// More rows or bins than the format holds.
    #[error("tile too large")]
    TooLarge,
    /// Fewer bytes than the header.
    #[error("truncated tile: {0} bytes")]
    Truncated(usize),
    /// Not a `TFT1` tile.
    #[error("not a TFT1 tile")]
    Magic,
    /// The data length disagrees with the header's rows × bins.
    #[error("tile data is {got} bytes, header says {want}")]
    Size {
        /// Bytes the header implies.
        want: u64,
        /// Bytes present.
        got: u64,
    },
    /// Offset or scale not finite, scale negative, or bins overflowing u32.
    #[error("bad tile header")]
    Header,
}

fn level_db(p: f32) -> f32 {
    let db = 10.0 * p.log10();
    if db.is_nan() {
        DB_FLOOR
    } else {
        db.clamp(DB_FLOOR, DB_CEIL)
    }
}

impl TfTile {
    /// A tile of bins `bins` of STFT power rows (linear, as [`super::stft::Stft`] gives
    /// them) starting at STFT row `t0_row`. Offset and scale span the tile's own minimum
    /// and maximum dB, so codes 0 and 255 are both used (unless the tile is flat).
    pub fn from_rows(
        rows: &[Vec<f32>],
        bins: Range<usize>,
        t0_row: u64,
    ) -> Result<Self, TileError> {
        let len = rows.iter().map(Vec::len).min().unwrap_or(0);
        Self::build(
            rows.iter().map(Vec::as_slice),
            rows.len(),
            len,
            bins,
            t0_row,
        )
    }

    /// As [`Self::from_rows`], from row-major power of rows of `nbins` (trailing partial
    /// row ignored).
    pub fn from_slice(
        power: &[f32],
        nbins: usize,
        bins: Range<usize>,
        t0_row: u64,
    ) -> Result<Self, TileError> {
        if nbins == 0 {
            return Err(TileError::Empty);
        }
        let rows = power.chunks_exact(nbins);
        let n = rows.len();
        Self::build(rows, n, nbins, bins, t0_row)
    }

    fn build<'a>(
        rows: impl Iterator<Item = &'a [f32]> + Clone,
        nrows: usize,
        len: usize,
        bins: Range<usize>,
        t0_row: u64,
    ) -> Result<Self, TileError> {
        if nrows == 0 || bins.is_empty() {
            return Err(TileError::Empty);
        }
        if bins.end > len {
            return Err(TileError::BinRange {
                lo: bins.start,
                hi: bins.end,
                len,
            });
        }
        let (Ok(nr), Ok(lo), Ok(nb)) = (
            u32::try_from(nrows),
            u32::try_from(bins.start),
            u32::try_from(bins.len()),
        ) else {
            return Err(TileError::TooLarge);
        };
        lo.checked_add(nb).ok_or(TileError::TooLarge)?;
        let (mut min, mut max) = (f32::INFINITY, f32::NEG_INFINITY);
        for row in rows.clone() {
            for &p in &row[bins.clone()] {
                let db = level_db(p);
                min = min.min(db);
                max = max.max(db);
            }
        }
        let scale = (max - min) / 255.0;
        let mut data = Vec::with_capacity(nrows * bins.len());
        for row in rows {
            data.extend(row[bins.clone()].iter().map(|&p| {
                if scale > 0.0 {
                    ((level_db(p) - min) / scale).round().clamp(0.0, 255.0) as u8
                } else {
                    0
                }
            }));
        }
        Ok(Self {
            t0_row,
            rows: nr,
            bin_lo: lo,
            bins: nb,
            db_offset: min,
            db_scale: scale,
            data,
        })
    }

    /// dB of cell `(r, b)`, both counted from the tile's corner; NaN outside the tile.
    pub fn value_db(&self, r: usize, b: usize) -> f32 {
        if r >= self.rows as usize || b >= self.bins as usize {
            return f32::NAN;
        }
        match self.data.get(r * self.bins as usize + b) {
            Some(&c) => self.db_offset + f32::from(c) * self.db_scale,
            None => f32::NAN,
        }
    }

    /// `TFT1` bytes: magic, then little-endian `t0_row` u64, `rows` u32, `bin_lo` u32,
    /// `bins` u32, `db_offset` f32, `db_scale` f32 (32 bytes in all), then the codes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(TILE_HEADER_LEN + self.data.len());
        out.extend_from_slice(&TILE_MAGIC);
        out.extend_from_slice(&self.t0_row.to_le_bytes());
        out.extend_from_slice(&self.rows.to_le_bytes());
        out.extend_from_slice(&self.bin_lo.to_le_bytes());
        out.extend_from_slice(&self.bins.to_le_bytes());
        out.extend_from_slice(&self.db_offset.to_le_bytes());
        out.extend_from_slice(&self.db_scale.to_le_bytes());
        out.extend_from_slice(&self.data);
        out
    }

    /// Parses [`Self::encode`]'s bytes, checking the magic, the header and the size.
    pub fn decode(bytes: &[u8]) -> Result<Self, TileError> {
        let Some((head, data)) = bytes.split_first_chunk::<TILE_HEADER_LEN>() else {
            return Err(TileError::Truncated(bytes.len()));
        };
        if head[..4] != TILE_MAGIC {
            return Err(TileError::Magic);
        }
        let word = |i: usize| [head[i], head[i + 1], head[i + 2], head[i + 3]];
        let mut t0 = [0; 8];
        t0.copy_from_slice(&head[4..12]);
        let tile = Self {
            t0_row: u64::from_le_bytes(t0),
            rows: u32::from_le_bytes(word(12)),
            bin_lo: u32::from_le_bytes(word(16)),
            bins: u32::from_le_bytes(word(20)),
            db_offset: f32::from_le_bytes(word(24)),
            db_scale: f32::from_le_bytes(word(28)),
            data: Vec::new(),
        };
        if tile.rows == 0 || tile.bins == 0 {
            return Err(TileError::Empty);
        }
        if !(tile.db_offset.is_finite() && tile.db_scale.is_finite() && tile.db_scale >= 0.0)
            || tile.bin_lo.checked_add(tile.bins).is_none()
        {
            return Err(TileError::Header);
        }
        let want = u64::from(tile.rows) * u64::from(tile.bins);
        if want != data.len() as u64 {
            return Err(TileError::Size {
                want,
                got: data.len() as u64,
            });
        }
        Ok(Self {
            data: data.to_vec(),
            ..tile
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::sim::{SimConfig, scenario, simulate};
    use crate::dsp::stft::{Stft, StftConfig};
    use proptest::prelude::*;

    fn spectrogram(seconds: f64) -> (Vec<Vec<f32>>, usize) {
        let cfg: SimConfig = scenario("mixed", 3, seconds).expect("scenario");
        let rec = simulate(&cfg);
        let mut stft = Stft::new(&StftConfig {
            nfft: 512,
            hop: 512,
            ..StftConfig::default()
        });
        let mut rows = Vec::new();
        stft.push(&rec.samples, |_, p| rows.push(p.to_vec()));
        (rows, 512)
    }

    #[test]
    fn quantization_error_is_at_most_half_a_step_and_uses_the_full_range() {
        let (rows, n) = spectrogram(0.1);
        let tile = TfTile::from_rows(&rows[10..74], 100..400, 10).expect("tile");
        assert_eq!(
            (tile.rows, tile.bin_lo, tile.bins, tile.t0_row),
            (64, 100, 300, 10)
        );
        assert_eq!(tile.data.len(), 64 * 300);
        assert_eq!(tile.data.iter().min(), Some(&0));
        assert_eq!(tile.data.iter().max(), Some(&255));
        assert!(tile.db_scale > 0.0);
        for r in 0..64 {
            for b in 0..300 {
                let want = 10.0 * rows[10 + r][100 + b].log10();
                let err = (tile.value_db(r, b) - want).abs();
                assert!(err <= tile.db_scale / 2.0 + 1e-4, "({r}, {b}): {err}");
            }
        }
        assert!(tile.value_db(64, 0).is_nan() && tile.value_db(0, 300).is_nan());
        // The same from a row-major slice.
        let flat: Vec<f32> = rows[10..74].iter().flatten().copied().collect();
        assert_eq!(TfTile::from_slice(&flat, n, 100..400, 10), Ok(tile));
    }

    #[test]
    fn flat_zero_and_bad_input_tiles() {
        let flat = TfTile::from_rows(&vec![vec![0.5; 8]; 3], 2..6, 0).expect("tile");
        assert_eq!((flat.db_scale, flat.data.clone()), (0.0, vec![0; 12]));
        assert!((flat.value_db(2, 3) - 10.0 * 0.5f32.log10()).abs() < 1e-6);
        let odd =
            TfTile::from_rows(&[vec![0.0, f32::NAN, f32::INFINITY, 1.0]], 0..4, 0).expect("tile");
        assert!(odd.db_offset.is_finite() && odd.db_scale.is_finite());
        assert_eq!(odd.data[..3], [0, 0, 255]);
        assert_eq!(TfTile::from_rows(&[], 0..4, 0), Err(TileError::Empty));
        assert_eq!(
            TfTile::from_rows(&[vec![1.0; 4]], 2..2, 0),
            Err(TileError::Empty)
        );
        assert_eq!(
            TfTile::from_rows(&[vec![1.0; 8], vec![1.0; 4]], 2..6, 0),
            Err(TileError::BinRange {
                lo: 2,
                hi: 6,
                len: 4
            })
        );
        assert_eq!(
            TfTile::from_slice(&[1.0; 8], 0, 0..1, 0),
            Err(TileError::Empty)
        );
    }

    #[test]
    fn encode_decode_round_trips_and_checks_sizes() {
        let (rows, _) = spectrogram(0.05);
        let tile = TfTile::from_rows(&rows[..20], 0..512, 77).expect("tile");
        let bytes = tile.encode();
        assert_eq!(&bytes[..4], b"TFT1");
        assert_eq!(bytes.len(), TILE_HEADER_LEN + 20 * 512);
        assert_eq!(TfTile::decode(&bytes), Ok(tile));
        assert_eq!(
            TfTile::decode(&bytes[..bytes.len() - 1]),
            Err(TileError::Size {
                want: 20 * 512,
                got: 20 * 512 - 1
            })
        );
        assert_eq!(TfTile::decode(&bytes[..31]), Err(TileError::Truncated(31)));
        let mut bad = bytes.clone();
        bad[3] = b'2';
        assert_eq!(TfTile::decode(&bad), Err(TileError::Magic));
        let mut bad = bytes;
        bad[28..32].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(TfTile::decode(&bad), Err(TileError::Header));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = TfTile::decode(&bytes);
            // A valid header with garbage after it either fits exactly or is rejected.
            let mut b = TILE_MAGIC.to_vec();
            b.extend_from_slice(&bytes);
            if let Ok(t) = TfTile::decode(&b) {
                prop_assert_eq!(t.data.len() as u64, u64::from(t.rows) * u64::from(t.bins));
                prop_assert_eq!(t.encode(), b);
            }
        }

        #[test]
        fn any_power_quantizes_within_half_a_step(
            p in proptest::collection::vec(1e-12f32..1e6, 1..200),
            nbins in 1usize..20,
        ) {
            let tile = TfTile::from_slice(&p, nbins, 0..nbins, 5);
            let rows = p.len() / nbins;
            prop_assert_eq!(tile.is_ok(), rows > 0);
            if let Ok(t) = tile {
                for r in 0..rows {
                    for b in 0..nbins {
                        let want = 10.0 * p[r * nbins + b].log10();
                        prop_assert!((t.value_db(r, b) - want).abs() <= t.db_scale / 2.0 + 1e-3);
                    }
                }
            }
        }
    }
}
