//! One viewer's attention (sans-IO): what the browser reports — tab visible, window focused,
//! which sensor panels are in view — turned into a level per sensor, and the hints to send.
//!
//! `high` = focused and visible and in view, `medium` = visible and in view, `low` = visible
//! but scrolled away, `none` = tab hidden. Hints carry an expiry, so they are sent again
//! before it passes; a panel that leaves the page gets one last `none`.

use std::collections::{BTreeMap, BTreeSet};

use fieldmesh_actors::model::{AttentionLevel, SensorId};

/// A viewer's attention on the sensor panels of its page.
#[derive(Clone, Debug)]
pub struct ViewerAttention {
    panels: BTreeSet<SensorId>,
    visible: bool,
    focused: bool,
    in_view: BTreeSet<SensorId>,
    /// sensor → (level sent, when, µs).
    sent: BTreeMap<SensorId, (AttentionLevel, u64)>,
    refresh_us: u64,
}

impl ViewerAttention {
    /// A viewer whose hints are refreshed every `refresh_us` (well inside their expiry). A new
    /// page is visible until the browser says otherwise, and not focused.
    pub fn new(refresh_us: u64) -> Self {
        Self {
            panels: BTreeSet::new(),
            visible: true,
            focused: false,
            in_view: BTreeSet::new(),
            sent: BTreeMap::new(),
            refresh_us,
        }
    }

    /// The sensor panels the page has now (a new page replaces them).
    pub fn set_panels(&mut self, panels: impl IntoIterator<Item = SensorId>) {
        self.panels = panels.into_iter().collect();
        self.in_view.retain(|s| self.panels.contains(s));
    }

    /// Whether the tab is visible.
    pub fn visible(&self) -> bool {
        self.visible
    }

    /// Whether the page has sensor panels (or hints still to withdraw).
    pub fn has_panels(&self) -> bool {
        !self.panels.is_empty() || !self.sent.is_empty()
    }

    /// Whether the tab is visible and the window focused.
    pub fn set_visibility(&mut self, visible: bool, focused: bool) {
        self.visible = visible;
        self.focused = focused;
    }

    /// Which panels are in view (others on the page are scrolled away).
    pub fn set_in_view(&mut self, sensors: impl IntoIterator<Item = SensorId>) {
        self.in_view = sensors
            .into_iter()
            .filter(|s| self.panels.contains(s))
            .collect();
    }

    /// This viewer's level on `sensor` now.
    pub fn level(&self, sensor: &SensorId) -> AttentionLevel {
        if !self.panels.contains(sensor) || !self.visible {
            AttentionLevel::None
        } else if !self.in_view.contains(sensor) {
            AttentionLevel::Low
        } else if self.focused {
            AttentionLevel::High
        } else {
            AttentionLevel::Medium
        }
    }

    /// Hints to send at `now_us`: levels that changed, levels above `none` whose refresh is
    /// due, and a last `none` for panels that went away. What is returned counts as sent.
    pub fn due(&mut self, now_us: u64) -> Vec<(SensorId, AttentionLevel)> {
        let mut out = Vec::new();
        let gone: Vec<SensorId> = self
            .sent
            .keys()
            .filter(|s| !self.panels.contains(*s))
            .cloned()
            .collect();
        for s in gone {
            if let Some((level, _)) = self.sent.remove(&s)
                && level != AttentionLevel::None
            {
                out.push((s, AttentionLevel::None));
            }
        }
        for s in &self.panels {
            let level = self.level(s);
            let send = match self.sent.get(s) {
                None => true,
                Some((l, _)) if *l != level => true,
                Some((l, at)) => {
                    *l != AttentionLevel::None && now_us >= at.saturating_add(self.refresh_us)
                }
            };
            if send {
                self.sent.insert(s.clone(), (level, now_us));
                out.push((s.clone(), level));
            }
        }
        out
    }

    /// The viewer leaves: `none` for every sensor it held above that.
    pub fn close(&mut self) -> Vec<(SensorId, AttentionLevel)> {
        let out = self
            .sent
            .iter()
            .filter(|(_, (l, _))| *l != AttentionLevel::None)
            .map(|(s, _)| (s.clone(), AttentionLevel::None))
            .collect();
        self.sent.clear();
        self.panels.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttentionLevel::{High, Low, Medium, None};

    fn s(id: &str) -> SensorId {
        SensorId::new(id).unwrap()
    }

    #[test]
    fn levels_follow_visibility_focus_and_view() {
        let mut v = ViewerAttention::new(1_000);
        v.set_panels([s("a"), s("b")]);
        v.set_in_view([s("a"), s("zz")]);
        assert_eq!((v.level(&s("a")), v.level(&s("b"))), (Medium, Low));
        assert_eq!(v.level(&s("zz")), None, "not a panel of this page");
        v.set_visibility(true, true);
        assert_eq!(v.level(&s("a")), High);
        v.set_visibility(false, true);
        assert_eq!((v.level(&s("a")), v.level(&s("b"))), (None, None));
    }

    #[test]
    fn hints_go_out_on_change_and_on_refresh_and_a_last_none_when_a_panel_leaves() {
        let mut v = ViewerAttention::new(1_000);
        v.set_panels([s("a")]);
        v.set_in_view([s("a")]);
        v.set_visibility(true, true);
        assert_eq!(v.due(0), [(s("a"), High)]);
        assert!(v.due(500).is_empty(), "nothing changed, refresh not due");
        assert_eq!(v.due(1_000), [(s("a"), High)], "refresh");
        v.set_visibility(false, false);
        assert_eq!(v.due(1_100), [(s("a"), None)]);
        assert!(v.due(5_000).is_empty(), "none is never refreshed");
        v.set_visibility(true, false);
        assert_eq!(v.due(5_100), [(s("a"), Medium)]);
        // Another page: a's panel is gone, b's is new (scrolled away at first).
        v.set_panels([s("b")]);
        assert_eq!(v.due(5_200), [(s("a"), None), (s("b"), Low)]);
        assert_eq!(v.close(), [(s("b"), None)]);
        assert!(v.close().is_empty());
    }
}
