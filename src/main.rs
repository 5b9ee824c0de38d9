//! The `fieldmesh` binary: parses the command line, loads configuration and runs a node,
//! the demo, or a store query. Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.

use std::process::ExitCode;

use clap::Parser;
use fieldmesh::cli::{Cli, Command};
use fieldmesh::node::{Node, PortChoice};
use fieldmesh::{
    access_cmd, analyze_cmd, artifacts_cmd, config, demo, events_cmd, logging, simulate_cmd,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let usage = e.downcast_ref::<config::ConfigError>().is_some()
                || e.downcast_ref::<events_cmd::UsageError>().is_some();
            eprintln!("error: {e:#}");
            if usage {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Node(args) => {
            // A bad ticket stops everything before anything is written.
            let join = args
                .join
                .as_deref()
                .map(|t| {
                    t.parse::<fieldmesh_mesh::MeshTicket>()
                        .map_err(|e| events_cmd::UsageError(format!("--join: {e}")))
                })
                .transpose()?;
            let mut config = config::load(&args.config)?;
            if let Some(dir) = args.data_dir {
                config.data_dir = dir;
            }
            logging::init(
                cli.log_format.unwrap_or(config.log.format),
                &config.log.level,
            );
            let node = Node::start_joining(&config, PortChoice::Exact, join).await?;
            node.run_until(std::future::pending()).await
        }
        Command::Demo(args) => {
            let config = demo::demo_config(&args)?;
            logging::init(
                cli.log_format.unwrap_or(config.log.format),
                "warn,fieldmesh=info,iroh_docs=error,ractor_cluster=error",
            );
            demo::run(config, args.duration).await
        }
        Command::Events(args) => {
            logging::init(cli.log_format.unwrap_or_default(), "warn");
            events_cmd::run(args).await
        }
        Command::Analyze(args) => {
            logging::init(cli.log_format.unwrap_or_default(), "warn");
            tokio::task::spawn_blocking(move || analyze_cmd::run(args)).await?
        }
        Command::Ticket(args) => match fieldmesh::node::read_ticket(&args.data_dir)? {
            Some(t) => {
                println!("{t}");
                Ok(())
            }
            None => Err(events_cmd::UsageError(format!(
                "no mesh ticket in {}: start a node there first",
                args.data_dir.display()
            ))
            .into()),
        },
        Command::Artifacts(args) => {
            logging::init(cli.log_format.unwrap_or_default(), "warn");
            artifacts_cmd::run(args).await
        }
        Command::Keys(args) => {
            logging::init(cli.log_format.unwrap_or_default(), "warn");
            access_cmd::keys(args).await
        }
        Command::Users(args) => {
            logging::init(cli.log_format.unwrap_or_default(), "warn");
            access_cmd::users(args).await
        }
        Command::Token(args) => access_cmd::token(args),
        Command::LoginLink(args) => access_cmd::login_link(args).await,
        Command::Simulate(args) => {
            logging::init(cli.log_format.unwrap_or_default(), "warn");
            tokio::task::spawn_blocking(move || simulate_cmd::run(args)).await?
        }
    }
}
