"""docker/Dockerfile and docker/docker-compose.yml: parsed and checked against the repository they build.

No Docker engine runs in CI; the compose file is also validated with ``docker compose config`` (or the
``docker-compose`` v1 client) when one is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs of the Dockerfile, continuation lines joined, comments dropped."""
    text = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def _compose() -> dict:
    """The parsed compose file."""
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


def test_dockerfile_builds_from_pinned_requirements_as_non_root_with_healthcheck() -> None:
    steps = _dockerfile()
    assert steps[0] == ("FROM", "python:3.11-slim")
    runs = [args for op, args in steps if op == "RUN"]
    assert any("pip install -r requirements.txt" in r for r in runs)
    assert any("pip install --no-deps --no-build-isolation -e ." in r for r in runs)
    sources = {source for op, args in steps if op == "COPY" for source in args.split()[:-1]}
    assert {
        "requirements.txt",
        "pyproject.toml",
        "README.md",
        "core",
        "models",
        "app",
        ".streamlit",
        "dataset",
    } <= sources
    for source in sources:
        assert (ROOT / source).exists(), f"COPY source {source} missing"
    users = [args for op, args in steps if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    health = next(args for op, args in steps if op == "HEALTHCHECK")
    assert "/_stcore/health" in health and ":8501" in health
    cmd = next(args for op, args in steps if op == "CMD")
    assert '"streamlit", "run", "app/main.py"' in cmd and (ROOT / "app" / "main.py").exists()
    assert ("EXPOSE", "8501") in steps


def test_compose_app_and_trainer_profile() -> None:
    compose = _compose()
    app, trainer = compose["services"]["app"], compose["services"]["trainer"]
    for service in (app, trainer):
        assert (DOCKER / service["build"]["context"] / service["build"]["dockerfile"]).resolve() == (
            DOCKER / "Dockerfile"
        ).resolve()
        assert service["image"] == "revintel:latest"
    assert app["ports"] == ["8501:8501"] and "profiles" not in app
    assert "../data/predictions:/app/data/predictions:ro" in app["volumes"]
    assert app["environment"]["REVINTEL_PREDICTIONS_DIR"] == "/app/data/predictions"
    assert trainer["profiles"] == ["trainer"]
    command = trainer["command"]
    assert command[:2] == ["python", "models/inference/predict.py"] and (ROOT / command[1]).exists()
    out_dir = command[command.index("--out-dir") + 1]
    assert any(v.startswith("../data/predictions:" + out_dir) for v in trainer["volumes"])
    data_dir = command[command.index("--data-dir") + 1]
    assert any(v.endswith(f":{data_dir}:ro") for v in app["volumes"])  # comparables read the same data dir
    assert (ROOT / "dataset" / "sales_pipeline.csv").exists()


def _compose_client() -> list[str] | None:
    """A compose client: the docker plugin, else docker-compose v1, else None."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_compose_config_validates() -> None:
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose client installed")
    for extra in ([], ["--profile", "trainer"]):
        done = subprocess.run(
            [*client, "-f", str(DOCKER / "docker-compose.yml"), *extra, "config", "--services"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        services = set(done.stdout.split())
        assert "app" in services and (not extra or "trainer" in services)
