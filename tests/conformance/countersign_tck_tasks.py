"""pytest plugin for the A2A conformance kit: the tasks its tests need, made the way this agent
makes tasks. Loaded by scripts/conformance.sh with `-p countersign_tck_tasks`.

The kit gets its tasks from helpers that send a text message whose id tells the kit's own
scripted agent what to do (`tck-input-required-…`: stay open; `tck-complete-task-…`: complete).
Countersign makes a task only from a DelegationRequest in a data part, and a task ends when a
person decides it. So the plugin puts helpers that do exactly that, over the kit's own
transport client, in place of the kit's (in tests/compatibility/_task_helpers.py and in each
test module that imported them, as the module is collected):

- create_working_task: a fresh DelegationRequest (`countersign demo-requests --run-id`, so its
  request id, transaction and hop jtis are new) sent as a data part; the task must come back in
  TASK_STATE_AUTH_REQUIRED (interrupted, not terminal).
- create_completed_task, create_multiturn_task: the same, approved by the reviewer
  scripts/conformance.sh enrolled (a decision JWS signed with their Ed25519 key, posted with a
  console token, both as the wire contract says); GetTask must then say TASK_STATE_COMPLETED.
  A follow-up message here is a note for the reviewer and never ends a task, so its
  "multi-turn" task is the approved task.
- test_push_notifications._setup_push_and_trigger: the kit's inline push config on such a
  request, then the approval (the kit's follow-up message cannot end a task here).
- test_data_model's send_message_responses fixture: the SendMessage response carrying such a
  task (the kit's text message gets a bare Message here, with no task or timestamp to check).
- a message the kit sends to complete one of these tasks (`tck-complete-task-…` with its
  taskId) is preceded by the reviewer's approval; the message itself still goes to the gateway
  unchanged and the test sees the gateway's own answer.

Where a task cannot be made, the test is skipped as the kit's helpers skip. Nothing the tests
assert, and no response the gateway gives, is touched.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import subprocess
import tempfile
import threading
import time
import uuid

from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


_GATEWAY = os.environ["COUNTERSIGN_TCK_GATEWAY"].rstrip("/")
_CLI = os.environ["COUNTERSIGN_TCK_CLI"]
_AUDIENCE = os.environ["COUNTERSIGN_TCK_AUDIENCE"]
_REVIEWER = os.environ["COUNTERSIGN_TCK_REVIEWER"]


def _load_key(pem: str) -> Ed25519PrivateKey:
    """The reviewer's key as `countersign keygen` writes it: PKCS#8 v2 (RFC 5958, with the
    public key), which `cryptography`'s PEM loader refuses, so the seed is read directly:
    ... OID 1.3.101.112 (Ed25519), then OCTET STRING { OCTET STRING (32-byte seed) }."""
    der = base64.b64decode("".join(line for line in pem.splitlines() if "-----" not in line))
    at = der.find(bytes.fromhex("06032b6570"))
    if at < 0 or der[at + 5:at + 9] != bytes.fromhex("04220420"):
        raise ValueError("not an Ed25519 PKCS#8 private key")
    return Ed25519PrivateKey.from_private_bytes(der[at + 9:at + 41])


_REVIEWER_KEY = _load_key(Path(os.environ["COUNTERSIGN_TCK_REVIEWER_KEY"]).read_text())

# The scenario every task is made from: a valid three-hop chain (no findings), high tier.
_SCENARIO = "refund-exception"
_COMPLETE_PREFIX = "tck-complete-task-"
_STATE_TIMEOUT_S = 10


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _kid() -> str:
    """RFC 7638 thumbprint of the reviewer's public key: the `kid` the gateway looks up."""
    x = _b64url(_REVIEWER_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


_KID = _kid()

# task id -> request id, for every task this plugin made.
_requests: dict[str, str] = {}
_lock = threading.Lock()


# ---------------------------------------------------------------------------
# The reviewer: console tokens and decisions (wire contract v1)
# ---------------------------------------------------------------------------


def _sign(typ: str, claims: dict[str, Any]) -> str:
    return jwt.encode(
        claims, _REVIEWER_KEY, algorithm="EdDSA", headers={"typ": typ, "kid": _KID}
    )


def _console_token() -> str:
    now = int(time.time())
    return _sign(
        "countersign-console+jwt",
        {"iss": _REVIEWER, "aud": _AUDIENCE, "iat": now, "exp": now + 120,
         "jti": str(uuid.uuid4())},
    )


def _console(method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {_console_token()}"}
    with httpx.Client(base_url=_GATEWAY, timeout=30) as http:
        return http.request(method, path, headers=headers, **kwargs)


def _approve(request_id: str) -> None:
    """The enrolled reviewer approves the request, with the digests the gateway reports."""
    got = _console("GET", f"/v1/requests/{request_id}")
    if got.status_code != 200:
        pytest.skip(f"the reviewer could not read request {request_id}: "
                    f"{got.status_code} {got.text}")
    record = got.json()
    if record["state"] not in ("pending", "escalated"):
        return  # already decided, withdrawn or expired: nothing left to approve
    report = record["report"]
    now = int(time.time())
    claims = {
        "iss": _REVIEWER,
        "aud": _AUDIENCE,
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
        "txn": record["txn"],
        "request_id": record["request_id"],
        "request_digest": report["request_digest"],
        "chain_digest": report["chain_digest"],
        "action_digest": report["action_digest"],
        "decision": "approve",
        "reason": "A2A conformance run: approved by the enrolled test reviewer.",
        "flags_acknowledged": sorted({f["code"] for f in report["findings"]}),
        "policy": record.get("policy") or {"id": "default", "version": "1"},
    }
    posted = _console(
        "POST",
        f"/v1/requests/{request_id}/decisions",
        json={"decision_jws": _sign("delegation-decision+jwt", claims)},
    )
    if posted.status_code != 201:
        pytest.skip(f"the reviewer's approval of {request_id} was refused: "
                    f"{posted.status_code} {posted.text}")


# ---------------------------------------------------------------------------
# Tasks
# ---------------------------------------------------------------------------


def _fresh_request() -> dict[str, Any]:
    """A DelegationRequest no one has sent: new request id, transaction and hop jtis."""
    run_id = f"tck-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([_CLI, "demo-requests", out, "--run-id", run_id],
                       check=True, stdout=subprocess.DEVNULL)
        index = json.loads(Path(out, "index.json").read_text())
        file = next(s["file"] for s in index["scenarios"] if s["slug"] == _SCENARIO)
        return json.loads(Path(out, file).read_text())


def _delegation_message() -> dict[str, Any]:
    """A user message carrying a fresh DelegationRequest in a data part."""
    return {
        "role": "ROLE_USER",
        "parts": [{"data": _fresh_request(), "mediaType": "application/json"}],
        "messageId": f"tck-countersign-request-{uuid.uuid4()}",
    }


def _state(response: Any) -> str | None:
    """The state of the Task a GetTask response carries (JSON-RPC or HTTP+JSON)."""
    raw = response.raw_response
    if not isinstance(raw, dict):
        return None
    task = raw.get("result", raw) if response.transport == "jsonrpc" else raw
    status = task.get("status") if isinstance(task, dict) else None
    return status.get("state") if isinstance(status, dict) else None


def _submit(client: Any, configuration: dict | None = None):
    """Sends a fresh DelegationRequest; the task must wait for a person (AUTH_REQUIRED)."""
    from tck.requirements.base import TASK_STATE_AUTH_REQUIRED
    from tck.validators.payload import validate_task_state
    from tests.compatibility._task_helpers import TaskInfo

    message = _delegation_message()
    request = message["parts"][0]["data"]
    response = client.send_message(message=message, configuration=configuration)
    if not response.success:
        pytest.skip(f"send_message failed: {response.error}")
    task_id = response.task_id
    if not task_id:
        pytest.skip("Could not extract task ID from send_message response")
    errors = validate_task_state(response, response.transport, TASK_STATE_AUTH_REQUIRED)
    if errors:
        pytest.skip(errors[0])
    with _lock:
        _requests[task_id] = request["request_id"]
    return TaskInfo(task_id=task_id, context_id=response.context_id,
                    transport=response.transport), request["request_id"]


def _wait_for(client: Any, task_id: str, state: str) -> None:
    deadline = time.monotonic() + _STATE_TIMEOUT_S
    seen = None
    while time.monotonic() < deadline:
        seen = _state(client.get_task(id=task_id))
        if seen == state:
            return
        time.sleep(0.05)
    pytest.skip(f"Task {task_id} is {seen}, not {state}, after its approval")


def create_working_task(client: Any):
    """A task that waits for a reviewer: TASK_STATE_AUTH_REQUIRED."""
    info, _ = _submit(client)
    return info


def create_completed_task(client: Any):
    """A task a reviewer approved: TASK_STATE_COMPLETED."""
    info, request_id = _submit(client)
    _approve(request_id)
    _wait_for(client, info.task_id, "TASK_STATE_COMPLETED")
    return info


def _setup_push_and_trigger(client: Any, webhook_url: str) -> tuple[dict, str]:
    """The kit's inline push config on a fresh request, then the approval that ends it."""
    from tests.compatibility.core_operations import test_push_notifications as kit

    config = kit._push_config_with_webhook(webhook_url)
    info, request_id = _submit(client, {"taskPushNotificationConfig": config})
    _approve(request_id)
    return config, info.task_id


@pytest.fixture(scope="module", name="send_message_responses")
def _send_message_responses(transport_clients: dict[str, Any]) -> dict[str, Any]:
    """test_data_model's responses to check, one per transport: a SendMessageResponse carrying
    a real task (id, contextId, status with its timestamp and status message) instead of the
    reply to a text message, which for this agent is a bare Message with nothing to check
    timestamps on (DM-SERIAL-003 skipped)."""
    responses: dict[str, Any] = {}
    for name, client in transport_clients.items():
        if name == "grpc":
            continue
        response = client.send_message(
            message=_delegation_message(), configuration=None
        )
        if response.success and response.raw_response is not None:
            responses[name] = response.raw_response
    return responses


# Kit names this plugin supplies, in the test modules that use them.
_HELPERS = {
    "create_working_task": create_working_task,
    "create_completed_task": create_completed_task,
    "create_multiturn_task": create_completed_task,
}
_KIT_HELPERS: dict[str, Any] = {}  # the kit's originals, by name
_MODULE_OWN = {
    "test_push_notifications": {"_setup_push_and_trigger": _setup_push_and_trigger},
    "test_data_model": {"send_message_responses": _send_message_responses},
}


def _approving(send):
    """A send_message that, for the kit's "complete this task" message on one of these tasks,
    has the reviewer approve first (how a task of this agent completes), then sends it."""

    @functools.wraps(send)
    def wrapper(self, message: dict, **kwargs: Any):
        task_id = message.get("taskId") if isinstance(message, dict) else None
        if task_id and str(message.get("messageId", "")).startswith(_COMPLETE_PREFIX):
            with _lock:
                request_id = _requests.get(task_id)
            if request_id:
                _approve(request_id)
        return send(self, message, **kwargs)

    return wrapper


# ---------------------------------------------------------------------------
# Hooks
# ---------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    from tck.transport.http_json_client import HttpJsonClient
    from tck.transport.jsonrpc_client import JsonRpcClient
    from tests.compatibility import _task_helpers as kit_helpers

    for cls in (JsonRpcClient, HttpJsonClient):
        cls.send_message = _approving(cls.send_message)
    # In the kit's helper module too, so its composite helpers (create_multiturn_task_with_history,
    # SHOULD level) start from a real task and skip with the gateway's own answer.
    for name, ours in _HELPERS.items():
        _KIT_HELPERS[name] = getattr(kit_helpers, name)
        setattr(kit_helpers, name, ours)


@pytest.hookimpl(tryfirst=True)
def pytest_collectstart(collector: pytest.Collector) -> None:
    """As each kit test module is collected (imported, before its fixtures are read), points
    the task helpers it imported, and its own task-making helpers, at the ones above."""
    if not isinstance(collector, pytest.Module):
        return
    module = collector.obj
    for name, ours in _HELPERS.items():
        if getattr(module, name, None) is _KIT_HELPERS[name]:
            setattr(module, name, ours)
    short = module.__name__.rpartition(".")[2]
    for name, ours in _MODULE_OWN.get(short, {}).items():
        theirs = getattr(module, name, None)
        if theirs is None:
            raise pytest.UsageError(f"the conformance kit's {short} has no {name} any more")
        setattr(module, name, ours)
