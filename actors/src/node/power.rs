//! Where a node's power comes from, as its heartbeat reports it: mains (nothing to report),
//! a Linux power-supply directory in sysfs (a laptop, a Pi with a UPS hat), or a simulated cell.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::model::Battery;

/// `[power]`: the node's power source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case", deny_unknown_fields)]
pub enum PowerConfig {
    /// Mains power: heartbeats report no battery.
    #[default]
    Mains,
    /// A power-supply directory such as `/sys/class/power_supply/BAT0` (its `capacity` and
    /// `status` files).
    Sysfs {
        /// The directory.
        path: PathBuf,
    },
    /// A cell that drains at a steady rate from the node's start (demos and simulations).
    Simulated {
        /// Charge at start, percent.
        start_pct: f32,
        /// Percent lost per hour.
        drain_pct_per_hour: f32,
    },
}

impl PowerConfig {
    /// Problems with these settings, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        match self {
            PowerConfig::Simulated {
                start_pct,
                drain_pct_per_hour,
            } => {
                let mut out = Vec::new();
                if !(0.0..=100.0).contains(start_pct) {
                    out.push(("start_pct", "must be in 0..=100".into()));
                }
                if !(drain_pct_per_hour.is_finite() && *drain_pct_per_hour >= 0.0) {
                    out.push(("drain_pct_per_hour", "must be ≥ 0".into()));
                }
                out
            }
            PowerConfig::Sysfs { path } if path.as_os_str().is_empty() => {
                vec![("path", "must name a power-supply directory".into())]
            }
            _ => Vec::new(),
        }
    }
}

/// Reads the battery for a heartbeat.
pub struct PowerGauge {
    cfg: PowerConfig,
    started_us: u64,
    /// Whether an unreadable sysfs directory was already logged.
    warned: bool,
}

impl PowerGauge {
    /// A gauge for a node started at `started_us`.
    pub fn new(cfg: PowerConfig, started_us: u64) -> Self {
        Self {
            cfg,
            started_us,
            warned: false,
        }
    }

    /// The battery now; `None` on mains or when the source cannot be read.
    pub fn read(&mut self, now_us: u64) -> Option<Battery> {
        match &self.cfg {
            PowerConfig::Mains => None,
            PowerConfig::Simulated {
                start_pct,
                drain_pct_per_hour,
            } => {
                let hours = now_us.saturating_sub(self.started_us) as f32 / 3.6e9;
                Some(Battery {
                    level_pct: (start_pct - drain_pct_per_hour * hours).clamp(0.0, 100.0),
                    charging: false,
                })
            }
            PowerConfig::Sysfs { path } => match read_sysfs(path) {
                Ok(b) => Some(b),
                Err(why) => {
                    if !std::mem::replace(&mut self.warned, true) {
                        tracing::warn!(path = %path.display(), %why, "battery not readable");
                    }
                    None
                }
            },
        }
    }
}

/// `capacity` (0–100) and `status` (`Charging`, `Discharging`, `Full`, …) of a
/// power-supply directory.
fn read_sysfs(dir: &std::path::Path) -> Result<Battery, String> {
    let read =
        |name: &str| std::fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let capacity = read("capacity")?;
    let level: f32 = capacity
        .trim()
        .parse()
        .map_err(|_| format!("capacity: not a number: {:?}", capacity.trim()))?;
    if !(0.0..=100.0).contains(&level) {
        return Err(format!("capacity: {level} is outside 0..=100"));
    }
    // Without a status file the direction is unknown: report it as not charging.
    let status = read("status").unwrap_or_default();
    Ok(Battery {
        level_pct: level,
        charging: matches!(status.trim(), "Charging" | "Full"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mains_reports_nothing_and_a_simulated_cell_drains() {
        assert_eq!(PowerGauge::new(PowerConfig::Mains, 0).read(1 << 40), None);
        let cfg = PowerConfig::Simulated {
            start_pct: 80.0,
            drain_pct_per_hour: 10.0,
        };
        let mut g = PowerGauge::new(cfg, 1_000);
        let after = |g: &mut PowerGauge, hours: f64| {
            g.read(1_000 + (hours * 3.6e9) as u64)
                .map(|b| (b.level_pct * 10.0).round() / 10.0)
        };
        assert_eq!(after(&mut g, 0.0), Some(80.0));
        assert_eq!(after(&mut g, 1.5), Some(65.0));
        assert_eq!(after(&mut g, 20.0), Some(0.0), "never below empty");
    }

    #[test]
    fn a_sysfs_directory_is_read_and_bad_contents_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = PowerConfig::Sysfs {
            path: dir.path().to_path_buf(),
        };
        let mut g = PowerGauge::new(cfg, 0);
        assert_eq!(g.read(0), None, "no files yet");
        std::fs::write(dir.path().join("capacity"), "87\n").unwrap();
        std::fs::write(dir.path().join("status"), "Charging\n").unwrap();
        assert_eq!(
            g.read(0),
            Some(Battery {
                level_pct: 87.0,
                charging: true
            })
        );
        std::fs::write(dir.path().join("status"), "Discharging\n").unwrap();
        assert_eq!(g.read(0).map(|b| b.charging), Some(false));
        for bad in ["full", "", "140", "-3", "NaN"] {
            std::fs::write(dir.path().join("capacity"), bad).unwrap();
            assert!(read_sysfs(dir.path()).is_err(), "{bad:?} accepted");
            assert_eq!(g.read(0), None);
        }
    }

    #[test]
    fn settings_out_of_range_are_named() {
        let bad = PowerConfig::Simulated {
            start_pct: 120.0,
            drain_pct_per_hour: -1.0,
        };
        let keys: Vec<_> = bad.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["start_pct", "drain_pct_per_hour"]);
        assert!(PowerConfig::Mains.problems().is_empty());
    }
}
