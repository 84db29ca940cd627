//! `polling-server`: parse the config, bind, serve until SIGINT/SIGTERM.

use std::io::{BufWriter, IsTerminal};
use std::process::ExitCode;

use clap::Parser;
use polling_server::{run, Backends, Config, Frontend, LogFormat};
use tokio::sync::oneshot;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    if config.probe_ready {
        return match polling_server::probe_ready(config.listen).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(why) => {
                eprintln!("polling-server: not ready: {why}");
                ExitCode::FAILURE
            }
        };
    }
    // Dropping the guard at the end of `main` flushes the last log lines.
    let _log_writer = init_tracing(config.log_format);
    match serve(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("polling-server: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let frontend = config
        .frontend_dir()?
        .map_or(Frontend::Embedded, Frontend::Dir);
    let listener = polling_server::bind(config.listen).map_err(|e| {
        format!(
            "--listen (POLLING_LISTEN): cannot bind {}: {e}",
            config.listen
        )
    })?;
    // Before any backend starts, so that their first metrics count.
    polling_server::telemetry::install_recorder();
    let backends = Backends::connect(&config).await?;
    let kinds = backends.kinds;
    let app = backends
        .into_builder()
        .body_limit(config.body_limit)
        .allowed_origins(config.allowed_origins.clone())
        .max_sockets(config.max_sockets)
        .max_sockets_per_client(config.max_sockets_per_client)
        .limits(config.limits())
        .secure_cookies(config.secure_cookies)
        .instance(config.instance())
        .idempotency_ttl(config.idempotency_ttl)
        .public_url(config.public_url.clone())
        .frontend(frontend.clone())
        .build();
    tracing::info!(
        address = %config.listen,
        frontend = %match &frontend {
            Frontend::Dir(dir) => dir.display().to_string(),
            _ => "built in".to_owned(),
        },
        store = kinds.store,
        cache = kinds.cache,
        broadcaster = kinds.broadcaster,
        idempotency = kinds.idempotency,
        rate_limits = kinds.rate_limits,
        "polling-server listening"
    );

    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(run(listener, app, async {
        stopped.await.ok();
    }));
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    stop.send(()).ok();
    match tokio::time::timeout(config.shutdown_grace, server).await {
        Ok(_) => tracing::info!("stopped"),
        Err(_) => {
            tracing::warn!("requests still in flight after the grace period; stopping anyway")
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// Logs to stdout from a writer thread of its own, so that a request never
/// waits on the terminal or the log shipper: writing every access line
/// synchronously cost about a fifth of the vote throughput (benches/README.md).
/// The thread writes whatever lines are queued in one system call, and the
/// queue is not lossy: when it is full, callers wait rather than drop lines.
/// Colours only on a terminal.
fn init_tracing(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let stdout = std::io::stdout();
    let ansi = stdout.is_terminal();
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("polling-log")
        .finish(BufWriter::with_capacity(64 * 1024, stdout));
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .fmt_fields(polling_server::telemetry::JsonSpanFields)
            .event_format(polling_server::telemetry::JsonLines)
            .init(),
    }
    guard
}
