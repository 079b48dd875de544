"""The PKCS#11 bridge: p11-kit's RPC protocol served over the SDK.

Applications load Debian's stock ``p11-kit-client.so`` with
``P11_KIT_SERVER_ADDRESS=unix:path=…`` (or ``"|strongroom pkcs11 serve --stdio"``) and see
the cluster as one slot and token; docs/pkcs11.md says what works through which p11-kit.
Like the SDK, the bridge holds no key material: it never imports the engine, the store, the
server or the backup code (an import-linter contract).
"""

from __future__ import annotations

from strongroom.pkcs11.server import BridgeServer, serve_stdio
from strongroom.pkcs11.token import SLOT_ID, Application, Token

__all__ = ["SLOT_ID", "Application", "BridgeServer", "Token", "serve_stdio"]
