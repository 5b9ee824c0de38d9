//! A sensor's pipeline plan: its stages, added as supervised children in consumer-first
//! order, and handles to drain them in pipeline order or inject a fault by name.

use std::sync::Arc;

use ractor::ActorCell;

use super::actor::StageName;
use crate::pipeline::{Stage, StageActor, StageArgs, StageFactory, StageMsg};
use crate::supervision::{Children, Slot};

/// A running stage, whatever its message type.
pub struct StageHandle {
    /// Its name.
    pub name: StageName,
    cell: Box<dyn Fn() -> Option<ActorCell> + Send + Sync>,
    crash: Box<dyn Fn() -> bool + Send + Sync>,
}

impl StageHandle {
    /// A handle from how to find the current incarnation and how to crash it.
    pub fn new(
        name: StageName,
        cell: impl Fn() -> Option<ActorCell> + Send + Sync + 'static,
        crash: impl Fn() -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            name,
            cell: Box::new(cell),
            crash: Box::new(crash),
        }
    }

    /// The current incarnation.
    pub fn cell(&self) -> Option<ActorCell> {
        (self.cell)()
    }

    /// Makes it panic inside `handle`; false when it is not running.
    pub fn crash(&self) -> bool {
        (self.crash)()
    }
}

/// Adds stage `S` (fed through `slot`, sending to `outlet`) as a child; returns its handle.
pub fn add_stage<S, O>(
    children: &mut Children,
    name: StageName,
    label: String,
    slot: Slot<StageMsg<S::In>>,
    make: StageFactory<S>,
    outlet: O,
) -> StageHandle
where
    S: Stage,
    O: crate::pipeline::Outlet<S::Out>,
{
    let args_label = label.clone();
    children.add_actor(
        label,
        slot.clone(),
        StageActor::<S, O>::default,
        move || StageArgs {
            name: args_label.clone(),
            make: make.clone(),
            outlet: outlet.clone(),
        },
    );
    let (s1, s2) = (slot.clone(), slot);
    StageHandle {
        name,
        cell: Box::new(move || s1.current().map(|a| a.get_cell())),
        crash: Box::new(move || {
            s2.current()
                .is_some_and(|a| a.cast(StageMsg::Crash("requested".into())).is_ok())
        }),
    }
}

/// Shorthand for a factory from a closure.
pub fn factory<S: Stage>(f: impl Fn() -> S + Send + Sync + 'static) -> StageFactory<S> {
    Arc::new(f)
}
