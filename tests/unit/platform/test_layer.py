"""The SharedLayer ships exactly the locked runtime dependencies (layers/shared/requirements.txt)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    lines = (ROOT / "layers/shared/requirements.txt").read_text(encoding="utf-8").splitlines()
    pins = {}
    for line in lines:
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[_normalise(match.group(1))] = match.group(2)
    return pins


def test_every_layer_pin_is_the_locked_version() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    locked = {
        _normalise(package["name"]): package["version"] for package in lock["package"] if "version" in package
    }
    stale = {
        name: (version, locked.get(name)) for name, version in _pins().items() if locked.get(name) != version
    }
    assert stale == {}, "run `make layer-requirements`"


def test_every_runtime_dependency_is_in_the_layer() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    direct = {_normalise(re.split(r"[\[<>=!~ ]", spec, maxsplit=1)[0]) for spec in project["dependencies"]}
    assert direct - set(_pins()) == set(), "run `make layer-requirements`"
    assert "moto" not in _pins(), "test-only packages stay out of the layer"
