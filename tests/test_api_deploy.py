"""Deployment and contract checks: docker-compose.yml, Dockerfile, the OpenAPI document, and that the
service's tables in the models agree with the migrations (SQLite and PostgreSQL)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api.app import create_app
from reference_db.engine import open_engine
from reference_db.models import Base
from tests.api_helpers import REPO, api_settings

SERVICE_TABLES = {"api_keys", "scan_jobs"}


def _compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_runs_api_worker_and_pgvector_with_volumes_and_health_checks() -> None:
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"api", "worker", "postgres"}
    assert services["postgres"]["image"] == "pgvector/pgvector:pg17"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    assert "/metrics" in " ".join(services["worker"]["healthcheck"]["test"])
    assert services["api"]["command"] == ["provenance", "serve"]  # no flags: configuration is the environment
    assert services["worker"]["command"] == ["provenance", "worker"]
    assert services["worker"]["depends_on"]["api"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        env = services[name]["environment"]
        assert all(k.startswith("PROVENANCE_") for k in env), env
        assert env["PROVENANCE_DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in env["PROVENANCE_DATABASE_URL"]
        assert env["PROVENANCE_HOME"] == "/data" and "data:/data" in services[name]["volumes"]  # blobs shared by API and worker
    assert services["api"]["environment"]["PROVENANCE_RUN_WORKER"] == "false"
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    named = {v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if not v.startswith(("$", ".", "/"))}
    assert named <= set(compose["volumes"]) and {"pgdata", "data"} <= named
    for name in ("POSTGRES_PASSWORD", "PROVENANCE_PORT", "PROVENANCE_CLIP_PRETRAINED", "PROVENANCE_MAX_FILE_BYTES"):
        assert "${" + name in (REPO / "docker-compose.yml").read_text()


def test_compose_file_validates_with_docker_compose() -> None:
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) is None:
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, text=True, cwd=REPO)
        if probe.returncode != 0:
            continue
        result = subprocess.run([*command, "config", "-q"], capture_output=True, text=True, cwd=REPO)
        assert result.returncode == 0, result.stderr
        return
    pytest.skip("neither `docker compose` nor `docker-compose` is installed")


def test_dockerfile_serves_the_api_with_a_health_check() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert 'CMD ["provenance", "serve"]' in text and "HEALTHCHECK" in text and "/readyz" in text
    assert "COPY api/ api/" in text and "EXPOSE 8000" in text and "USER provenance" in text
    assert "download.pytorch.org/whl/cpu" in text  # the CPU build of torch, not GBs of CUDA wheels


def test_openapi_documents_errors_examples_and_auth(tmp_path: Path) -> None:
    spec = create_app(api_settings(tmp_path, None)).openapi()
    schemes = spec["components"]["securitySchemes"]
    assert {"APIKeyHeader", "HTTPBearer"} <= set(schemes)
    schemas = spec["components"]["schemas"]
    for name in ("ErrorResponse", "Scan", "Work", "KeyCreated", "OptOutCheckResult", "Readiness", "HolderCreate", "WorkUpdate"):
        assert "example" in schemas[name] or "examples" in schemas[name], name
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            if not path.startswith("/v1/"):
                continue
            for status in ("401", "403"):
                response = operation["responses"].get(status)
                assert response, (method, path, status)
                assert response["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
            assert operation.get("security"), (method, path)
    uploads = spec["paths"]["/v1/scans"]["post"]
    assert {"202", "200", "413", "422"} <= set(uploads["responses"])
    assert "multipart/form-data" in uploads["requestBody"]["content"]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migrations_and_models_agree(backend: str, tmp_path: Path, request) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    engine = open_engine(url)
    try:
        with engine.connect() as connection:
            diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()

    def table_of(diff) -> str | None:
        for item in diff if isinstance(diff, list) else [diff]:
            for part in item:
                name = getattr(part, "name", None) if not hasattr(part, "table") else part.table.name
                if isinstance(part, str) and part in SERVICE_TABLES:
                    return part
                if name in SERVICE_TABLES:
                    return name
        return None

    assert [d for d in diffs if table_of(d)] == []
