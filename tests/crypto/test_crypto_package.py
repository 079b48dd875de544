"""The crypto package's public surface and its import boundary."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import strongroom.crypto

_PACKAGE_DIR = Path(strongroom.crypto.__file__).parent
_MODULES = sorted(_PACKAGE_DIR.glob("*.py"))


def test_all_is_curated_and_complete() -> None:
    """Every name in __all__ exists, and every public non-module name is in __all__."""
    exported = set(strongroom.crypto.__all__)
    assert len(exported) == len(strongroom.crypto.__all__)
    for name in exported:
        assert hasattr(strongroom.crypto, name), name
    public = {
        name
        for name, value in vars(strongroom.crypto).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name != "annotations"
    }
    assert public == exported


def test_submodule_exports_are_reexported() -> None:
    """The package re-exports each submodule's __all__, apart from named internals."""
    internals = {"GCM_IV_SIZE", "GCM_TAG_SIZE", "hash_algorithm"}
    for path in _MODULES:
        if path.stem.startswith("_"):
            continue
        module = getattr(strongroom.crypto, path.stem)
        missing = set(module.__all__) - set(strongroom.crypto.__all__) - internals
        assert not missing, (path.stem, missing)


def test_crypto_imports_only_errors_from_strongroom() -> None:
    """No crypto module imports any part of strongroom except errors and crypto itself."""
    for path in _MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "strongroom":
                    assert name == "strongroom.errors" or name.startswith("strongroom.crypto"), (
                        path.name,
                        name,
                    )


def test_every_module_opens_with_a_docstring() -> None:
    """Each module begins with a docstring saying what it owns and must not touch."""
    for path in _MODULES:
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert docstring, path.name
        assert "must not" in docstring or path.name == "__init__.py", path.name
