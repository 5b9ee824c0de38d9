//! IQ handed in by an adapter (the ingest socket of a remote SDR): [`IqInlets`] is where an
//! adapter finds the sensor's inlet, [`IqInlet`] the source actor that turns the IQ01 frames
//! it is handed into IQ windows for the detector. The bounded hand-over is the backpressure:
//! a full inlet makes the adapter wait, and it stops reading from the device.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use ractor::{Actor, ActorProcessingErr, ActorRef, Message};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::iq01_tcp::Iq01Framer;
use super::source::IqWindow;
use crate::dsp::Iq01Frame;
use crate::model::SensorId;
use crate::pipeline::{Link, Outlet};

/// Frames an inlet holds before the adapter has to wait.
const INLET_DEPTH: usize = 8;

/// Why a frame was not taken.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InletError {
    /// No sensor here takes IQ from adapters under that id.
    #[error("sensor {0} takes no IQ here (it must be an sdr sensor with source type \"ingest\")")]
    NoInlet(String),
    /// The frame is not IQ01.
    #[error("IQ01 frame: {0}")]
    Frame(String),
    /// The sensor's pipeline is restarting or gone.
    #[error("sensor {0} is not running")]
    Closed(String),
}

/// The inlets of this node's ingest-fed SDR sensors.
#[derive(Debug, Default)]
pub struct IqInlets {
    open: Mutex<BTreeMap<SensorId, mpsc::Sender<Vec<u8>>>>,
}

impl IqInlets {
    fn open(&self, sensor: &SensorId) -> mpsc::Receiver<Vec<u8>> {
        let (tx, rx) = mpsc::channel(INLET_DEPTH);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.insert(sensor.clone(), tx);
        rx
    }

    fn close(&self, sensor: &SensorId) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.remove(sensor);
    }

    /// Whether `sensor` takes IQ from adapters now.
    pub fn takes(&self, sensor: &SensorId) -> bool {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.contains_key(sensor)
    }

    /// Hands one IQ01 frame to `sensor`'s pipeline, waiting while its inlet is full. The
    /// frame is checked first, so a bad one is refused here with the reason.
    pub async fn push(&self, sensor: &SensorId, frame: Vec<u8>) -> Result<(), InletError> {
        Iq01Frame::decode(&frame).map_err(|e| InletError::Frame(e.to_string()))?;
        let tx = {
            let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
            open.get(sensor).cloned()
        }
        .ok_or_else(|| InletError::NoInlet(sensor.to_string()))?;
        tx.send(frame)
            .await
            .map_err(|_| InletError::Closed(sensor.to_string()))
    }
}

/// Messages of an [`IqInlet`] (none: it runs on its own).
pub enum IqInletMsg {}

impl Message for IqInletMsg {}

/// Arguments of an [`IqInlet`].
pub struct IqInletArgs {
    /// Its sensor.
    pub sensor: SensorId,
    /// Where adapters find it.
    pub inlets: Arc<IqInlets>,
    /// Where windows go (the detector).
    pub out: Link<IqWindow>,
}

/// State: the task moving frames to the detector.
pub struct IqInletState {
    sensor: SensorId,
    inlets: Arc<IqInlets>,
    task: JoinHandle<()>,
}

/// The source stage of an ingest-fed SDR sensor.
pub struct IqInlet;

impl Actor for IqInlet {
    type Msg = IqInletMsg;
    type State = IqInletState;
    type Arguments = IqInletArgs;

    async fn pre_start(
        &self,
        _me: ActorRef<Self::Msg>,
        args: IqInletArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let mut frames = args.inlets.open(&args.sensor);
        let out = args.out;
        let task = tokio::spawn(async move {
            let mut framer = Iq01Framer::default();
            while let Some(bytes) = frames.recv().await {
                // Checked by `push`; a frame that still fails is skipped.
                let Ok(frame) = Iq01Frame::decode(&bytes) else {
                    continue;
                };
                if out.push(framer.window(&frame)).await.is_err() {
                    return;
                }
            }
        });
        Ok(IqInletState {
            sensor: args.sensor,
            inlets: args.inlets,
            task,
        })
    }

    async fn post_stop(
        &self,
        _me: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.inlets.close(&state.sensor);
        state.task.abort();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_reach_an_open_inlet_and_bad_ones_are_refused_with_the_reason() {
        let inlets = IqInlets::default();
        let s = SensorId::new("sdr-remote").unwrap();
        let header = crate::dsp::Iq01Header {
            timestamp_us: 1,
            frame_index: 0,
            sample_count: 4,
            reserved: 0.0,
        };
        let frame = crate::dsp::encode_iq01(&header, &[crate::dsp::Complex32::new(0.5, -0.5); 4]);
        assert_eq!(
            inlets.push(&s, frame.clone()).await,
            Err(InletError::NoInlet("sdr-remote".into()))
        );
        let mut rx = inlets.open(&s);
        assert!(inlets.takes(&s));
        inlets.push(&s, frame.clone()).await.unwrap();
        assert_eq!(rx.recv().await.unwrap(), frame);
        let bad = inlets
            .push(&s, b"IQ01 but short".to_vec())
            .await
            .unwrap_err();
        assert!(matches!(bad, InletError::Frame(_)), "{bad}");
        inlets.close(&s);
        assert!(!inlets.takes(&s));
    }
}
