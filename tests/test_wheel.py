"""The wheel works away from the checkout: migrations and demo data are inside it, and it
installs nothing but ``nianbao`` (no top-level ``models``, ``crawler`` or ``pipelines``).

The wheel is built and unpacked with ``--no-deps --target``; its dependencies come from the
environment running the tests, and everything runs from a folder outside the repository,
so nothing can be found through the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_runs_the_demo_and_the_read_commands(tmp_path):
    # Built from a copy: setuptools' build/ folder in the checkout may hold modules that
    # were renamed since, and they would end up in the wheel.
    source = tmp_path / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__",
                                      "*.sqlite*", ".pytest_cache", ".ruff_cache", ".mypy_cache"),
    )  # fmt: skip
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
         str(source), "-w", str(wheels)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("nianbao-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    installed = sorted(p.name for p in target.iterdir() if not p.name.endswith(".dist-info"))
    assert installed == ["bin", "nianbao"] or installed == ["nianbao"], installed
    assert (target / "nianbao" / "migrations" / "env.py").is_file()
    assert len(list((target / "nianbao" / "demo" / "data" / "seeds").glob("*.txt"))) == 5

    # Only the wheel and the test environment's dependencies are importable: not the
    # checkout (the editable install's finder is left out with the rest of site-packages'
    # .pth files by running with -S and an explicit path).
    deps = sysconfig.get_paths()["purelib"]
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NIANBAO")},
        "PYTHONPATH": os.pathsep.join([str(target), deps]),
        "PYTHONIOENCODING": "utf-8",
    }
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-S", *args],
            cwd=work, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    for name in ("models", "crawler", "pipelines"):
        assert run("-c", f"import {name}").returncode != 0, f"{name} is importable"
    probe = run("-c", "import nianbao.models.db as d; print(d.migrations_dir())")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().startswith(str(target)), probe.stdout

    db = str(tmp_path / "demo.sqlite")
    demo = run("-m", "nianbao", "demo", "--db", db)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    for args in (["reports"], ["show", "2"], ["versions", "2"], ["captures", "2"],
                 ["search", "依申请公开"], ["runs"], ["verify"], ["explain", "2"]):  # fmt: skip
        proc = run("-m", "nianbao", *args, "--db", db)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
