"""The import rules of docs/architecture.md, checked by reading the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "kgcomplete"
ML = ("kgcomplete.models", "kgcomplete.training", "kgcomplete.proposals", "kgcomplete.evaluation",
      "kgcomplete.jobs", "torch", "torch_geometric")
FOUNDATION = ("kgcomplete.errors", "kgcomplete.config", "kgcomplete.graph", "kgcomplete.records", "kgcomplete.datasets",
              "kgcomplete.pyg")


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every import in ``path`` (names empty for ``import x``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append((node.module, [a.name for a in node.names]))
    return out


@pytest.mark.parametrize("path", sorted((PACKAGE / "db").glob("*.py")), ids=lambda p: p.name)
def test_database_io_imports_no_ml_code(path):
    bad = [m for m, _ in imports(path) if m.startswith(ML)]
    assert not bad, f"{path.name} imports {bad}: db/ must get proposals as kgcomplete.records"


@pytest.mark.parametrize("name", ["errors", "config", "graph", "records"])
def test_the_foundation_imports_only_the_foundation(name):
    ours = [m for m, _ in imports(PACKAGE / f"{name}.py") if m.startswith("kgcomplete")]
    assert all(m.startswith(FOUNDATION) for m in ours), ours


def test_no_module_imports_another_modules_private_names():
    offenders = [(p.relative_to(PACKAGE).as_posix(), m, n) for p in modules() for m, names in imports(p)
                 if m.startswith("kgcomplete") for n in names if n.startswith("_") and n != "__version__"]
    assert not offenders, offenders


def test_every_error_is_in_the_errors_module_and_exported():
    import kgcomplete
    from kgcomplete import errors

    defined_elsewhere = [(p.name, node.name) for p in modules() if p.name != "errors.py"
                         for node in ast.walk(ast.parse(p.read_text())) if isinstance(node, ast.ClassDef)
                         and any(getattr(b, "id", "").endswith(("Error", "Mismatch")) for b in node.bases)]
    assert not defined_elsewhere, defined_elsewhere
    ours = [n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.KGCompleteError)]
    assert set(ours) <= set(kgcomplete.__all__)


def test_no_code_or_doc_names_the_shared_folder():
    root = PACKAGE.parent
    texts = [*root.joinpath("kgcomplete").rglob("*.py"), *root.joinpath("tests").rglob("*.py"),
             *root.joinpath("notebooks").glob("*.ipynb"), *root.joinpath("docs").rglob("*.md"), root / "README.md"]
    folder = ".." + "/shared"   # spelt in two parts so that this file does not name it either
    offenders = [str(p.relative_to(root)) for p in texts if folder in p.read_text()]
    assert not offenders, offenders
