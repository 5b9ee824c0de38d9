//! IQ01 frames, the binary transport for IQ samples: a 24-byte little-endian header then
//! interleaved f32 I/Q pairs, decoded in place without copying the samples.

use super::Complex32;

/// The four bytes every IQ01 frame starts with.
pub const IQ01_MAGIC: [u8; 4] = *b"IQ01";
/// Header length, bytes: magic, timestamp (u64), frame index (u32), sample count (u32),
/// reserved (f32).
pub const IQ01_HEADER_LEN: usize = 24;
/// Bytes per sample: f32 I then f32 Q, little-endian.
pub const IQ01_SAMPLE_BYTES: usize = 8;
/// Largest sample count a frame may announce (a 32 MiB payload).
pub const IQ01_MAX_SAMPLES: u32 = 1 << 22;

/// Why bytes are not a valid IQ01 frame.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Iq01Error {
    /// The first four bytes are not `IQ01`.
    #[error("bad iq01 magic {0:02x?} (expected \"IQ01\")")]
    BadMagic([u8; 4]),
    /// Fewer bytes than a header.
    #[error("iq01 header needs {need} bytes, have {have}")]
    Short {
        /// Bytes needed.
        need: usize,
        /// Bytes given.
        have: usize,
    },
    /// The payload length does not match the header's sample count.
    #[error("iq01 header announces {count} samples but the payload is {payload_bytes} bytes")]
    CountMismatch {
        /// Samples announced by the header.
        count: u32,
        /// Payload bytes actually present.
        payload_bytes: usize,
    },
    /// The header announces more samples than allowed.
    #[error("iq01 header announces {count} samples, over the {max}-sample limit")]
    TooLarge {
        /// Samples announced by the header.
        count: u32,
        /// The limit ([`IQ01_MAX_SAMPLES`]).
        max: u32,
    },
}

/// The fixed-size part of an IQ01 frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Iq01Header {
    /// Time of the first sample, µs since the Unix epoch.
    pub timestamp_us: u64,
    /// Position of the frame in its stream.
    pub frame_index: u32,
    /// Samples in the payload.
    pub sample_count: u32,
    /// Reserved; carried as is.
    pub reserved: f32,
}

impl Iq01Header {
    /// Parses and checks the header at the start of `bytes` (magic and sample-count limit);
    /// bytes after the first 24 are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Self, Iq01Error> {
        let Some(h) = bytes.first_chunk::<IQ01_HEADER_LEN>() else {
            return Err(Iq01Error::Short {
                need: IQ01_HEADER_LEN,
                have: bytes.len(),
            });
        };
        let magic: [u8; 4] = field(h, 0);
        if magic != IQ01_MAGIC {
            return Err(Iq01Error::BadMagic(magic));
        }
        let header = Iq01Header {
            timestamp_us: u64::from_le_bytes(field(h, 4)),
            frame_index: u32::from_le_bytes(field(h, 12)),
            sample_count: u32::from_le_bytes(field(h, 16)),
            reserved: f32::from_le_bytes(field(h, 20)),
        };
        if header.sample_count > IQ01_MAX_SAMPLES {
            return Err(Iq01Error::TooLarge {
                count: header.sample_count,
                max: IQ01_MAX_SAMPLES,
            });
        }
        Ok(header)
    }

    /// The whole frame's length in bytes (header and payload).
    pub fn frame_len(&self) -> usize {
        IQ01_HEADER_LEN + IQ01_SAMPLE_BYTES * self.sample_count as usize
    }

    fn to_bytes(self) -> [u8; IQ01_HEADER_LEN] {
        let mut out = [0u8; IQ01_HEADER_LEN];
        out[0..4].copy_from_slice(&IQ01_MAGIC);
        out[4..12].copy_from_slice(&self.timestamp_us.to_le_bytes());
        out[12..16].copy_from_slice(&self.frame_index.to_le_bytes());
        out[16..20].copy_from_slice(&self.sample_count.to_le_bytes());
        out[20..24].copy_from_slice(&self.reserved.to_le_bytes());
        out
    }
}

/// `N` bytes of the header starting at `at` (constant offsets inside the 24 bytes).
fn field<const N: usize>(header: &[u8; IQ01_HEADER_LEN], at: usize) -> [u8; N] {
    std::array::from_fn(|i| header[at + i])
}

/// For stream framing: the total length of the frame whose first (at least 24) bytes are
/// `header`, so a reader can take the header and then exactly the rest.
pub fn frame_len(header: &[u8]) -> Result<usize, Iq01Error> {
    Iq01Header::parse(header).map(|h| h.frame_len())
}

/// A decoded IQ01 frame borrowing its samples from the received buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Iq01Frame<'a> {
    /// The header.
    pub header: Iq01Header,
    payload: &'a [u8],
}

impl<'a> Iq01Frame<'a> {
    /// Decodes one whole frame; `buf` must be exactly `24 + 8 * sample_count` bytes.
    pub fn decode(buf: &'a [u8]) -> Result<Self, Iq01Error> {
        let header = Iq01Header::parse(buf)?;
        let payload = buf.get(IQ01_HEADER_LEN..).unwrap_or_default();
        if payload.len() != IQ01_SAMPLE_BYTES * header.sample_count as usize {
            return Err(Iq01Error::CountMismatch {
                count: header.sample_count,
                payload_bytes: payload.len(),
            });
        }
        Ok(Iq01Frame { header, payload })
    }

    /// The raw payload: interleaved little-endian f32 I/Q.
    pub fn sample_bytes(&self) -> &'a [u8] {
        self.payload
    }

    /// The samples, decoded on the fly.
    pub fn samples(&self) -> impl ExactSizeIterator<Item = Complex32> + use<'a> {
        let (pairs, _) = self.payload.as_chunks::<IQ01_SAMPLE_BYTES>();
        pairs.iter().map(|b| {
            Complex32::new(
                f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                f32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            )
        })
    }
}

/// Encodes a frame; the header's `sample_count` is taken from `samples`.
///
/// # Panics
/// When `samples` holds more than [`IQ01_MAX_SAMPLES`] samples (a frame no reader would
/// accept); senders split their blocks well below that.
pub fn encode_iq01(header: &Iq01Header, samples: &[Complex32]) -> Vec<u8> {
    let count = u32::try_from(samples.len())
        .ok()
        .filter(|&n| n <= IQ01_MAX_SAMPLES);
    let Some(sample_count) = count else {
        panic!(
            "iq01 frame of {} samples is over the {IQ01_MAX_SAMPLES}-sample limit",
            samples.len()
        );
    };
    let header = Iq01Header {
        sample_count,
        ..*header
    };
    let mut out = Vec::with_capacity(header.frame_len());
    out.extend_from_slice(&header.to_bytes());
    for s in samples {
        out.extend_from_slice(&s.re.to_le_bytes());
        out.extend_from_slice(&s.im.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> Iq01Header {
        Iq01Header {
            timestamp_us: 1_700_000_000_123_456,
            frame_index: 42,
            sample_count: 0,
            reserved: 1.5,
        }
    }

    #[test]
    fn round_trip() {
        let samples: Vec<Complex32> = (0..5)
            .map(|i| Complex32::new(i as f32 * 0.25, -(i as f32)))
            .collect();
        let bytes = encode_iq01(&header(), &samples);
        assert_eq!(bytes.len(), 24 + 8 * 5);
        assert_eq!(frame_len(&bytes[..24]), Ok(bytes.len()));
        let frame = Iq01Frame::decode(&bytes).unwrap();
        assert_eq!(
            frame.header,
            Iq01Header {
                sample_count: 5,
                ..header()
            }
        );
        assert_eq!(frame.samples().len(), 5);
        assert_eq!(frame.samples().collect::<Vec<_>>(), samples);
        assert_eq!(frame.sample_bytes(), &bytes[24..]);
    }

    #[test]
    fn empty_frame_round_trips() {
        let bytes = encode_iq01(&header(), &[]);
        let frame = Iq01Frame::decode(&bytes).unwrap();
        assert_eq!(frame.header.sample_count, 0);
        assert_eq!(frame.samples().count(), 0);
    }

    #[test]
    fn bad_magic() {
        let mut bytes = encode_iq01(&header(), &[Complex32::new(1.0, 0.0)]);
        bytes[0] = b'X';
        let err = Iq01Frame::decode(&bytes).unwrap_err();
        assert_eq!(err, Iq01Error::BadMagic(*b"XQ01"));
        assert_eq!(frame_len(&bytes), Err(err.clone()));
        assert!(err.to_string().starts_with("bad iq01 magic"));
    }

    #[test]
    fn short_header() {
        let bytes = encode_iq01(&header(), &[]);
        let err = frame_len(&bytes[..23]).unwrap_err();
        assert_eq!(err, Iq01Error::Short { need: 24, have: 23 });
        assert_eq!(
            Iq01Frame::decode(&bytes[..3]).unwrap_err(),
            Iq01Error::Short { need: 24, have: 3 }
        );
        assert_eq!(err.to_string(), "iq01 header needs 24 bytes, have 23");
    }

    #[test]
    fn count_mismatch_both_ways() {
        let bytes = encode_iq01(&header(), &[Complex32::new(1.0, 2.0); 3]);
        let short = Iq01Frame::decode(&bytes[..bytes.len() - 1]).unwrap_err();
        assert_eq!(
            short,
            Iq01Error::CountMismatch {
                count: 3,
                payload_bytes: 23
            }
        );
        let mut long = bytes.clone();
        long.extend_from_slice(&[0; 8]);
        assert_eq!(
            Iq01Frame::decode(&long).unwrap_err(),
            Iq01Error::CountMismatch {
                count: 3,
                payload_bytes: 32
            }
        );
        assert_eq!(
            short.to_string(),
            "iq01 header announces 3 samples but the payload is 23 bytes"
        );
    }

    #[test]
    fn too_large() {
        let mut bytes = encode_iq01(&header(), &[]);
        bytes[16..20].copy_from_slice(&(IQ01_MAX_SAMPLES + 1).to_le_bytes());
        let err = frame_len(&bytes).unwrap_err();
        assert_eq!(
            err,
            Iq01Error::TooLarge {
                count: IQ01_MAX_SAMPLES + 1,
                max: IQ01_MAX_SAMPLES
            }
        );
        assert_eq!(Iq01Frame::decode(&bytes).unwrap_err(), err);
        bytes[16..20].copy_from_slice(&IQ01_MAX_SAMPLES.to_le_bytes());
        assert_eq!(frame_len(&bytes), Ok(24 + 8 * IQ01_MAX_SAMPLES as usize));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let _ = frame_len(&bytes);
            if let Ok(frame) = Iq01Frame::decode(&bytes) {
                prop_assert_eq!(frame.samples().count(), frame.header.sample_count as usize);
            }
        }

        #[test]
        fn header_prefixed_bytes_never_panic(
            count in 0u32..64,
            tail in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let mut bytes = encode_iq01(&header(), &[]);
            bytes[16..20].copy_from_slice(&count.to_le_bytes());
            bytes.extend_from_slice(&tail);
            prop_assert_eq!(frame_len(&bytes), Ok(24 + 8 * count as usize));
            let decoded = Iq01Frame::decode(&bytes);
            prop_assert_eq!(decoded.is_ok(), tail.len() == 8 * count as usize);
        }

        #[test]
        fn samples_round_trip(
            pairs in proptest::collection::vec((any::<f32>(), any::<f32>()), 0..64),
            ts in any::<u64>(),
            index in any::<u32>(),
        ) {
            let samples: Vec<Complex32> = pairs.iter().map(|&(i, q)| Complex32::new(i, q)).collect();
            let h = Iq01Header { timestamp_us: ts, frame_index: index, ..Default::default() };
            let bytes = encode_iq01(&h, &samples);
            let frame = Iq01Frame::decode(&bytes).unwrap();
            prop_assert_eq!(frame.header.timestamp_us, ts);
            prop_assert_eq!(frame.header.frame_index, index);
            let back: Vec<Complex32> = frame.samples().collect();
            prop_assert_eq!(back.len(), samples.len());
            for (a, b) in back.iter().zip(&samples) {
                prop_assert_eq!(a.re.to_bits(), b.re.to_bits());
                prop_assert_eq!(a.im.to_bits(), b.im.to_bits());
            }
        }
    }
}
