"""Reading a third party's JSON:API over HTTP: timeouts, retries with backoff, rate limits, paging.

A connector's pull must survive what APIs do on a busy night: a 5xx, a dropped connection
or a timeout is tried again with exponential backoff and jitter; a 429 waits as long as its
`Retry-After` says (seconds or an HTTP date). When the tries run out, or the API refuses
the request outright (a 4xx), the pull ends with one sentence saying what failed and what to do.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

# A Retry-After longer than this is not waited out inside a step: the pull fails and the
# next scheduled one resumes from the cursor.
LONGEST_WAIT_SECONDS = 300.0


class ConnectorFault(Exception):
    """A pull that cannot go on: `sentence` says what failed and what to do; `transient` when
    trying again later may succeed."""

    def __init__(self, sentence: str, transient: bool):
        super().__init__(sentence)
        self.sentence = sentence
        self.transient = transient


def retry_after(value: str | None, now: dt.datetime) -> float | None:
    """The seconds a `Retry-After` header asks for: a number of seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass
class JsonApi:
    """One API: its base URL, credentials (headers), and how hard to try."""

    name: str  # as people call it, for sentences: "Fatsoma"
    base_url: str
    headers: dict[str, str]
    timeout_seconds: float = 30.0
    max_retries: int = 5
    backoff_seconds: float = 1.0
    # Where a credential comes from, for the sentence when the API refuses it.
    credential_hint: str = "the API key"
    sleep: Callable[[float], None] = time.sleep
    requests: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._client = httpx.Client(
            base_url=self.base_url.rstrip("/") + "/",
            headers={"Accept": "application/vnd.api+json", **self.headers},
            timeout=self.timeout_seconds,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> JsonApi:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def get(self, url: str, params: dict[str, str] | None = None) -> dict:
        """One document: `url` relative to the base URL (a resource path) or absolute (a
        `links.next` the API gave)."""
        problem, wait = "", 0.0
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.sleep(wait)
            self.requests += 1
            try:
                answer = self._client.get(url, params=params)
            except httpx.TimeoutException:
                problem, wait = f"timed out after {self.timeout_seconds:g} s", self._backoff(attempt)
                continue
            except httpx.TransportError as exc:
                problem, wait = f"could not be reached ({type(exc).__name__})", self._backoff(attempt)
                continue
            if answer.status_code == 429:
                asked = retry_after(answer.headers.get("Retry-After"), dt.datetime.now(dt.UTC))
                wait = self._backoff(attempt) if asked is None else asked
                problem = "kept answering 429 Too Many Requests"
                if wait > LONGEST_WAIT_SECONDS:
                    raise ConnectorFault(
                        f"{self.name} asked to wait {wait:.0f} s before the next request (429): "
                        "the next scheduled pull resumes where this one stopped.",
                        transient=True,
                    )
                continue
            if answer.status_code >= 500:
                problem, wait = f"answered {answer.status_code}", self._backoff(attempt)
                continue
            if answer.status_code in (401, 403):
                raise ConnectorFault(
                    f"{self.name} refused the credentials ({answer.status_code} at {answer.url.path}): "
                    f"check {self.credential_hint}.",
                    transient=False,
                )
            if answer.status_code >= 400:
                raise ConnectorFault(
                    f"{self.name} refused GET {answer.url.path} with {answer.status_code}: "
                    f"{answer.text[:200].strip() or 'no detail'}.",
                    transient=False,
                )
            try:
                document = answer.json()
            except ValueError:
                problem, wait = "answered with a body that is not JSON", self._backoff(attempt)
                continue
            if not isinstance(document, dict) or not isinstance(document.get("data", []), list):
                problem, wait = "answered with a document that has no list of `data`", self._backoff(attempt)
                continue
            return document
        raise ConnectorFault(
            f"{self.name} {problem} at {self._client.base_url.join(url).path} on all "
            f"{self.max_retries + 1} tries: check its status page and the base URL; the next "
            "scheduled pull resumes where this one stopped.",
            transient=True,
        )

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, self.backoff_seconds * 2**attempt)

    def pages(self, path: str, params: dict[str, str]) -> Iterator[list[dict]]:
        """The `data` of every page of a collection, following `links.next` until there is none.

        A collection paged by number instead (`page[number]`, and `meta.total-pages` without a
        next link, as Fatsoma's public events endpoint pages) is followed by number."""
        document = self.get(path, params)
        seen: set[str] = set()
        number = int(params.get("page[number]", "1"))
        while True:
            data = document.get("data") or []
            yield data
            following = (document.get("links") or {}).get("next")
            total = (document.get("meta") or {}).get("total-pages")
            if not following and isinstance(total, int) and number < total and data:
                number += 1
                document = self.get(path, {**params, "page[number]": str(number)})
                continue
            # A next link already followed would loop for ever: the collection has ended.
            if not following or following in seen:
                return
            seen.add(following)
            document = self.get(following)
