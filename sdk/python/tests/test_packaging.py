"""The package builds as a wheel carrying its type marker and every module."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_builds_with_py_typed(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("countersign-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("__init__", "_der", "chain", "client", "decision", "digest", "errors", "keys",
                   "langgraph", "models", "openai_agents", "request"):
        assert f"countersign/{module}.py" in names
    assert "countersign/py.typed" in names
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Requires-Python: >=3.10" in text and "Requires-Dist: rfc8785" in text
