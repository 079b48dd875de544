"""Child process: serve a node directory like ``strongroom hsm serve``, with listener limits.

Run as ``python -m net.limited_node --node-dir D --ready-file F --log-file L --limits JSON``
from the tests directory. ``strongroom hsm serve`` offers no way to change the listener's
limits, but ``serve_node`` takes a ``ListenerLimits``; this is that call, with the same ready
file (``{"address", "pid"}``) and the same SIGTERM/SIGINT handling as ``run_node``, so tests can
give a real node process a short hello timeout or a small frame limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from pathlib import Path

from strongroom.files import write_atomic
from strongroom.server.listener import ListenerLimits
from strongroom.server.logs import configure_logging
from strongroom.server.node import NodeConfig, serve_node


def main() -> None:
    """Serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--node-dir", type=Path, required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    parser.add_argument("--log-file", type=Path, required=True)
    parser.add_argument("--limits", type=json.loads, required=True)
    args = parser.parse_args()
    configure_logging("info", args.log_file)
    config = NodeConfig.load(args.node_dir)
    limits = ListenerLimits(**args.limits)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)

        def ready(host: str, port: int) -> None:
            body = {"address": f"{host}:{port}", "pid": os.getpid(), "name": config.name}
            write_atomic(args.ready_file, json.dumps(body).encode(), 0o644)

        await serve_node(config, stop, on_ready=ready, limits=limits)

    asyncio.run(serve())


if __name__ == "__main__":
    main()
