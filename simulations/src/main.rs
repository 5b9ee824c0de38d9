//! `fieldmesh-sim`: runs N virtual nodes through a scenario and writes `report.json` and
//! `report.html` (summary table on stdout). Exit 0 when the run completed, 1 on failure.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use fieldmesh_sim::{RunOptions, Scenario, Sizes};

/// Simulate a fieldmesh mesh of many nodes on this machine.
#[derive(Parser, Debug)]
#[command(name = "fieldmesh-sim", version)]
struct Args {
    /// Virtual nodes (datacenters included).
    #[arg(long, default_value_t = 30)]
    nodes: usize,
    /// Datacenter nodes among them (datacenter-pull uses at least one).
    #[arg(long, default_value_t = 0)]
    datacenters: usize,
    /// Rooms every node keeps.
    #[arg(long, default_value_t = 2)]
    rooms: usize,
    /// Seconds the workload runs (catch-up time comes after).
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Scenario.
    #[arg(long, value_enum, default_value_t = Scenario::Steady)]
    scenario: Scenario,
    /// Seed: the same seed gives the same workload and fault schedule.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where report.json and report.html go.
    #[arg(long, default_value = "sim-out")]
    out: PathBuf,
    /// Longest wait after the workload for delivery to complete, seconds.
    #[arg(long, default_value_t = 60)]
    settle: u64,
    /// Heartbeat interval of every node (the steady replicated event), ms.
    #[arg(long, default_value_t = 5000)]
    heartbeat_ms: u64,
    /// Anti-entropy period, ms.
    #[arg(long, default_value_t = 2000)]
    catchup_every_ms: u64,
    /// Where nodes keep their data (default: /dev/shm when present, else the temp dir).
    #[arg(long)]
    data_root: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn default_data_root() -> PathBuf {
    let shm = PathBuf::from("/dev/shm");
    if shm.is_dir() {
        shm
    } else {
        std::env::temp_dir()
    }
}

fn main() {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("fieldmesh-sim: tokio runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(main_async(args)) {
        eprintln!("fieldmesh-sim: {e:#}");
        std::process::exit(1);
    }
}

async fn main_async(args: Args) -> anyhow::Result<()> {
    if args.nodes < 2 {
        anyhow::bail!("--nodes must be at least 2");
    }
    let opts = RunOptions {
        scenario: args.scenario,
        sizes: Sizes {
            nodes: args.nodes,
            datacenters: args.datacenters,
            rooms: args.rooms,
            duration: Duration::from_secs(args.duration),
        },
        seed: args.seed,
        settle: Duration::from_secs(args.settle),
        heartbeat_ms: args.heartbeat_ms,
        catchup_every_ms: args.catchup_every_ms,
        data_root: args.data_root.unwrap_or_else(default_data_root),
        progress: !args.quiet,
    };
    let report = fieldmesh_sim::run(&opts).await?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let json = args.out.join("report.json");
    std::fs::write(&json, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("writing {}", json.display()))?;
    let html = args.out.join("report.html");
    std::fs::write(&html, fieldmesh_sim::html::render(&report))
        .with_context(|| format!("writing {}", html.display()))?;
    print!("{}", report.summary());
    println!("report: {} and {}", json.display(), html.display());
    Ok(())
}
