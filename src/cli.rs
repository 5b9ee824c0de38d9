//! Command-line interface. Subcommand and flag names are a contract other tools rely on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::LogFormat;

/// fieldmesh: an actor-based peer-to-peer sensor mesh. One binary plays every role.
#[derive(Debug, Parser)]
#[command(name = "fieldmesh", version, about)]
pub struct Cli {
    /// Log format (overrides the config's `log.format`).
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node from a config file.
    Node(NodeArgs),
    /// Run a complete demo node with simulated sensors and its web page.
    Demo(DemoArgs),
    /// Read events from a node's store (asks the running node if there is one).
    Events(EventsArgs),
    /// Run the edge detection pipeline over a SigMF recording, as fast as it can.
    Analyze(AnalyzeArgs),
    /// Write simulated SigMF recordings with ground-truth annotations.
    Simulate(SimulateArgs),
    /// Print the mesh ticket of the node on a data dir (what others join with).
    Ticket(TicketArgs),
    /// Artifacts (IQ windows, tiles): get one into a file, from the mesh if need be.
    Artifacts(ArtifactsArgs),
    /// Device API keys (for `/ws/ingest`): create, revoke, list.
    Keys(KeysArgs),
    /// People who may log in: add one (password on stdin).
    Users(UsersArgs),
    /// Print a login token for the node on a data dir (scripts; minted from its key).
    Token(TokenArgs),
    /// Print a one-time login link to the pages of the node running on a data dir.
    LoginLink(DataDirArgs),
}

/// `fieldmesh keys`
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
    /// The node's data directory.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

/// What to do with device keys.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// A new key for DEVICE (printed once; only its hash is kept).
    Create {
        /// Which device it is for.
        device: String,
    },
    /// Revoke key ID (as `keys list` shows it).
    Revoke {
        /// The key's id.
        id: String,
    },
    /// Every key, revoked ones included.
    List,
}

/// `fieldmesh users`
#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    pub command: UsersCommand,
    /// The node's data directory.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

/// What to do with people.
#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Add NAME (or set a new password): the password is the first line of stdin.
    Add {
        /// Login name.
        name: String,
    },
}

/// `fieldmesh token`
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// The node's data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// How long it lasts, s.
    #[arg(long, default_value_t = 3600)]
    pub ttl_s: u64,
}

/// Just a data dir.
#[derive(Debug, Args)]
pub struct DataDirArgs {
    /// The node's data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
}

/// `fieldmesh artifacts`
#[derive(Debug, Args)]
pub struct ArtifactsArgs {
    #[command(subcommand)]
    pub command: ArtifactsCommand,
}

/// What to do with artifacts.
#[derive(Debug, Subcommand)]
pub enum ArtifactsCommand {
    /// Write artifact HASH into a file: from the node's store, or fetched from the mesh by
    /// the node running on the data dir (from its origin or any member holding it).
    Get {
        /// The artifact's BLAKE3 hash (hex), as `artifact_available` events give it.
        hash: String,
        /// The node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// File to write (whole or not at all).
        #[arg(long)]
        out: PathBuf,
    },
}

/// `fieldmesh ticket`
#[derive(Debug, Args)]
pub struct TicketArgs {
    /// The node's data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
}

/// `fieldmesh simulate`
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Directory to write recordings into (created if missing).
    #[arg(long, required_unless_present = "dataset")]
    pub out: Option<PathBuf>,
    /// Instead of recordings, write a labelled classifier training set into this directory:
    /// COUNT simulated recordings (random classes, SNR −10…+20 dB) through the edge
    /// analyzer, one model input per box (`meta.json`, `inputs.f32`, `labels.u8`, `snr.f32`).
    #[arg(long, conflicts_with = "out")]
    pub dataset: Option<PathBuf>,
    /// Seed of the first recording (recording i uses seed + i).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scenario: noise, mixed, weak, or one class (cw, lfm, costas, barker13, polyphase, fsk, ofdm).
    #[arg(long, default_value = "mixed")]
    pub scenario: String,
    /// Recordings to write.
    #[arg(long, default_value_t = 1)]
    pub count: u32,
    /// Seconds per recording.
    #[arg(long, default_value_t = 1.0)]
    pub duration: f64,
    /// Sample format: ci16_le or cf32_le.
    #[arg(long, default_value = "ci16_le")]
    pub datatype: String,
}

/// `fieldmesh analyze`
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// A `.sigmf-meta` (data beside it), `.sigmf-data` or `.sigmf` archive.
    pub file: PathBuf,
    /// One JSON object per detected box, one per line.
    #[arg(long)]
    pub json: bool,
    /// ONNX waveform model to label boxes with (default: the built-in model).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// ONNX Runtime library to run the model on (default: $ORT_DYLIB_PATH, else the
    /// pure-Rust tract backend).
    #[arg(long)]
    pub onnxruntime: Option<PathBuf>,
    /// Boxes only, no labels.
    #[arg(long)]
    pub no_classify: bool,
}

/// `fieldmesh node`
#[derive(Debug, Args)]
pub struct NodeArgs {
    /// Config file (TOML). Environment variables FIELDMESH_<SECTION>__<KEY> override it.
    #[arg(long)]
    pub config: PathBuf,
    /// Data directory (overrides the config's `data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Join the mesh of this ticket (printed by `fieldmesh ticket` on a member).
    #[arg(long)]
    pub join: Option<String>,
}

/// `fieldmesh demo`
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Data directory (default: a new directory under the system temp dir, kept afterwards).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Stop cleanly after this many seconds.
    #[arg(long)]
    pub duration: Option<u64>,
}

/// `fieldmesh events`
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The node's data directory.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Only this kind (e.g. `heartbeat`, `measurement_batch`).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only this sensor.
    #[arg(long)]
    pub sensor: Option<String>,
    /// Only events made by this node (hex id).
    #[arg(long)]
    pub origin: Option<String>,
    /// Only events at or after this time (RFC 3339, e.g. 2026-11-22T10:00:00Z).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many (oldest first).
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
}
