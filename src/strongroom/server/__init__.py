"""The HSM node server: one engine served over TLS 1.3 with the wire-v1 protocol.

``make_node`` creates a node directory, ``install_cluster_certificate`` gives it its
cluster certificate, ``run_node`` serves it (``strongroom hsm serve``).
"""

from __future__ import annotations

from strongroom.server.listener import ListenerLimits, NodeListener
from strongroom.server.node import (
    NodeConfig,
    install_cluster_certificate,
    make_node,
    open_node_hsm,
    run_node,
    server_ssl_context,
)

__all__ = [
    "ListenerLimits",
    "NodeConfig",
    "NodeListener",
    "install_cluster_certificate",
    "make_node",
    "open_node_hsm",
    "run_node",
    "server_ssl_context",
]
