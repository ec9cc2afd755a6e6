//! The `zeropipe` daemon: parse arguments, load the pipeline file, set up logging, run the
//! pipeline until a signal, drain it, and turn the outcome into an exit code.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tokio::signal::unix::{Signal, SignalKind, signal};
use zeropipe::config::Config;
use zeropipe::demo::{self, DemoOptions};
use zeropipe::orchestrator::Pipeline;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for a bad pipeline file or bad arguments.
const EXIT_CONFIG: u8 = 2;
/// Exit code of a demo stopped by a signal, as shells report an interrupted command.
const EXIT_INTERRUPTED: u8 = 130;
/// Exit code when the drain left messages in flight or lost dead-letter entries.
const EXIT_UNCLEAN: u8 = 3;

/// zeropipe: receive from ZeroMQ sockets, decode, derive metrics, export, and account for
/// every message.
#[derive(Debug, Parser)]
#[command(name = "zeropipe", version, after_help = EXIT_CODES)]
struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value = "plain")]
    log_format: LogFormat,
    /// Log filter, such as `info` or `zeropipe=debug`; RUST_LOG is used when this is absent.
    #[arg(long, global = true)]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success, 1 runtime failure, 2 bad configuration or \
arguments, 3 the drain was not clean: messages were left in flight when the shutdown was forced, \
or failed messages could not be written to the dead-letter file.";

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the pipeline in FILE until SIGINT, SIGTERM or SIGHUP, then drain it. A second
    /// signal, or the shutdown deadline, forces the stop.
    Run {
        /// The pipeline file (TOML).
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Validate FILE and list every problem found, without running anything.
    Check {
        /// The pipeline file (TOML).
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
    /// Replay the bundled Seattle weather dataset through a default pipeline over loopback
    /// ZeroMQ, with the admin server up, and check the summary against the dataset.
    Demo {
        /// Directory for events.jsonl and dead-letter.jsonl (replaced on each run).
        #[arg(long, default_value = "zeropipe-demo-output")]
        output: PathBuf,
        /// Admin server address; use 127.0.0.1:0 for any free port.
        #[arg(long, default_value = "127.0.0.1:9955")]
        admin: SocketAddr,
        /// Messages per second; 0 sends as fast as possible.
        #[arg(long, default_value_t = 500)]
        rate: u32,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Plain,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format, cli.log.as_deref());
    match cli.command {
        Command::Check { config } => match Config::load(&config) {
            Ok(_) => {
                println!("{}: ok", config.display());
                ExitCode::SUCCESS
            }
            Err(e) => config_error(&e),
        },
        Command::Run { config } => match Config::load(&config) {
            Ok(config) => block_on(run(config)),
            Err(e) => config_error(&e),
        },
        Command::Demo {
            output,
            admin,
            rate,
        } => block_on(run_demo(DemoOptions {
            output,
            admin: Some(admin),
            rate,
        })),
    }
}

fn config_error(error: &zeropipe::config::ConfigError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(EXIT_CONFIG)
}

/// Runs `main` on a multi-threaded runtime. Once it has returned, a blocking operation that is
/// still stuck (a write to a stdout nobody reads, an open of a FIFO nobody opens) gets a moment
/// and is then abandoned, so that the process can exit.
fn block_on(main: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("zp-worker")
        .build()
        .expect("the operating system refused to start the runtime's threads");
    let code = runtime.block_on(main);
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    code
}

async fn run(config: Config) -> ExitCode {
    // Watch for signals before anything starts, so that none is missed.
    let mut signals = match Signals::watch() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("error: cannot watch for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = tokio::select! {
        biased;
        // A signal while sockets and sinks are still being opened: give up at once.
        signal = signals.next() => {
            eprintln!("error: {signal} while starting; stopped before the pipeline ran");
            return ExitCode::FAILURE;
        }
        // The normal case.
        started = Pipeline::new(config).start() => started,
    };
    let running = match started {
        Ok(running) => running,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let signal = signals.next().await;
    tracing::info!(
        signal,
        "shutdown requested; send another signal to force it"
    );
    let report = running.shutdown_or(async move {
        signals.next().await;
    });
    let report = report.await;
    eprint!("{}", report.render());
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_UNCLEAN)
    }
}

async fn run_demo(options: DemoOptions) -> ExitCode {
    let mut signals = match Signals::watch() {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("error: cannot watch for signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    let interrupt = async move {
        signals.next().await;
    };
    match demo::run(options, interrupt).await {
        Ok(outcome) => {
            println!("\n{}", outcome.report.render());
            println!("checks against the dataset:");
            for check in &outcome.checks {
                println!(
                    "  [{}] {}",
                    if check.ok { "ok" } else { "FAIL" },
                    check.what
                );
            }
            println!("\noutput written to {}", outcome.output.display());
            if outcome.interrupted {
                println!("interrupted: the checks compare a partial run with the whole dataset");
                ExitCode::from(EXIT_INTERRUPTED)
            } else if outcome.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP, registered together; each asks for a graceful shutdown.
struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    fn watch() -> std::io::Result<Self> {
        let interrupt = signal(SignalKind::interrupt())?;
        let terminate = signal(SignalKind::terminate())?;
        let hangup = signal(SignalKind::hangup())?;
        Ok(Self {
            interrupt,
            terminate,
            hangup,
        })
    }

    /// Waits for the next signal and names it.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            biased;
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.hangup.recv() => "SIGHUP",
        }
    }
}

fn init_tracing(format: LogFormat, filter: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = filter
        .map(EnvFilter::new)
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    // Colours only for a person at a terminal, never in a file or a pipe.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Plain => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
