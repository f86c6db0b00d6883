//! The `greet-gateway` binary: configuration, logging, bind, serve.

use anyhow::Context as _;
use clap::Parser as _;
use greet_gateway::{
    ApiBuilder,
    config::{Args, Transport},
    logging, run, shutdown_signal, web,
};
use tokio::{net::TcpListener, sync::watch};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = EnvFilter::try_new(&args.log)
        .with_context(|| format!("invalid log filter '{}'", args.log))?;
    let _flush_on_exit = logging::init(filter);
    let settings = args.validate()?;

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

    // One signal stops both listeners.
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
            )))
        }
        None => None,
    };

    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    run(listener, api, settings.transport, until_stopped()).await;
    if let Some(task) = web_task {
        let _ = task.await;
    }
    tracing::info!("stopped");
    Ok(())
}
