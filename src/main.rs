//! The `greet-gateway` binary: configuration, logging, bind, serve.
//!
//! Exit codes: 0 after a clean shutdown, and for `--help` and `--version`;
//! 2 when the configuration is refused (a flag or environment variable that
//! does not parse, a refused combination, a bad log filter), the code clap
//! gives its own parse errors; 1 when the start fails for another reason,
//! such as a port already in use. A refusal is one `error: <reason>` on
//! stderr (clap adds a hint to try `--help`), and never a backtrace,
//! whatever `RUST_BACKTRACE` says: these are answers for the operator, not
//! bugs.

use std::{fmt::Display, process::ExitCode, sync::Arc};

use anyhow::Context as _;
use clap::Parser as _;
use greet_gateway::{
    ApiBuilder, Settings, StopSignal, admin,
    config::{Args, Transport},
    logging, run, stop_signal, web,
};
use tokio::{net::TcpListener, sync::watch};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: a request makes 17 to 28 small
/// allocations (hyper's, h2's, tonic's and ours), and glibc spent ~170
/// instructions on each allocate-and-free pair where mimalloc spends about
/// half; `bench/profile` counts 1.4k (REST) to 3.3k (gRPC-Web) fewer
/// instructions a request. Its v2 line, the faster of the two here, built
/// without transparent huge pages (`no_thp`): where the kernel grants them
/// on request (`madvise`, a common default), mimalloc asks for them and
/// the idle process grew from 9 to 21 MiB resident.
/// The reference servers of the benchmarks (`examples/bare_rest.rs`,
/// `examples/plain_tonic.rs`) use it too, so comparisons stay like for like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The exit code of a refused configuration (clap's usage-error code).
const REFUSED: u8 = 2;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        // `--help` and `--version` come this way too; clap knows their
        // stream (stdout) and code (0).
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(REFUSED));
        }
    };
    let filter = match EnvFilter::try_new(&args.log) {
        Ok(filter) => filter,
        Err(error) => return refuse(format!("invalid log filter '{}': {error}", args.log)),
    };
    let _flush_on_exit = logging::init_with_format(filter, args.log_format);
    let settings = match args.validate() {
        Ok(settings) => settings,
        Err(error) => return refuse(error),
    };
    let started = tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(serve(settings)));
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}`: the causes on one line, and no backtrace.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Says why the configuration is refused.
fn refuse(reason: impl Display) -> ExitCode {
    eprintln!("error: {reason}");
    ExitCode::from(REFUSED)
}

/// Binds the listeners and serves until SIGINT, or SIGTERM and its drain.
async fn serve(settings: Settings) -> anyhow::Result<()> {
    let api = ApiBuilder::from_settings(&settings)
        .build(settings.cors.clone())
        .await?;
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let scheme = match settings.transport.tls {
        Some(_) => "https",
        None => "http",
    };
    tracing::info!(
        "API (REST, gRPC-Web, gRPC) on {scheme}://{}",
        listener.local_addr()?
    );

    // One signal stops every listener.
    let (stop, stopped) = watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };

    let web_task = match settings.web_listen {
        Some(addr) => {
            let web_listener = TcpListener::bind(addr).await.with_context(|| {
                format!(
                    "cannot listen on {addr} for the demo page (use --web-listen off to disable it)"
                )
            })?;
            tracing::info!("demo page on http://{}", web_listener.local_addr()?);
            Some(tokio::spawn(run(
                web_listener,
                web::router(),
                Transport::default(),
                until_stopped(),
                None,
            )))
        }
        None => None,
    };

    // Never behind the API's CORS policy, limits or metrics.
    let readiness = admin::Readiness::new();
    let admin_task = match settings.admin_listen {
        Some(addr) => {
            let admin_listener = TcpListener::bind(addr).await.with_context(|| {
                format!("cannot listen on {addr} for the admin port (use --admin-listen off to disable it)")
            })?;
            tracing::info!(
                "admin (metrics, health) on http://{}",
                admin_listener.local_addr()?
            );
            Some(tokio::spawn(run(
                admin_listener,
                admin::router(Arc::clone(api.metrics()), readiness.clone()),
                Transport::default(),
                until_stopped(),
                None,
            )))
        }
        None => None,
    };

    let health = api.health();
    let drain_delay = settings.drain_delay;
    tokio::spawn(async move {
        let signal = stop_signal().await;
        // Tell load balancers at once, whichever the signal.
        readiness.set_draining();
        health.set_not_serving().await;
        if signal == StopSignal::Terminate && !drain_delay.is_zero() {
            tracing::info!(
                "SIGTERM: not ready; serving for {drain_delay:?} more while load balancers catch up"
            );
            // A second signal cuts the delay short.
            tokio::select! {
                () = tokio::time::sleep(drain_delay) => {}
                _ = stop_signal() => {}
            }
        }
        let _ = stop.send(true);
    });
    let counted = Some(Arc::clone(api.metrics()));
    run(listener, api, settings.transport, until_stopped(), counted).await;
    for task in [web_task, admin_task].into_iter().flatten() {
        let _ = task.await;
    }
    tracing::info!("stopped");
    Ok(())
}
