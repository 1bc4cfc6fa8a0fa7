"""The outbox: where a channel with no provider configured writes what it would have sent.

    <outbox>/<Message-ID>.eml              an email, ready to open in a mail client
    <outbox>/<delivery_id>.<channel>.json  an SMS, Slack message or webhook payload

Each file is written to a temporary name and renamed into place, so a reader (or a channel
asking whether it sent a delivery already) sees the whole file or none of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from backroom_reporting import settings
from backroom_reporting.delivery.model import Outcome
from backroom_reporting.rendering.store import write_into_place


class Outbox:
    def __init__(self, folder: Path | str | None = None):
        self.folder = Path(settings.OUTBOX_DIR.get() if folder is None else folder)

    def path(self, delivery_id: str, channel: str) -> Path:
        return self.folder / f"{delivery_id}.{channel}.json"

    def write(self, name: str, content: bytes) -> Path:
        target = self.folder / name
        write_into_place(target, lambda out: out.write(content))
        return target

    def write_json(self, delivery_id: str, channel: str, payload: Any) -> Outcome:
        """Write the payload for `delivery_id`; the outcome of a send that went to the outbox."""
        content = json.dumps(payload, indent=2, ensure_ascii=False, default=str).encode()
        target = self.write(self.path(delivery_id, channel).name, content)
        return Outcome(
            "sent", provider_message_id=target.name, detail=f"no provider configured: written to {target}"
        )

    def look_up(self, delivery_id: str, channel: str) -> Outcome | None:
        """The outcome of an earlier write of `delivery_id`, None when it was never written."""
        target = self.path(delivery_id, channel)
        if not target.exists():
            return None
        return Outcome("sent", provider_message_id=target.name, detail=f"found in the outbox at {target}")
