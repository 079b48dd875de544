"""``python -m strongroom``: the same as the ``strongroom`` command."""

from __future__ import annotations

import sys

from strongroom.cli import main

sys.exit(main())
