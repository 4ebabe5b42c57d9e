"""docker-compose.yml (no Docker engine runs here) and the README: shape and settings names."""

from __future__ import annotations

from pathlib import Path

import yaml

from backroom.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def test_workers_scale_and_migrations_run_first():
    services = compose()
    worker = services["worker"]
    assert "container_name" not in worker and "ports" not in worker  # `--scale worker=3`
    assert worker["command"] == ["backroom", "worker"]
    for name in ("app", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert services["migrate"]["command"] == ["backroom", "migrate"]
    assert (
        services["temporal"]["depends_on"]["temporal-schema"]["condition"] == "service_completed_successfully"
    )
    for script in ("setup-schema.sh", "create-namespace.sh"):
        assert (ROOT / "deploy" / "temporal" / script).exists()


def test_every_variable_given_to_backroom_is_a_setting():
    known = {f.alias for f in Settings.model_fields.values()}
    env = compose()["app"]["environment"]
    assert set(env) - known == set()
    assert env["DATABASE_URL"].startswith("postgresql://") and env["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_readme_documents_every_setting():
    readme = (ROOT / "README.md").read_text()
    missing = [f.alias for f in Settings.model_fields.values() if f"`{f.alias}`" not in readme]
    assert missing == []
