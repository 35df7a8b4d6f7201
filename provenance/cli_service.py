"""Service commands of the ``provenance`` CLI: ``keys``, ``serve`` and ``worker``."""
from __future__ import annotations

import json
import logging
import signal
import threading

import click

log = logging.getLogger(__name__)


def _store(obj):
    from reference_db.store import Store

    obj.settings.home.mkdir(parents=True, exist_ok=True)
    return Store.open(obj.settings.resolved_database_url)


@click.group()
def keys() -> None:
    """Issue, list and revoke API keys of the HTTP service."""


@keys.command("create")
@click.option("--role", required=True, type=click.Choice(["admin", "rights_holder", "reviewer", "optout_client"]))
@click.option("--holder", help="Rights holder (required for rights_holder keys; created if new).")
@click.option("--name", default="", help="A label for people, e.g. who uses the key.")
@click.option("--json", "as_json", is_flag=True, help="Print the key as JSON.")
@click.pass_obj
def keys_create(obj, role: str, holder: str | None, name: str, as_json: bool) -> None:
    """Issue a key. The secret is printed once; only its hash is stored."""
    from api.auth import issue_key

    if role == "rights_holder" and not holder:
        raise click.UsageError("--holder is required for a rights_holder key")
    if role != "rights_holder" and holder:
        raise click.UsageError(f"a {role} key is not bound to a holder; drop --holder")
    store = _store(obj)
    try:
        with store.session() as session:
            holder_row = store.get_or_create_holder(session, holder) if holder else None
            issued = issue_key(session, role, holder_row, name)
    finally:
        store.close()
    data = {"id": issued.id, "role": issued.role, "holder": issued.holder_name, "holder_id": issued.holder_id,
            "name": issued.name, "key": issued.secret}
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        click.echo(f"key #{issued.id} ({role}{', ' + issued.holder_name if issued.holder_name else ''}) — shown once, store it now:")
        click.echo(issued.secret)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def keys_list(obj, as_json: bool) -> None:
    """List keys (never their secrets)."""
    from sqlalchemy import select

    from reference_db.models import ApiKey, RightsHolder

    store = _store(obj)
    try:
        with store.session() as session:
            rows = session.execute(
                select(ApiKey, RightsHolder.name).outerjoin(RightsHolder, ApiKey.holder_id == RightsHolder.id).order_by(ApiKey.id)
            ).all()
            items = [
                {"id": k.id, "role": k.role, "holder": h, "name": k.name, "created_at": k.created_at.isoformat(),
                 "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
                for k, h in rows
            ]
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"keys": items}, indent=2))
        return
    for item in items:
        state = "revoked" if item["revoked_at"] else "active"
        click.echo(f"#{item['id']}\t{item['role']}\t{item['holder'] or '-'}\t{state}\t{item['name']}")


@keys.command("revoke")
@click.argument("key_id", type=int)
@click.pass_obj
def keys_revoke(obj, key_id: int) -> None:
    """Revoke a key: it stops working at once."""
    from api.auth import revoke_key

    store = _store(obj)
    try:
        with store.session() as session:
            if revoke_key(session, key_id) is None:
                raise click.ClickException(f"no key #{key_id}")
    finally:
        store.close()
    click.echo(f"revoked key #{key_id}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, envvar="PROVENANCE_API_HOST", help="Also $PROVENANCE_API_HOST.")
@click.option("--port", default=8000, show_default=True, type=int, envvar="PROVENANCE_API_PORT", help="Also $PROVENANCE_API_PORT.")
@click.option("--worker/--no-worker", "worker", default=None,
              help="Run the scan worker in this process (default: yes, or $PROVENANCE_RUN_WORKER).")
@click.option("--threads", type=int, help="Concurrent scans of the in-process worker (default $PROVENANCE_WORKER_THREADS or 4).")
@click.option("--log-level", default="info", show_default=True)
@click.pass_obj
def serve(obj, host: str, port: int, worker: bool | None, threads: int | None, log_level: str) -> None:
    """Run the HTTP API (and, by default, the scan worker) with uvicorn."""
    import uvicorn

    from api.app import create_app
    from api.config import ServiceConfig

    config = ServiceConfig.from_env().with_overrides(worker_threads=threads)
    run_worker = True if worker is None else worker
    if config.run_worker is not None and worker is None:
        run_worker = config.run_worker
    app = create_app(obj.settings, config, run_worker=run_worker)
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=30)


@click.command("worker")
@click.option("--threads", type=int, help="Concurrent scans (default $PROVENANCE_WORKER_THREADS or 4).")
@click.option("--metrics-port", type=int, envvar="PROVENANCE_METRICS_PORT",
              help="Serve this worker's Prometheus metrics on this port (also $PROVENANCE_METRICS_PORT).")
@click.pass_obj
def worker_command(obj, threads: int | None, metrics_port: int | None) -> None:
    """Run scan workers alone (PostgreSQL: as many processes as you like)."""
    from api.config import ServiceConfig
    from api.service import Service

    logging.getLogger().setLevel(min(logging.getLogger().level, logging.INFO))
    config = ServiceConfig.from_env().with_overrides(worker_threads=threads)
    service = Service.open(obj.settings, config)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        if metrics_port:
            from prometheus_client import start_http_server

            start_http_server(metrics_port, registry=service.metrics.registry)
        service.warm()
        started = service.start_worker()
        click.echo(f"worker {started.worker_id} running {started.threads} thread(s); Ctrl-C to stop", err=True)
        while not stop.wait(1.0):
            pass
    finally:
        service.close()


def register(group: click.Group) -> None:
    """Add the service commands to the ``provenance`` command group."""
    group.add_command(keys)
    group.add_command(serve)
    group.add_command(worker_command)
