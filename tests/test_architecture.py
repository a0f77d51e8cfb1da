"""Layering rules from DESIGN.md, checked on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "interdict"
PLATFORM = {"config", "errors", "db", "auth", "audit", "alerts", "reference", "logging"}
DOMAINS = {"substances", "precursors", "targeting", "network", "seizures", "spectra",
           "exchange", "trends", "online"}
ADAPTER_LIBS = {"fastapi", "starlette", "click", "uvicorn"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _package_of(path: Path) -> str:
    rel = path.relative_to(SRC).parts
    return rel[0].removesuffix(".py")


def test_platform_never_imports_domains():
    for path in SRC.rglob("*.py"):
        if _package_of(path) not in PLATFORM:
            continue
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "interdict" and len(parts) > 1:
                assert parts[1] not in DOMAINS, f"{path} imports domain module {name}"


def test_services_do_not_import_web_or_cli_frameworks():
    for path in SRC.rglob("service.py"):
        bad = {n for n in _imports(path) if n.split(".")[0] in ADAPTER_LIBS}
        assert not bad, f"{path} imports {bad}"


def test_domains_use_other_domains_only_through_service():
    for path in SRC.rglob("*.py"):
        pkg = _package_of(path)
        if pkg not in DOMAINS:
            continue
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "interdict" and len(parts) > 1 and parts[1] in DOMAINS \
                    and parts[1] != pkg:
                assert len(parts) > 2 and parts[2] in {"service", "schemas"}, \
                    f"{path} reaches into {name}"


def test_no_grab_bag_modules_and_modules_stay_small():
    for path in SRC.rglob("*.py"):
        assert path.stem not in {"utils", "helpers", "misc"}, path
        assert len(path.read_text().splitlines()) <= 800, f"{path} is over 800 lines"
