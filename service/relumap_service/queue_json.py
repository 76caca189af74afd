"""Queue messages as JSON: nothing read from the queue's storage is ever unpickled.

Huey pickles its messages by default, so anyone able to write to Redis could run
code in every worker. :class:`JSONSerializer` writes a message's fields as a JSON
object instead, and reads back only JSON: a message that is not one is an error.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from huey.registry import Message
from huey.serializer import Serializer

__all__ = ["JSONSerializer"]

_MESSAGE = "huey_message"
_DATETIME_FIELDS = ("eta", "expires_resolved")


class JSONSerializer(Serializer):  # type: ignore[misc]
    """Huey serializer that encodes messages and stored data as JSON, never pickle.

    Examples
    --------
    >>> from huey.registry import Message
    >>> codec = JSONSerializer()
    >>> codec.deserialize(codec.serialize(Message(id="1", name="fit", args=("m",)))).args
    ['m']
    """

    def _serialize(self, data: Any) -> bytes:
        if isinstance(data, Message):
            fields = data._asdict()
            if fields.get("chord_config") is not None:
                raise TypeError("relumap's queue carries no chords")
            for name in _DATETIME_FIELDS:
                if fields[name] is not None:
                    fields[name] = fields[name].isoformat()
            data = {_MESSAGE: fields}
        return json.dumps(data, allow_nan=False, separators=(",", ":")).encode()

    def _deserialize(self, data: bytes) -> Any:
        value = json.loads(data)
        if isinstance(value, dict) and _MESSAGE in value:
            fields = value[_MESSAGE]
            for name in _DATETIME_FIELDS:
                if fields.get(name) is not None:
                    fields[name] = datetime.fromisoformat(fields[name])
            unknown = set(fields) - set(Message._fields)
            if unknown:
                raise ValueError(f"not a queue message: unknown fields {sorted(unknown)}")
            return Message(**fields)
        return value
