"""``ferryman serve``: put the models that have an alias behind the HTTP server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ferryman.cli.context import err_console, registry, state
from ferryman.errors import ConfigError

if TYPE_CHECKING:
    from ferryman.config import Settings
    from ferryman.registry import Registry

MEGABYTE = 1024 * 1024


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes; each loads every model once.")
    ] = 1,
    models: Annotated[
        str | None,
        typer.Option(help="Comma-separated model names to serve (default: all with the alias)."),
    ] = None,
    alias: Annotated[str, typer.Option(help="The alias whose versions are served.")] = "production",
    poll_interval: Annotated[
        float,
        typer.Option(min=0.0, help="Seconds between checks for alias moves (0 turns them off)."),
    ] = 1.0,
    batching: Annotated[
        bool, typer.Option(help="Coalesce concurrent requests into one model call.")
    ] = True,
    max_batch: Annotated[int, typer.Option(min=1, help="Most rows per model call.")] = 64,
    max_wait_ms: Annotated[
        float, typer.Option(min=0.0, help="Longest a request waits for others to join its batch.")
    ] = 0.5,
    max_queue: Annotated[
        int, typer.Option(min=1, help="Rows waiting per model before answering 503.")
    ] = 4096,
    max_body_size: Annotated[
        float, typer.Option(min=0.001, help="Largest request body, in MB.")
    ] = 10.0,
    sagemaker_model: Annotated[
        str | None, typer.Option(help="Model answering SageMaker's /invocations.")
    ] = None,
    header_timeout: Annotated[
        float,
        typer.Option(min=0.001, help="Seconds a client may take to send a request's headers."),
    ] = 10.0,
    body_timeout: Annotated[
        float, typer.Option(min=0.001, help="Seconds a client may take to send a request's body.")
    ] = 60.0,
    keep_alive_timeout: Annotated[
        float, typer.Option(min=0.001, help="Seconds an idle keep-alive connection stays open.")
    ] = 5.0,
    max_connections: Annotated[
        int, typer.Option(min=1, help="Connections open at once per worker; more get 503.")
    ] = 1000,
    durable_log: Annotated[
        bool,
        typer.Option(
            "--durable-log",
            help="Journal each model call's logged rows (fsynced) before answering: a killed "
            "server loses none (costs throughput; [monitoring] durable).",
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log every request (costs throughput).")] = False,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth",
            help="Check no API tokens, even on an address other machines reach "
            "(see docs/security.md).",
        ),
    ] = False,
) -> None:
    """Serve models over HTTP: simple JSON, Open Inference Protocol V2, SageMaker, /metrics."""
    # the server's stack (Starlette, uvicorn, monitoring's statistics) loads only for this
    # command, so every other command starts without it
    from ferryman.server.app import ServeOptions
    from ferryman.server.run import address, check_access, is_loopback, listen, run

    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise typer.BadParameter(f"unknown log level {log_level!r}", param_hint="--log-level")
    names = _names(models)
    if durable_log:  # over the settings file's and environment's [monitoring] table
        state(ctx).overrides["monitoring"] = {"durable": True}
    sock = listen(host, port)  # a busy port is refused before anything loads
    try:
        reg = registry(ctx)
        served = _check(reg, names, alias, sagemaker_model)
        _check_webhooks(reg.settings)
        said_access = check_access(host, reg, no_auth)
    except BaseException:
        sock.close()
        raise
    url = address(sock)

    def ready(unavailable: list[str]) -> None:
        if workers == 1:
            answering = [name for name in served if name not in unavailable]
            said = f"serving {', '.join(answering)} ({alias}) on {url}; docs at {url}/docs"
            if unavailable:
                said += (
                    f"; not serving {', '.join(unavailable)}: cannot be loaded (the log above "
                    "says why; answers 503 until its alias moves)"
                )
        else:  # each worker loads the models itself: say what is true now
            said = (
                f"starting {workers} workers for {', '.join(served)} ({alias}) on {url}; each "
                "serves once its models are loaded (GET /v2/health/ready)"
            )
        err_console.print(said, markup=False)
        if said_access:
            err_console.print(f"warning: {said_access}", markup=False)

    overrides = {
        k: v if isinstance(v, dict) else str(v)
        for k, v in state(ctx).overrides.items()
        if v is not None
    }
    options = ServeOptions(
        models=names,
        alias=alias,
        poll_interval=poll_interval,
        batching=batching,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        max_queue=max_queue,
        max_body_size=int(max_body_size * MEGABYTE),
        sagemaker_model=sagemaker_model,
        no_auth=no_auth,
        loopback=is_loopback(host),
        header_timeout=header_timeout,
        body_timeout=body_timeout,
        keep_alive_timeout=keep_alive_timeout,
        max_connections=max_connections,
        settings={**overrides, "home": str(reg.settings.home)},
    )
    if workers > 1:
        reg.close()  # each worker process opens its own
    started = run(
        options,
        sock,
        workers=workers,
        log_level=log_level.lower(),
        access_log=access_log,
        registry=reg if workers == 1 else None,
        on_ready=ready,
    )
    if not started:
        err_console.print("error: the server did not start; the log above says why", markup=False)
        raise typer.Exit(1)


def _names(models: str | None) -> tuple[str, ...] | None:
    if models is None:
        return None
    names = tuple(dict.fromkeys(n.strip() for n in models.split(",") if n.strip()))
    if not names:
        raise typer.BadParameter("give at least one model name", param_hint="--models")
    return names


def _check(
    reg: Registry, names: tuple[str, ...] | None, alias: str, sagemaker: str | None
) -> list[str]:
    """Fail before loading any model if there is nothing (or something wrong) to serve."""
    # the model pool loads with the command, not with every ``ferryman`` start (server/app.py)
    from ferryman.serving.pool import PoolSettings, servable_names

    found = servable_names(reg, PoolSettings(alias=alias, models=names), strict=True)
    if not found:
        raise ConfigError(
            f"no model has a {alias!r} alias, so there is nothing to serve; set one with "
            f"`ferryman alias set NAME {alias} VERSION`"
        )
    if sagemaker is not None and sagemaker not in found:
        raise ConfigError(
            f"--sagemaker-model {sagemaker!r} is not among the served models ({', '.join(found)})"
        )
    return found


def _check_webhooks(settings: Settings) -> None:
    """Every webhook URL is http(s), checked before the models load (as ``monitor run`` does)."""
    # loaded with the server's stack (see serve), not when the CLI starts
    from ferryman.monitoring.webhooks import check_webhook_url

    if not settings.monitoring.enabled:
        return
    urls = list(settings.monitoring.webhooks)
    for model in settings.monitoring.models.values():
        urls += model.webhooks
    for url in urls:
        check_webhook_url(url)
