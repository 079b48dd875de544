#!/usr/bin/env bash
# Set up, lint, type-check and run the whole test suite. Exits non-zero on any failure,
# including a pytest run that collects no tests (pytest exit code 5).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
export PATH="$root/.venv/bin:$PATH"
echo "== ruff format --check"; ruff format --check .
echo "== ruff check";          ruff check .
echo "== mypy";                mypy
echo "== lint-imports";        lint-imports
echo "== pytest"
workers=$(python -c 'import os; print(max(1, min(2, os.cpu_count() or 1)))')
exec pytest -n "$workers" --dist loadgroup "$@"
