"""The package's layers (docs/architecture.md): no module imports a layer above its own, and no import cycle.

Read from the source with ``ast``: every ``import`` and ``from ... import`` of a proxyseg module,
at module level or inside a function.
"""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import proxyseg

PACKAGE = Path(proxyseg.__file__).parent

#: Bottom to top, as docs/architecture.md gives them: a module may import its own layer and those below.
LAYERS = [
    ("foundation", ["grid", "errors", "text", "limits", "files", "schema", "progress", "workers", "atomic",
                    "ownership", "model_files"]),
    ("data", ["audio", "labels", "formats", "intervals", "metrics", "postprocessing"]),
    ("corpus", ["corpus"]),
    ("models", ["features", "models", "nmf", "artefacts"]),
    ("inference", ["inference", "teachers"]),
    ("jobs", ["inputs", "batch", "segmentation", "evaluation", "explain"]),
    ("training", ["training"]),
    ("interface", ["cli", "__main__"]),
]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The proxyseg modules ``path`` imports (``from proxyseg import x`` counts as ``proxyseg.x``
    when ``x`` is a module, as the bare package otherwise)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "proxyseg"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.split(".")[0] == "proxyseg":
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if (PACKAGE.parent / candidate.replace(".", "/")).with_suffix(".py").exists()
                          or (PACKAGE.parent / candidate.replace(".", "/")).is_dir() else node.module)
    return found


def _graph() -> dict[str, set[str]]:
    return {_module_name(path): _imports(path) - {_module_name(path)} for path in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int | None:
    """The index in LAYERS of a module (None for the package itself, a facade that any layer may name)."""
    if module == "proxyseg":
        return None
    top = module.split(".")[1]
    return next((index for index, (_, members) in enumerate(LAYERS) if top in members), -1)


def test_every_module_belongs_to_a_layer():
    assert [module for module in _graph() if _layer(module) == -1] == []


def test_no_module_imports_a_layer_above_its_own():
    upward = [f"{module} ({LAYERS[_layer(module)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
              for module, targets in _graph().items() if _layer(module) is not None
              for target in sorted(targets) if _layer(target) is not None and _layer(target) > _layer(module)]
    assert upward == []


def test_there_is_no_import_cycle():
    graph = _graph()
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            # A submodule importing its own package's __init__ (implicitly or not) is Python's normal order.
            if module.startswith(target + "."):
                continue
            if state.get(target) == "open":
                return [*path, module, target]
            if target not in state and (cycle := visit(target, [*path, module])):
                return cycle
        state[module] = "done"
        return None

    for module in graph:
        if module not in state:
            assert visit(module, []) is None


def test_the_package_exports_its_public_api_lazily():
    names = ["CLASSES", "Explainer", "ProxysegError", "Segmenter", "learn_corpus_dictionary", "load_model",
             "train_proxy", "train_teacher"]
    for name in names:
        value = getattr(proxyseg, name)
        assert value is getattr(importlib.import_module(proxyseg._EXPORTS[name]), name)
    assert set(names) <= set(dir(proxyseg)) and set(names) <= set(proxyseg.__all__)
    probe = "import sys, proxyseg; print(sorted({'torch', 'pyannote.core', 'numpy'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "[]"


def test_the_rule_would_see_an_upward_import(tmp_path):
    """The checker itself: a data-layer module importing the command line is reported."""
    module = tmp_path / "labels.py"
    module.write_text("def f():\n    from proxyseg.cli import main\n")
    assert "proxyseg.cli" in _imports(module) and _layer("proxyseg.cli") > _layer("proxyseg.labels")
