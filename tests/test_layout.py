"""The tree reads like the pipeline: stage folders, imports that only point down, no circles.

The imports are read with ``ast`` from the source files (lazy imports inside
functions included), so a change that breaks the layout fails here before a
reader is confused by it.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "facegender"
STAGES = ("detection", "features", "training", "video", "batch")

RANK = {
    # shared pieces every stage may use
    "errors": 0, "types": 0, "threads": 0, "images": 0, "draw": 0, "draw_files": 0,
    "detection": 1,
    "features": 2,
    "model": 3, "persist": 3,
    "analyze": 4,
    "video": 5, "batch": 5,
    "training": 6,
    "__init__": 7,
    "web": 8, "cli": 8,
}
"""Where each top-level module or folder sits in the flow: an import may only point to a
lower or equal rank, and two different folders of one rank never import each other."""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The facegender modules a file imports (a ``from pkg import sub`` counts as ``pkg.sub``)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("facegender")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("facegender"):
                continue
            subs = {f"{target}.{a.name}" for a in node.names} & known
            found |= subs or {target}
    return found & known


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {name: imports_of(path, set(mods)) - {name} for name, path in mods.items()}


def top_part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_few_modules_at_the_top_and_stage_folders() -> None:
    top = sorted(p.name for p in PKG.glob("*.py"))
    assert len(top) <= 12, top
    folders = [d.name for d in PKG.iterdir() if (d / "__init__.py").is_file()]
    assert set(STAGES) <= set(folders), folders
    assert len(set(folders) - {"web"}) >= 5


def test_every_module_has_a_rank() -> None:
    assert {top_part(m) for m in modules()} <= set(RANK)


def test_no_import_circle() -> None:
    g = graph()
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(g[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(g):
        if node not in state:
            visit(node)


def test_imports_point_down_the_pipeline() -> None:
    wrong = []
    for mod, targets in graph().items():
        here = top_part(mod)
        for t in targets:
            there = top_part(t)
            if there == "__init__" or there == here:
                continue  # the package's version string; or inside one folder
            sibling_stages = RANK[there] == RANK[here] and {here, there} <= set(STAGES)
            if RANK[there] > RANK[here] or sibling_stages:
                wrong.append(f"{mod} imports {t}")
    assert not wrong, wrong


@pytest.mark.parametrize("lower", ["detection", "features"])
def test_lower_stages_never_import_higher_ones(lower: str) -> None:
    higher = ("training", "video", "batch", "web", "cli", "analyze", "model", "persist")
    bad = [f"{m} imports {t}" for m, ts in graph().items() if top_part(m) == lower
           for t in ts if top_part(t) in higher]
    assert not bad, bad


def test_web_and_cli_use_public_names_only() -> None:
    """web/ and cli.py import facegender's top modules or a stage folder, never inside one."""
    bad = []
    for name, path in modules().items():
        if top_part(name) not in ("web", "cli"):
            continue
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            parts = target.split(".")
            if parts[0] != "facegender":
                continue
            if len(parts) > 2 and parts[1] in STAGES:
                bad.append(f"{name}: from {target} import ...")
            bad += [f"{name}: {a.name}" for a in node.names
                    if a.name.startswith("_") and a.name != "__version__"]
    assert not bad, bad


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_says_what_it_does_and_exports_it(stage: str) -> None:
    package = importlib.import_module(f"facegender.{stage}")
    doc = (package.__doc__ or "").strip()
    assert 1 <= len(doc.splitlines()) <= 6 and len(doc) > 60, doc
    assert package.__all__ and all(hasattr(package, n) for n in package.__all__)


def test_shipped_models_hog_path_resolves_and_the_old_one_too() -> None:
    """Every type the shipped eigen-face file records is trusted and resolves; models saved
    before the stage folders name ``facegender.features.HogFeatures``, which must too."""
    import skops.io as sio

    from facegender.features import HogFeatures
    from facegender.persist import TRUSTED_TYPES, default_model_dir

    recorded = sio.get_untrusted_types(file=default_model_dir("eigenface") / "model.skops")
    assert set(recorded) <= set(TRUSTED_TYPES)
    hog = [t for t in recorded if t.endswith(".HogFeatures")]
    assert hog and "facegender.features.HogFeatures" in TRUSTED_TYPES
    for path in {*hog, "facegender.features.HogFeatures"}:
        module, _, attr = path.rpartition(".")
        assert getattr(importlib.import_module(module), attr) is HogFeatures
