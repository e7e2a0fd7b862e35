"""An unmodified A2A client (a2a-sdk, PyPI) asking the gateway for human approval.

Usage: a2a_client.py BASE_URL TOKEN REQUEST.json decide|cancel|push BINDING [PUSH_URL]

BINDING is JSONRPC or HTTP+JSON, the interface the client picks from the agent card.
- decide: streams SendMessage with the DelegationRequest in a data part; prints one JSON line
  when the task waits in AUTH_REQUIRED (the test then has a reviewer decide), and a last JSON
  line with the final state and the artifacts' data.
- cancel: cancels the task at AUTH_REQUIRED.
- push: sends without streaming, with a push-notification config for PUSH_URL inline, prints
  the task id and the configs the agent lists, and exits; the end arrives at PUSH_URL.
"""

import asyncio
import json
import sys
import uuid

import httpx
from a2a.client import ClientConfig, create_client
from a2a.helpers import get_data_parts, new_data_part
from a2a.types import (
    AuthenticationInfo,
    CancelTaskRequest,
    GetTaskRequest,
    ListTaskPushNotificationConfigsRequest,
    Message,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    TaskPushNotificationConfig,
    TaskState,
)


def say(**fields):
    print(json.dumps(fields), flush=True)


async def main(
    base_url: str, token: str, request_path: str, mode: str, binding: str, push_url: str = ""
) -> None:
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    # Paths called, so the test can tell which binding the client chose.
    paths: set[str] = set()

    async def record(request: httpx.Request) -> None:
        paths.add(request.url.path)

    http = httpx.AsyncClient(
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
        event_hooks={"request": [record]},
    )
    client = await create_client(
        base_url,
        client_config=ClientConfig(
            streaming=mode != "push",
            httpx_client=http,
            supported_protocol_bindings=[binding],
        ),
    )
    send = SendMessageRequest(
        message=Message(
            role=Role.ROLE_USER,
            message_id=str(uuid.uuid4()),
            parts=[new_data_part(request, media_type="application/json")],
        )
    )
    if mode == "push":
        send.configuration.CopyFrom(
            SendMessageConfiguration(
                task_push_notification_config=TaskPushNotificationConfig(
                    url=push_url,
                    token="workflow-token-7",
                    authentication=AuthenticationInfo(
                        scheme="Bearer", credentials="receiver-secret"
                    ),
                )
            )
        )
    task_id = None
    async for event in client.send_message(send):
        kind = event.WhichOneof("payload")
        if kind == "task":
            task_id, state = event.task.id, event.task.status.state
        elif kind == "status_update":
            task_id, state = task_id or event.status_update.task_id, event.status_update.status.state
        else:
            continue
        if state == TaskState.TASK_STATE_AUTH_REQUIRED:
            say(step="auth_required", task=task_id)
            if mode == "push":
                listed = await client.list_task_push_notification_configs(
                    ListTaskPushNotificationConfigsRequest(task_id=task_id)
                )
                say(
                    step="push_configs",
                    configs=[
                        {"url": c.url, "token": c.token, "scheme": c.authentication.scheme}
                        for c in listed.configs
                    ],
                    paths=sorted(paths),
                )
                await client.close()
                return
            if mode == "cancel":
                task = await client.cancel_task(CancelTaskRequest(id=task_id))
                say(step="final", state=TaskState.Name(task.status.state), artifacts=[], paths=sorted(paths))
                await client.close()
                return
    task = await client.get_task(GetTaskRequest(id=task_id))
    artifacts = [
        {"name": a.name, "data": get_data_parts(a.parts)} for a in task.artifacts
    ]
    say(
        step="final",
        state=TaskState.Name(task.status.state),
        artifacts=artifacts,
        paths=sorted(paths),
    )
    await client.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
