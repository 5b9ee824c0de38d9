//! [`StageActor`]: the one actor shell every pipeline stage runs in. The stage's logic is a
//! sans-IO [`Stage`] fed inputs and time; the shell feeds it and pushes what it returns.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use super::link::{Outlet, PushError, StageMsg};
use crate::store::now_us;

/// A pipeline stage's logic: no I/O, no clocks of its own.
pub trait Stage: Send + 'static {
    /// What it consumes.
    type In: Send + 'static;
    /// What it produces.
    type Out: Send + 'static;

    /// How often it wants [`Stage::on_tick`], if at all.
    fn tick_every(&self) -> Option<Duration> {
        None
    }

    /// Consumes one input at `now_us`.
    fn on_input(&mut self, input: Self::In, now_us: u64) -> Vec<Self::Out>;

    /// Time passed.
    fn on_tick(&mut self, _now_us: u64) -> Vec<Self::Out> {
        Vec::new()
    }

    /// The stage stops in order (drain): flush what it holds.
    fn on_stop(&mut self, _now_us: u64) -> Vec<Self::Out> {
        Vec::new()
    }
}

/// Builds a fresh stage core (on start and on every restart).
pub type StageFactory<S> = Arc<dyn Fn() -> S + Send + Sync>;

/// Arguments of a [`StageActor`].
pub struct StageArgs<S: Stage, O> {
    /// Stage name for logs, e.g. `hr-1/batcher`.
    pub name: String,
    /// Makes the core.
    pub make: StageFactory<S>,
    /// Where outputs go.
    pub outlet: O,
}

/// State of a [`StageActor`].
pub struct StageState<S, O> {
    name: String,
    core: S,
    outlet: O,
}

/// The actor shell of a stage.
pub struct StageActor<S, O>(PhantomData<fn() -> (S, O)>);

impl<S, O> Default for StageActor<S, O> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

async fn emit<T, O: Outlet<T>>(name: &str, outlet: &O, outs: Vec<T>) {
    for out in outs {
        match outlet.push(out).await {
            Ok(()) => {}
            // Counted by the link; logging each one would flood a constrained node.
            Err(e @ PushError::Full(_)) => {
                tracing::trace!(stage = %name, error = %e, "output dropped")
            }
            Err(e) => tracing::warn!(stage = %name, error = %e, "output not delivered"),
        }
    }
}

impl<S: Stage, O: Outlet<S::Out>> Actor for StageActor<S, O> {
    type Msg = StageMsg<S::In>;
    type State = StageState<S, O>;
    type Arguments = StageArgs<S, O>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let core = (args.make)();
        if let Some(every) = core.tick_every() {
            // First tick now, then periodically.
            let _ = myself.cast(StageMsg::Tick);
            myself.send_interval(every, || StageMsg::Tick);
        }
        Ok(StageState {
            name: args.name,
            core,
            outlet: args.outlet,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            StageMsg::Input(item, credit) => {
                let outs = state.core.on_input(item, now_us());
                emit(&state.name, &state.outlet, outs).await;
                // The credit returns only now: a blocked outlet keeps this queue full.
                drop(credit);
            }
            StageMsg::Tick => {
                let outs = state.core.on_tick(now_us());
                emit(&state.name, &state.outlet, outs).await;
            }
            StageMsg::Crash(reason) => panic!("{}: injected fault: {reason}", state.name),
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let outs = state.core.on_stop(now_us());
        emit(&state.name, &state.outlet, outs).await;
        Ok(())
    }
}
