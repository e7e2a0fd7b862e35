"""pytest plugin for the A2A conformance kit: every HTTP client the kit makes carries the
workflow credential (the kit has no authentication option; the gateway authenticates every
call). Loaded by scripts/conformance.sh with `-p countersign_tck_bearer`."""

import os

import httpx

_TOKEN = os.environ["COUNTERSIGN_TCK_TOKEN"]

for _cls in (httpx.Client, httpx.AsyncClient):
    _original_init = _cls.__init__

    def _init(self, *args, _original_init=_original_init, **kwargs):
        headers = httpx.Headers(kwargs.pop("headers", None))
        headers.setdefault("Authorization", f"Bearer {_TOKEN}")
        _original_init(self, *args, headers=headers, **kwargs)

    _cls.__init__ = _init
