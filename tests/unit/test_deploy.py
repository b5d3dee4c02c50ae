"""The reference deployment in deploy/: its env template names every setting, and systemd accepts its units."""

from __future__ import annotations

import re
import shlex
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from domain.settings import PRODUCTION_MUST_SET, Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENV_TEMPLATE = DEPLOY / "jsc.env.example"
SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
INSTALL_PREFIX = "/opt/jsc"


def template_lines() -> tuple[dict[str, str], set[str]]:
    """The settings the template sets, and those it names in a comment (``# JSC_X=default``)."""
    assigned: dict[str, str] = {}
    mentioned: set[str] = set()
    for line in ENV_TEMPLATE.read_text().splitlines():
        if match := re.fullmatch(r"(JSC_[A-Z0-9_]+)=(.*)", line):
            (value,) = shlex.split(match[2]) or [""]
            assigned[match[1]] = value
        elif match := re.fullmatch(r"# (JSC_[A-Z0-9_]+)=.*", line):
            mentioned.add(match[1])
    return assigned, mentioned


def test_the_env_template_names_every_setting_and_sets_those_production_must() -> None:
    assigned, mentioned = template_lines()
    every = {f"JSC_{name.upper()}" for name in Settings.model_fields}
    must = {f"JSC_{name.upper()}" for name in PRODUCTION_MUST_SET}

    assert sorted(every - assigned.keys() - mentioned) == [], "settings missing from deploy/jsc.env.example"
    assert sorted(must - assigned.keys()) == [], "production settings left commented out"
    assert sorted((assigned.keys() | mentioned) - every) == [], "names in the template that are no setting"


def test_the_env_template_as_written_is_a_valid_production_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    # given: only the template's settings in the environment (as systemd's EnvironmentFile= gives them)
    for name in Settings.model_fields:
        monkeypatch.delenv(f"JSC_{name.upper()}", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assigned, _ = template_lines()
    for name, value in assigned.items():
        monkeypatch.setenv(name, value)

    # when / then: production's checks pass, and the JSON values are read as JSON
    settings = Settings()
    assert settings.environment == "production"
    assert settings.trusted_proxies == ["127.0.0.1"]
    assert settings.cors_allowed_origins == ["https://peta.jakarta.go.id"]
    assert not settings.graphiql
    assert not settings.graphql_introspection


def worker_queues() -> set[str]:
    from workers.runtime import app

    app.perform_import_paths()
    return {task.queue for task in app.tasks.values() if not task.name.startswith("builtin:")}


def test_the_backup_timers_take_the_kinds_of_backup_jsc_backup_knows() -> None:
    from cli.main import build_parser

    kinds = set()
    for timer in sorted((DEPLOY / "systemd").glob("jsc-backup-*.timer")):
        (kind,) = re.findall(r"^Unit=jsc-backup@(\w+)\.service$", timer.read_text(), flags=re.M)
        kinds.add(kind)
        build_parser().parse_args(["backup", "take", "--type", kind])  # exits on a kind it does not know
    assert kinds == {"full", "incr"}


def test_the_target_starts_a_worker_for_every_queue_a_task_uses() -> None:
    target = (DEPLOY / "systemd" / "jsc.target").read_text()
    started = set(re.findall(r"jsc-worker@([\w-]+)\.service", target))
    assert worker_queues() <= started, sorted(worker_queues() - started)


@pytest.mark.skipif(not Path(SYSTEMD_ANALYZE).exists(), reason="systemd-analyze is not installed")
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    """`systemd-analyze verify` reads the units as systemd would (unknown keys, bad values, missing
    dependencies, commands that are not executable), without systemd running: only the install prefix is moved
    to a temporary folder holding an executable stand-in for the venv's python."""
    prefix = tmp_path / "opt-jsc"
    python = prefix / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n")
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    units = tmp_path / "units"
    shutil.copytree(DEPLOY / "systemd", units)
    for path in units.rglob("*"):
        if path.is_file():
            path.write_text(path.read_text().replace(INSTALL_PREFIX, str(prefix)))
    names = ["jsc.target", "jsc-migrate.service", "jsc-api.service", "jsc-backup-full.timer", "jsc-backup-incr.timer"]
    for queue in sorted(worker_queues()):
        (units / f"jsc-worker@{queue}.service").symlink_to("jsc-worker@.service")
        names.append(f"jsc-worker@{queue}.service")
    for kind in ("full", "incr"):
        (units / f"jsc-backup@{kind}.service").symlink_to("jsc-backup@.service")
        names.append(f"jsc-backup@{kind}.service")

    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *(str(units / name) for name in names)],
        capture_output=True,
        text=True,
        check=False,
        env={"SYSTEMD_LOG_COLOR": "0", "PATH": "/usr/bin:/bin"},
    )

    # Warnings (an unknown key, a bad value) leave the exit status 0: any output is a failure.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.skipif(not Path(SYSTEMD_ANALYZE).exists(), reason="systemd-analyze is not installed")
def test_the_units_are_hardened() -> None:
    users = {
        "jsc-api.service": "jsc",
        "jsc-worker@.service": "jsc",
        "jsc-migrate.service": "jsc",
        "jsc-backup@.service": "postgres",  # pgBackRest reads the cluster it backs up, as its owner
    }
    for unit, user in users.items():
        text = (DEPLOY / "systemd" / unit).read_text()
        for option in ("NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes"):
            assert option in text, (unit, option)
        assert f"User={user}" in text
        assert "MemoryMax=" in text
        result = subprocess.run(
            [SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=30", str(DEPLOY / "systemd" / unit)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, (unit, result.stdout[-2000:], result.stderr[-2000:])
