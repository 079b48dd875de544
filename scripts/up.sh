#!/usr/bin/env bash
# Set up and run Strongroom's main job on its embedded defaults.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/setup.sh
exec .venv/bin/strongroom demo "$@"
