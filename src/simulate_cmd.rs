//! `fieldmesh simulate --out DIR`: seeded SigMF recordings from the IQ simulator, with the
//! ground truth as annotations (label, band, interval, in-band SNR).

use fieldmesh_actors::classify::dataset::{DatasetSpec, write_dataset};
use fieldmesh_actors::dsp::sigmf::{SigmfDatatype, write_pair};
use fieldmesh_actors::dsp::sim::{SCENARIOS, scenario, simulate};

use crate::cli::SimulateArgs;
use crate::events_cmd::UsageError;

/// Most recordings one call writes.
pub const MAX_COUNT: u32 = 10_000;

/// Most recordings one dataset is drawn from.
pub const MAX_DATASET_RECORDINGS: u32 = 1_000_000;

/// Runs the command; prints each file written.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    if let Some(dir) = &args.dataset {
        if args.count == 0 || args.count > MAX_DATASET_RECORDINGS {
            return Err(
                UsageError(format!("--count must be in 1..={MAX_DATASET_RECORDINGS}")).into(),
            );
        }
        let spec = DatasetSpec {
            seed: args.seed,
            recordings: u64::from(args.count),
            ..DatasetSpec::default()
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let meta = write_dataset(dir, &spec, threads)?;
        println!(
            "{}: {} examples of {} values from {} recordings (per class {:?})",
            dir.display(),
            meta.count,
            meta.dim,
            meta.recordings,
            meta.classes.iter().zip(&meta.per_class).collect::<Vec<_>>()
        );
        return Ok(());
    }
    let Some(out) = &args.out else {
        return Err(UsageError("--out DIR or --dataset DIR".into()).into());
    };
    let datatype =
        SigmfDatatype::parse(&args.datatype).map_err(|e| UsageError(format!("--datatype: {e}")))?;
    if !SCENARIOS.contains(&args.scenario.as_str()) {
        return Err(UsageError(format!(
            "--scenario {:?}: one of {}",
            args.scenario,
            SCENARIOS.join(", ")
        ))
        .into());
    }
    if args.count == 0 || args.count > MAX_COUNT {
        return Err(UsageError(format!("--count must be in 1..={MAX_COUNT}")).into());
    }
    if !(args.duration.is_finite() && (0.05..=600.0).contains(&args.duration)) {
        return Err(UsageError("--duration must be in 0.05..=600 seconds".into()).into());
    }
    std::fs::create_dir_all(out)?;
    for i in 0..u64::from(args.count) {
        let seed = args.seed + i;
        let cfg =
            scenario(&args.scenario, seed, args.duration).map_err(|e| UsageError(e.to_string()))?;
        let rec = simulate(&cfg);
        let base = out.join(format!("{}-{seed}", args.scenario));
        let (meta, _) = write_pair(&base, &rec, datatype)?;
        println!("{} ({} emitters)", meta.display(), rec.annotations.len());
    }
    Ok(())
}
