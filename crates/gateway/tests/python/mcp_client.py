"""An unmodified MCP client (the official Python SDK, `mcp` from PyPI) asking the gateway for
a human countersignature.

Usage: mcp_client.py TRANSPORT MODE REQUEST.json
Environment: COUNTERSIGN_GATEWAY (base URL ending in /), COUNTERSIGN_WORKFLOW_TOKEN, and for
stdio COUNTERSIGN_BIN (the `countersign` binary, whose `mcp` command bridges stdio).

TRANSPORT is `http` (Streamable HTTP to <gateway>/mcp with the bearer token) or `stdio`.
MODE:
- tasks: declares the Tasks extension (through the SDK's own extension interface: a result
  claim for `resultType: "task"` that polls `tasks/get`); prints a line when the task exists,
  and a last line with the task's final status and result.
- cancel: as tasks, but cancels the task as soon as it exists.
- elicit: no Tasks; URL elicitation. The SDK drives the input_required rounds itself; the
  elicitation callback prints the URL it was asked to open (the test then has a reviewer
  decide) and consents.
- poll / legacy: no Tasks, no elicitation (legacy also forces the 2025-11-25 handshake): the
  call answers at once with the request pending; polls get_decision, then reads the request's
  resource.
- listen: no Tasks; the call answers pending, then the client listens (`subscriptions/listen`)
  to the request's resource and reads it each time it is told it changed, until decided.
- tamper: drives the rounds by hand: a changed requestState and a spent one are each refused.
Each step is one JSON line on stdout.
"""

import asyncio
import json
import os
import sys
from typing import Any, Literal

import httpx2
import mcp_types
from mcp import Client, StdioServerParameters
from mcp.client import ClaimContext, ClientExtension, ResultClaim
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from pydantic import Field, TypeAdapter

TASKS = "io.modelcontextprotocol/tasks"
TERMINAL = {"completed", "failed", "cancelled"}
ANY = TypeAdapter(dict[str, Any])


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


class CreatedTask(mcp_types.Result):
    """`resultType: "task"`: what a Tasks server answers a tools/call with (the task's fields
    beside it)."""

    result_type: Literal["task"] = Field(alias="resultType")
    task_id: str = Field(alias="taskId")
    status: str


class GetTaskParams(mcp_types.RequestParams):
    task_id: str = Field(alias="taskId")


class GetTask(mcp_types.Request[GetTaskParams, Literal["tasks/get"]]):
    method: Literal["tasks/get"] = "tasks/get"
    params: GetTaskParams
    name_param = "taskId"


class CancelTask(mcp_types.Request[GetTaskParams, Literal["tasks/cancel"]]):
    method: Literal["tasks/cancel"] = "tasks/cancel"
    params: GetTaskParams
    name_param = "taskId"


class Tasks(ClientExtension):
    """The Tasks extension, client side: the SDK has no built-in requester, so this is one,
    written against the SDK's extension interface."""

    identifier = TASKS

    def __init__(self, cancel: bool) -> None:
        self.cancel = cancel
        self.final: dict[str, Any] = {}

    def claims(self):
        return [ResultClaim(result_type="task", model=CreatedTask, resolve=self.resolve)]

    async def resolve(self, created: CreatedTask, ctx: ClaimContext) -> mcp_types.CallToolResult:
        task_id = created.task_id
        say(step="task", taskId=task_id, status=created.status)
        if self.cancel:
            await ctx.session.send_request(
                CancelTask(params=GetTaskParams(taskId=task_id)), ANY)
        while True:
            got = await ctx.session.send_request(GetTask(params=GetTaskParams(taskId=task_id)), ANY)
            status = got["status"]
            if status in TERMINAL:
                self.final = got
                if status == "completed":
                    return mcp_types.CallToolResult.model_validate(got["result"])
                # The claim must end in a tool result: an ended task that carries no result is
                # an error result saying what the task said.
                return mcp_types.CallToolResult(
                    content=[mcp_types.TextContent(type="text", text=json.dumps(got))],
                    is_error=True)
            await asyncio.sleep(min(got.get("pollIntervalMs") or 200, 200) / 1000)


def transport(kind: str):
    gateway = os.environ["COUNTERSIGN_GATEWAY"]
    token = os.environ["COUNTERSIGN_WORKFLOW_TOKEN"]
    if kind == "http":
        http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
        return streamable_http_client(gateway + "mcp", http_client=http)
    return StdioServerParameters(
        command=os.environ["COUNTERSIGN_BIN"], args=["mcp"],
        env={"COUNTERSIGN_GATEWAY": gateway, "COUNTERSIGN_WORKFLOW_TOKEN": token,
             "PATH": os.environ.get("PATH", "")})


def dump(result: mcp_types.CallToolResult) -> dict[str, Any]:
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


def error(e: MCPError) -> dict[str, Any]:
    return {"code": e.error.code, "message": e.error.message}


async def main(kind: str, mode: str, request_path: str) -> None:
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    server = transport(kind)
    if mode in ("tasks", "cancel"):
        tasks = Tasks(cancel=mode == "cancel")
        async with Client(server, extensions=[tasks]) as client:
            result = await client.call_tool("request_approval", request)
            say(step="done", protocolVersion=client.session.protocol_version,
                status=tasks.final.get("status"), task=tasks.final, result=dump(result))
        return
    if mode == "elicit":
        async def elicit(_context, params: mcp_types.ElicitRequestParams):
            say(step="elicitation", mode=params.mode, url=getattr(params, "url", None),
                message=params.message)
            return mcp_types.ElicitResult(action="accept")

        # Each round waits for the decision a while on the gateway; a person takes longer
        # than the SDK's default number of rounds.
        async with Client(server, elicitation_callback=elicit, read_timeout_seconds=60,
                          input_required_max_rounds=100) as client:
            result = await client.call_tool("request_approval", request)
            say(step="done", protocolVersion=client.session.protocol_version, result=dump(result))
        return
    if mode == "listen":
        async with Client(server) as client:
            first = await client.call_tool("request_approval", request)
            link = first.structured_content["review_link"]
            async with client.listen(resource_subscriptions=[link]) as subscription:
                say(step="listening", protocolVersion=client.session.protocol_version,
                    link=link, result=dump(first))
                updates = 0
                async for event in subscription:
                    updates += 1
                    read = await client.read_resource(link)
                    resource = json.loads(read.contents[0].text)
                    if resource["state"] not in ("pending", "escalated"):
                        say(step="done", updates=updates, event=type(event).__name__,
                            resource=resource)
                        break
        return
    if mode == "tamper":
        async def elicit(_context, params):
            return mcp_types.ElicitResult(action="accept")

        async with Client(server, elicitation_callback=elicit) as client:
            first = await client.session.call_tool("request_approval", request,
                                                   allow_input_required=True)
            assert isinstance(first, mcp_types.InputRequiredResult), first
            state = first.request_state
            flipped = state[:-2] + ("A" if state[-2] != "A" else "B") + state[-1]
            outcomes: dict[str, Any] = {"inputRequests": sorted((first.input_requests or {}).keys())}
            for name, sent in (("tampered", flipped), ("genuine", state), ("replayed", state)):
                try:
                    got = await client.session.call_tool(
                        "request_approval", request, request_state=sent,
                        allow_input_required=True, read_timeout_seconds=60)
                    outcomes[name] = {"resultType": getattr(got, "result_type", None)}
                except MCPError as e:
                    outcomes[name] = error(e)
            say(step="done", **outcomes)
        return
    legacy = mode == "legacy"
    async with Client(server, mode="legacy" if legacy else "auto") as client:
        first = await client.call_tool("request_approval", request)
        say(step="pending", protocolVersion=client.session.protocol_version, result=dump(first))
        request_id = first.structured_content["request_id"]
        for _ in range(600):
            got = await client.call_tool("get_decision", {"request_id": request_id})
            if got.structured_content["state"] not in ("pending", "escalated"):
                break
            await asyncio.sleep(0.2)
        else:
            raise SystemExit("no decision in 120 s")
        resource = await client.read_resource(f"countersign://request/{request_id}")
        try:
            unknown = await client.call_tool("no_such_tool", {})
            unknown_tool = {"isError": unknown.is_error}
        except MCPError as e:
            unknown_tool = error(e)
        say(step="done", result=dump(got), resource=json.loads(resource.contents[0].text),
            unknownTool=unknown_tool)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
