//! [`Children`]: the bookkeeping every supervisor shares — how to (re)spawn each child,
//! which cell is which child, and what the restart policy says when one fails.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, Message, SpawnErr, SupervisionEvent};

use super::Slot;

use super::policy::{RestartDecision, RestartPolicy, RestartTracker};
use crate::metrics::NodeMetrics;

/// Spawns a child linked to the given supervisor and returns its cell. It also refills
/// whatever [`super::Slot`] its users read.
pub type SpawnFn = Arc<
    dyn Fn(ActorCell) -> Pin<Box<dyn Future<Output = Result<ActorCell, SpawnErr>> + Send>>
        + Send
        + Sync,
>;

/// What a supervisor should do after a supervision event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildAction {
    /// Nothing (a start, a clean stop, an unknown actor, or we are stopping).
    Nothing,
    /// Restart child `index` after `after`.
    Restart {
        /// Child index.
        index: usize,
        /// Backoff.
        after: Duration,
    },
    /// Give up: fail the supervisor itself with this reason.
    Escalate(String),
}

/// Called when a child goes down, e.g. to empty its [`Slot`].
pub type DownFn = Arc<dyn Fn() + Send + Sync>;

struct Child {
    name: String,
    spawn: SpawnFn,
    on_down: Option<DownFn>,
    cell: Option<ActorCell>,
    tracker: RestartTracker,
}

/// A supervisor's children, in start order.
pub struct Children {
    owner: String,
    policy: RestartPolicy,
    metrics: Arc<NodeMetrics>,
    children: Vec<Child>,
    stopping: bool,
}

impl Children {
    /// No children yet; `owner` names the supervisor in logs.
    pub fn new(owner: impl Into<String>, policy: RestartPolicy, metrics: Arc<NodeMetrics>) -> Self {
        Self {
            owner: owner.into(),
            policy,
            metrics,
            children: Vec::new(),
            stopping: false,
        }
    }

    /// Adds a child (not started yet); returns its index.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        spawn: SpawnFn,
        on_down: Option<DownFn>,
    ) -> usize {
        self.children.push(Child {
            name: name.into(),
            spawn,
            on_down,
            cell: None,
            tracker: RestartTracker::new(self.policy.clone()),
        });
        self.children.len() - 1
    }

    /// Starts every child in order.
    pub async fn start_all(&mut self, supervisor: &ActorCell) -> Result<(), SpawnErr> {
        for i in 0..self.children.len() {
            self.start(i, supervisor).await?;
        }
        Ok(())
    }

    /// (Re)starts child `index`.
    pub async fn start(&mut self, index: usize, supervisor: &ActorCell) -> Result<(), SpawnErr> {
        let Some(child) = self.children.get_mut(index) else {
            return Ok(());
        };
        if self.stopping {
            return Ok(());
        }
        let cell = (child.spawn)(supervisor.clone()).await?;
        child.cell = Some(cell);
        Ok(())
    }

    /// Live children cells, in start order.
    pub fn cells(&self) -> impl Iterator<Item = &ActorCell> {
        self.children.iter().filter_map(|c| c.cell.as_ref())
    }

    /// From now on no child is restarted (orderly shutdown).
    pub fn set_stopping(&mut self) {
        self.stopping = true;
    }

    /// Adds an actor child whose current reference is kept in `slot`: every (re)start
    /// builds a fresh actor and arguments, spawns it linked, and refills the slot.
    pub fn add_actor<A, FA, FG>(
        &mut self,
        name: impl Into<String>,
        slot: Slot<A::Msg>,
        actor: FA,
        args: FG,
    ) -> usize
    where
        A: Actor,
        FA: Fn() -> A + Send + Sync + 'static,
        FG: Fn() -> A::Arguments + Send + Sync + 'static,
    {
        let fill = slot.clone();
        let factory = Arc::new((actor, args));
        let spawn: SpawnFn = Arc::new(move |sup: ActorCell| {
            let fill = fill.clone();
            let factory = factory.clone();
            Box::pin(async move {
                let (a, args) = ((factory.0)(), (factory.1)());
                let (actor, _) = A::spawn_linked(None, a, args, sup).await?;
                fill.set(actor.clone());
                Ok(actor.get_cell())
            })
        });
        self.add(name, spawn, Some(Arc::new(move || slot.clear())))
    }

    /// Handles a supervision event for `myself`: schedules a restart through `restart_msg`
    /// or returns the error that escalates to our own supervisor.
    pub fn handle_event<M: Message>(
        &mut self,
        event: &SupervisionEvent,
        myself: &ActorRef<M>,
        restart_msg: fn(usize) -> M,
    ) -> Result<(), ActorProcessingErr> {
        match self.on_event(event, Instant::now()) {
            ChildAction::Nothing => Ok(()),
            ChildAction::Restart { index, after } => {
                myself.send_after(after, move || restart_msg(index));
                Ok(())
            }
            ChildAction::Escalate(reason) => Err(reason.into()),
        }
    }

    /// Restarts child `index` now; a failure to spawn counts as a failure of that child.
    pub async fn restart(
        &mut self,
        index: usize,
        supervisor: &ActorCell,
    ) -> Result<(), ActorProcessingErr> {
        if let Err(e) = self.start(index, supervisor).await {
            let name = self
                .children
                .get(index)
                .map_or("?", |c| c.name.as_str())
                .to_string();
            return Err(format!("{}: could not restart {name}: {e}", self.owner).into());
        }
        Ok(())
    }

    /// Applies the restart policy to a supervision event.
    pub fn on_event(&mut self, event: &SupervisionEvent, now: Instant) -> ChildAction {
        let (who, failure) = match event {
            SupervisionEvent::ActorFailed(who, err) => (who, Some(err.to_string())),
            SupervisionEvent::ActorTerminated(who, _, _) => (who, None),
            _ => return ChildAction::Nothing,
        };
        let Some(index) = self
            .children
            .iter()
            .position(|c| c.cell.as_ref().is_some_and(|c| c.get_id() == who.get_id()))
        else {
            return ChildAction::Nothing;
        };
        let child = &mut self.children[index];
        child.cell = None;
        if let Some(down) = &child.on_down {
            down();
        }
        let Some(reason) = failure else {
            return ChildAction::Nothing;
        };
        if self.stopping {
            return ChildAction::Nothing;
        }
        match child.tracker.on_failure(now) {
            RestartDecision::Restart { after, attempt } => {
                self.metrics.record_restart();
                tracing::warn!(
                    supervisor = %self.owner, child = %child.name, attempt,
                    backoff_ms = after.as_millis() as u64, %reason,
                    "child failed; restarting"
                );
                ChildAction::Restart { index, after }
            }
            RestartDecision::Escalate { restarts_in_window } => {
                tracing::error!(
                    supervisor = %self.owner, child = %child.name, restarts_in_window, %reason,
                    "child keeps failing; escalating"
                );
                ChildAction::Escalate(format!(
                    "{}: child {} failed {} times within {} ms (last: {reason})",
                    self.owner, child.name, restarts_in_window, self.policy.window_ms
                ))
            }
        }
    }
}
