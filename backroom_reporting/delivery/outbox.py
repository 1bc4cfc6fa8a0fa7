"""The outbox: where a channel with no provider configured writes what it would have sent.

    <BACKROOM_OUTBOX>/<delivery_id>.<channel>.json

One file per delivery, written to a temporary name and renamed into place, so a reader (or a
channel asking whether it sent a delivery already) sees the whole file or none of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backroom_reporting import settings
from backroom_reporting.delivery.model import Outcome
from backroom_reporting.rendering.store import _write_into_place


def path(delivery_id: str, channel: str) -> Path:
    return Path(settings.OUTBOX_DIR.get()) / f"{delivery_id}.{channel}.json"


def write_json(delivery_id: str, channel: str, payload: Any) -> Outcome:
    """Write the payload for `delivery_id`; the outcome of a send that went to the outbox."""
    target = path(delivery_id, channel)
    content = json.dumps(payload, indent=2, ensure_ascii=False, default=str).encode()
    _write_into_place(target, lambda out: out.write(content))
    return Outcome(
        "sent", provider_message_id=target.name, detail=f"no provider configured: written to {target}"
    )


def look_up(delivery_id: str, channel: str) -> Outcome | None:
    """The outcome of an earlier write of `delivery_id`, None when it was never written."""
    target = path(delivery_id, channel)
    if not target.exists():
        return None
    return Outcome("sent", provider_message_id=target.name, detail=f"found in the outbox at {target}")
