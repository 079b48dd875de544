"""The wire protocol shared by the HSM node and its clients (docs/formats/wire-v1.md).

Frames, messages, the command table, value encodings and the error-code table. No sockets:
the server and the client bring their own transports.
"""

from __future__ import annotations

from strongroom.protocol.commands import COMMANDS, CommandSpec, check_args
from strongroom.protocol.errors import error_from_wire, error_to_wire
from strongroom.protocol.frames import (
    DEFAULT_MAX_FRAME,
    WIRE_VERSION,
    ErrorResponse,
    FrameDecoder,
    Hello,
    Message,
    OkResponse,
    Request,
    decode_message,
    encode_message,
)
from strongroom.protocol.values import (
    decode_params,
    decode_template,
    encode_params,
    encode_template,
)

__all__ = [
    "COMMANDS",
    "DEFAULT_MAX_FRAME",
    "WIRE_VERSION",
    "CommandSpec",
    "ErrorResponse",
    "FrameDecoder",
    "Hello",
    "Message",
    "OkResponse",
    "Request",
    "check_args",
    "decode_message",
    "decode_params",
    "decode_template",
    "encode_message",
    "encode_params",
    "encode_template",
    "error_from_wire",
    "error_to_wire",
]
