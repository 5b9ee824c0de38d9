//! Regions of a page (sans-IO): what a view last showed, by region id, and which regions of a
//! new rendering differ from it — the only ones that go over the socket.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

/// A rendered region: its id (the `data-region` attribute) and its HTML.
pub type Region = (String, Arc<str>);

fn hash_of(html: &str) -> u64 {
    let mut h = DefaultHasher::new();
    html.hash(&mut h);
    h.finish()
}

/// What one view shows now: a hash per region.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RegionSet {
    shown: BTreeMap<String, u64>,
}

impl RegionSet {
    /// The regions of `rendered` that differ from what is shown, which then counts as shown.
    /// Regions not in `rendered` are left as they are (a page never drops a region).
    pub fn diff<'a>(&mut self, rendered: &'a [Region]) -> Vec<&'a Region> {
        rendered
            .iter()
            .filter(|(id, html)| {
                let h = hash_of(html);
                self.shown.insert(id.clone(), h) != Some(h)
            })
            .collect()
    }

    /// Forgets everything (the view moved to another page).
    pub fn clear(&mut self) {
        self.shown.clear();
    }

    /// Regions shown.
    pub fn len(&self) -> usize {
        self.shown.len()
    }

    /// Whether nothing is shown yet.
    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(id: &str, html: &str) -> Region {
        (id.into(), Arc::from(html))
    }

    #[test]
    fn only_changed_regions_are_sent_and_a_cleared_set_sends_all_again() {
        let mut set = RegionSet::default();
        let first = [r("a", "<b>1</b>"), r("b", "x")];
        assert_eq!(set.diff(&first).len(), 2, "everything is new");
        assert!(set.diff(&first).is_empty(), "nothing changed");
        let second = [r("a", "<b>2</b>"), r("b", "x")];
        let changed: Vec<&str> = set.diff(&second).iter().map(|r| r.0.as_str()).collect();
        assert_eq!(changed, ["a"]);
        // A rendering that leaves a region out does not blank it.
        assert!(set.diff(&[r("a", "<b>2</b>")]).is_empty());
        assert_eq!(set.len(), 2);
        set.clear();
        assert!(set.is_empty());
        assert_eq!(set.diff(&second).len(), 2);
    }
}
