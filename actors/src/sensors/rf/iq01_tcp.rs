//! The live IQ01 source: an actor that listens on TCP and turns each peer's IQ01 frames into
//! IQ windows for the detector. Backpressure reaches the peer through TCP flow control; a
//! malformed frame ends that connection (framing is lost), never the node.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ractor::{Actor, ActorProcessingErr, ActorRef, Message};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::source::IqWindow;
use crate::dsp::iq01::IQ01_HEADER_LEN;
use crate::dsp::{Iq01Error, Iq01Frame, Iq01Header};
use crate::pipeline::{Link, Outlet};

/// Messages of the [`Iq01Listener`] (none needed from outside; it runs on its own).
pub enum Iq01ListenerMsg {}

impl Message for Iq01ListenerMsg {}

/// Arguments of the [`Iq01Listener`].
pub struct Iq01ListenerArgs {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Where windows go (the detector).
    pub out: Link<IqWindow>,
    /// Frames refused as malformed (shared with the node's counters).
    pub rejected: Arc<AtomicU64>,
}

/// State: the accept loop.
pub struct Iq01ListenerState {
    accept: JoinHandle<()>,
}

/// Listens for IQ01 peers.
pub struct Iq01Listener;

impl Actor for Iq01Listener {
    type Msg = Iq01ListenerMsg;
    type State = Iq01ListenerState;
    type Arguments = Iq01ListenerArgs;

    async fn pre_start(
        &self,
        _me: ActorRef<Self::Msg>,
        args: Iq01ListenerArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let listener = TcpListener::bind(args.bind)
            .await
            .map_err(|e| format!("IQ01 source: cannot listen on {}: {e}", args.bind))?;
        tracing::info!(addr = %args.bind, "IQ01 source listening");
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let (out, rejected) = (args.out.clone(), args.rejected.clone());
                tokio::spawn(async move {
                    match serve(stream, out).await {
                        Ok(frames) => tracing::info!(%peer, frames, "IQ01 peer closed"),
                        Err(e) => {
                            rejected.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(%peer, error = %e, "IQ01 peer dropped");
                        }
                    }
                });
            }
        });
        Ok(Iq01ListenerState { accept })
    }

    async fn post_stop(
        &self,
        _me: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.accept.abort();
        Ok(())
    }
}

/// Why a peer was dropped.
#[derive(Debug, thiserror::Error)]
pub enum Iq01StreamError {
    /// A frame did not decode.
    #[error("bad frame {index}: {source}")]
    Frame {
        /// Frames read before it.
        index: u64,
        /// What was wrong.
        source: Iq01Error,
    },
    /// The connection failed mid-frame.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// The detector is gone.
    #[error("pipeline unavailable")]
    Closed,
}

/// Reads frames until the peer closes; returns how many were read.
pub async fn serve(mut stream: TcpStream, out: Link<IqWindow>) -> Result<u64, Iq01StreamError> {
    let mut framer = Iq01Framer::default();
    let mut buf = vec![0u8; IQ01_HEADER_LEN];
    loop {
        buf.resize(IQ01_HEADER_LEN, 0);
        match stream.read_exact(&mut buf).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                // The peer hung up between frames: close the stream so open boxes report.
                out.push(framer.end())
                    .await
                    .map_err(|_| Iq01StreamError::Closed)?;
                return Ok(framer.frames);
            }
            Err(e) => return Err(e.into()),
        }
        let header = Iq01Header::parse(&buf).map_err(|source| Iq01StreamError::Frame {
            index: framer.frames,
            source,
        })?;
        buf.resize(header.frame_len(), 0);
        stream.read_exact(&mut buf[IQ01_HEADER_LEN..]).await?;
        let frame = Iq01Frame::decode(&buf).map_err(|source| Iq01StreamError::Frame {
            index: framer.frames,
            source,
        })?;
        let window = framer.window(&frame);
        out.push(window)
            .await
            .map_err(|_| Iq01StreamError::Closed)?;
    }
}

/// Turns frames into contiguous windows: the stream clock starts at the first frame's
/// timestamp, and a gap in frame indices restarts the sample count there.
#[derive(Debug, Default)]
pub struct Iq01Framer {
    frames: u64,
    start_us: Option<u64>,
    next_sample: u64,
    last_index: Option<u32>,
}

impl Iq01Framer {
    /// The window carrying `frame`'s samples.
    pub fn window(&mut self, frame: &Iq01Frame<'_>) -> IqWindow {
        let start = *self.start_us.get_or_insert(frame.header.timestamp_us);
        if let Some(last) = self.last_index
            && frame.header.frame_index != last.wrapping_add(1)
        {
            // Lost frames: jump the sample count so the detector restarts its IQ ring.
            self.next_sample += 1;
        }
        self.last_index = Some(frame.header.frame_index);
        self.frames += 1;
        let samples: Vec<_> = frame.samples().collect();
        let w = IqWindow {
            first_sample: self.next_sample,
            stream_start_us: start,
            samples: Arc::new(samples),
            truth: Vec::new(),
            last: false,
        };
        self.next_sample += w.samples.len() as u64;
        w
    }

    /// The empty window that ends the stream.
    pub fn end(&self) -> IqWindow {
        IqWindow {
            first_sample: self.next_sample,
            stream_start_us: self.start_us.unwrap_or(0),
            samples: Arc::new(Vec::new()),
            truth: Vec::new(),
            last: true,
        }
    }
}
