//! The one restart policy every supervisor uses, as a sans-IO tracker fed the time of each
//! failure: restart with exponential backoff, escalate after too many restarts in a window.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Restart policy settings (config section `[supervision]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestartPolicy {
    /// Restarts allowed within `window_ms`; one more escalates to the parent.
    pub max_restarts: u32,
    /// Sliding window for counting restarts, ms.
    pub window_ms: u64,
    /// Delay before the first restart, ms.
    pub backoff_initial_ms: u64,
    /// Largest delay between restarts, ms.
    pub backoff_max_ms: u64,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            max_restarts: 5,
            window_ms: 30_000,
            backoff_initial_ms: 50,
            backoff_max_ms: 5_000,
        }
    }
}

impl RestartPolicy {
    /// Problems with these settings, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if self.max_restarts == 0 || self.max_restarts > 1000 {
            out.push(("max_restarts", "must be in 1..=1000".into()));
        }
        if self.window_ms < 100 {
            out.push(("window_ms", "must be at least 100".into()));
        }
        if self.backoff_initial_ms > self.backoff_max_ms {
            out.push((
                "backoff_initial_ms",
                "must not exceed backoff_max_ms".into(),
            ));
        }
        out
    }
}

/// What to do about a failed child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartDecision {
    /// Restart it after `after`; this is restart number `attempt` in the window.
    Restart {
        /// Backoff before restarting.
        after: Duration,
        /// Restarts in the window including this one.
        attempt: u32,
    },
    /// Too many restarts in the window: fail upward.
    Escalate {
        /// Restarts counted in the window.
        restarts_in_window: u32,
    },
}

/// Tracks one child's recent failures under a [`RestartPolicy`].
#[derive(Clone, Debug)]
pub struct RestartTracker {
    policy: RestartPolicy,
    recent: VecDeque<Instant>,
}

impl RestartTracker {
    /// A tracker with no failures yet.
    pub fn new(policy: RestartPolicy) -> Self {
        Self {
            policy,
            recent: VecDeque::new(),
        }
    }

    /// Records a failure at `now` and decides.
    pub fn on_failure(&mut self, now: Instant) -> RestartDecision {
        let window = Duration::from_millis(self.policy.window_ms);
        while let Some(first) = self.recent.front() {
            if now.saturating_duration_since(*first) > window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() as u32 >= self.policy.max_restarts {
            return RestartDecision::Escalate {
                restarts_in_window: self.recent.len() as u32,
            };
        }
        self.recent.push_back(now);
        let attempt = self.recent.len() as u32;
        let factor = 1u64 << (attempt - 1).min(20);
        let after_ms = self
            .policy
            .backoff_initial_ms
            .saturating_mul(factor)
            .min(self.policy.backoff_max_ms);
        RestartDecision::Restart {
            after: Duration::from_millis(after_ms),
            attempt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RestartPolicy {
        RestartPolicy {
            max_restarts: 3,
            window_ms: 1_000,
            backoff_initial_ms: 10,
            backoff_max_ms: 25,
        }
    }

    #[test]
    fn backs_off_exponentially_then_escalates() {
        let mut t = RestartTracker::new(policy());
        let t0 = Instant::now();
        let after = |d| match d {
            RestartDecision::Restart { after, .. } => after.as_millis(),
            RestartDecision::Escalate { .. } => u128::MAX,
        };
        assert_eq!(after(t.on_failure(t0)), 10);
        assert_eq!(after(t.on_failure(t0)), 20);
        assert_eq!(after(t.on_failure(t0)), 25, "capped at backoff_max");
        assert_eq!(
            t.on_failure(t0),
            RestartDecision::Escalate {
                restarts_in_window: 3
            }
        );
    }

    #[test]
    fn old_failures_leave_the_window() {
        let mut t = RestartTracker::new(policy());
        let t0 = Instant::now();
        for _ in 0..3 {
            t.on_failure(t0);
        }
        let later = t0 + Duration::from_millis(1_500);
        assert_eq!(
            t.on_failure(later),
            RestartDecision::Restart {
                after: Duration::from_millis(10),
                attempt: 1
            }
        );
    }

    #[test]
    fn validates_settings() {
        assert!(RestartPolicy::default().problems().is_empty());
        let bad = RestartPolicy {
            max_restarts: 0,
            backoff_initial_ms: 10,
            backoff_max_ms: 5,
            ..policy()
        };
        assert_eq!(bad.problems().len(), 2);
    }
}
