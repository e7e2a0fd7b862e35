// Unmodified official MCP clients asking the gateway for human approval.
//
// Usage: node mcp_client.mjs SDK TRANSPORT MODE REQUEST.json
// with COUNTERSIGN_GATEWAY (base URL ending in /), COUNTERSIGN_WORKFLOW_TOKEN and, for stdio,
// COUNTERSIGN_BIN (the `countersign` CLI, whose `countersign mcp` bridges stdio to the gateway).
// - SDK: `sdk` is @modelcontextprotocol/sdk 1.32.2 (2025-era protocol versions only); `client`
//   is @modelcontextprotocol/client 2.4.0 (negotiates 2026-07-28 with server/discover), with
//   @modelcontextprotocol/ext-tasks 0.2.2 for the Tasks extension.
// - TRANSPORT: `http` (Streamable HTTP to <gateway>/mcp, bearer token) or `stdio`.
// - MODE:
//   - poll: request_approval without Tasks, prints {"step":"pending",...}; polls get_decision
//     every 200 ms until the request is decided, reads the request's resource, prints
//     {"step":"done",...}.
//   - tasks: request_approval declaring Tasks; prints {"step":"task",...} once the task exists,
//     lets ext-tasks poll it (at the server's pollIntervalMs) and prints {"step":"done",...}.
//   - cancel: as tasks, but cancels the task right after the task line; the done line carries
//     the status tasks/get reports after the cancel.
// A combination the SDK cannot do prints {"step":"unsupported","why":...} and exits 3, after a
// real attempt. Any other failure: a message on stderr, exit 1.
import { readFileSync, writeSync } from 'node:fs';

const [sdkName, transportName, mode, requestPath] = process.argv.slice(2);
const gateway = process.env.COUNTERSIGN_GATEWAY;
const token = process.env.COUNTERSIGN_WORKFLOW_TOKEN;
const bin = process.env.COUNTERSIGN_BIN;

// One JSON object per line, written synchronously so nothing is lost on exit.
const say = (fields) => writeSync(1, `${JSON.stringify(fields)}\n`);
const fail = (message) => {
  writeSync(2, `mcp_client: ${message}\n`);
  process.exit(1);
};
const unsupported = (why) => {
  say({ step: 'unsupported', why });
  process.exit(3);
};
const errorJson = (error) =>
  error === undefined || error === null
    ? error
    : {
        name: error.name,
        message: error.message,
        ...(error.code === undefined ? {} : { code: error.code }),
        ...(error.data === undefined ? {} : { data: error.data }),
      };

if (!['sdk', 'client'].includes(sdkName)) fail(`SDK must be sdk or client, not ${sdkName}`);
if (!['http', 'stdio'].includes(transportName)) fail(`TRANSPORT must be http or stdio, not ${transportName}`);
if (!['poll', 'tasks', 'cancel'].includes(mode)) fail(`MODE must be poll, tasks or cancel, not ${mode}`);
if (!requestPath) fail('usage: node mcp_client.mjs SDK TRANSPORT MODE REQUEST.json');
if (!gateway || !token) fail('COUNTERSIGN_GATEWAY and COUNTERSIGN_WORKFLOW_TOKEN must be set');
if (transportName === 'stdio' && !bin) fail('COUNTERSIGN_BIN must be set for stdio');

const request = JSON.parse(readFileSync(requestPath, 'utf8'));
const requestId = request.request_id;
const clientInfo = { name: 'countersign-mcp-interop', version: '1.0.0' };
const TASKS = 'io.modelcontextprotocol/tasks';
const OPEN = new Set(['pending', 'escalated']);
const POLL_MS = 200;
const POLL_LIMIT_MS = 120_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Both SDKs take the same transport options: the bearer token on every HTTP call, or the
// bridge spawned with the gateway and the token in its environment.
function transportFor({ StreamableHTTPClientTransport, StdioClientTransport, getDefaultEnvironment }) {
  if (transportName === 'http') {
    return new StreamableHTTPClientTransport(new URL('mcp', gateway), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
  }
  return new StdioClientTransport({
    command: bin,
    args: ['mcp'],
    env: {
      ...getDefaultEnvironment(),
      COUNTERSIGN_GATEWAY: gateway,
      COUNTERSIGN_WORKFLOW_TOKEN: token,
    },
    stderr: 'inherit',
  });
}

// The version the initialize result names, seen on the wire, for an SDK that keeps it to
// itself (1.32.2 over stdio). Protocol.connect chains an onmessage set before it.
function sniffInitialize(transport) {
  const seen = { version: undefined };
  transport.onmessage = (message) => {
    const version = message?.result?.protocolVersion;
    if (seen.version === undefined && typeof version === 'string') seen.version = version;
  };
  return seen;
}

// poll: the tool's immediate answer, then get_decision until decided, then the resource.
async function poll(client, protocolVersion) {
  const callTool = (name, args) => client.callTool({ name, arguments: args });
  let result = await callTool('request_approval', request);
  say({ step: 'pending', protocolVersion: protocolVersion() ?? null, result });
  const id = result.structuredContent?.request_id ?? requestId;
  if (!id) fail(`request_approval answered without a request_id: ${JSON.stringify(result)}`);
  const deadline = Date.now() + POLL_LIMIT_MS;
  while (OPEN.has(result.structuredContent?.state)) {
    if (Date.now() > deadline) fail(`request ${id} still ${result.structuredContent.state} after ${POLL_LIMIT_MS / 1000} s`);
    await sleep(POLL_MS);
    result = await callTool('get_decision', { request_id: id });
  }
  if (result.structuredContent?.state === undefined) fail(`no state in the tool result: ${JSON.stringify(result)}`);
  const read = await client.readResource({ uri: `countersign://request/${id}` });
  const first = read.contents?.[0];
  if (typeof first?.text !== 'string') fail(`the resource has no text content: ${JSON.stringify(read)}`);
  say({ step: 'done', result, resource: JSON.parse(first.text) });
}

async function runSdk() {
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const { StdioClientTransport, getDefaultEnvironment } = await import('@modelcontextprotocol/sdk/client/stdio.js');
  const transport = transportFor({ StreamableHTTPClientTransport, StdioClientTransport, getDefaultEnvironment });
  const seen = sniffInitialize(transport);
  // For tasks/cancel the attempt declares everything 1.32.2 can: its own (2025-11-25) tasks
  // capability, and the 2026 Tasks extension under capabilities.extensions.
  const capabilities = mode === 'poll' ? {} : { tasks: { cancel: {}, list: {} }, extensions: { [TASKS]: {} } };
  const client = new Client(clientInfo, { capabilities });
  client.onerror = (error) => writeSync(2, `mcp_client: sdk: ${error?.message ?? error}\n`);
  await client.connect(transport);
  const protocolVersion = () => transport.protocolVersion ?? seen.version;
  await client.listTools();
  if (mode === 'poll') return poll(client, protocolVersion);

  // The 2025-11-25 Tasks API (experimental in 1.32.2): a task-augmented tools/call.
  const server = client.getServerCapabilities();
  const stream = client.experimental.tasks.callToolStream(
    { name: 'request_approval', arguments: request },
    undefined,
    { task: {} },
  );
  let taskId;
  for await (const message of stream) {
    if (message.type === 'taskCreated') {
      taskId = message.task.taskId;
      say({ step: 'task', taskId, status: message.task.status });
      if (mode === 'cancel') {
        await client.experimental.tasks.cancelTask(taskId);
        const task = await client.experimental.tasks.getTask(taskId);
        say({ step: 'done', status: task.status });
        return;
      }
    } else if (message.type === 'result') {
      if (taskId === undefined) {
        unsupported(
          `@modelcontextprotocol/sdk 1.32.2 negotiated ${protocolVersion()} and has only the ` +
            `2025-11-25 Tasks API (params.task); the server advertises ${JSON.stringify(server)} ` +
            `(no 2025-11-25 capabilities.tasks) and answered the task-augmented tools/call with ` +
            `an immediate result: ${JSON.stringify(message.result)}`,
        );
      }
      say({ step: 'done', status: 'completed', result: message.result });
      return;
    } else if (message.type === 'error') {
      if (taskId === undefined) {
        unsupported(
          `@modelcontextprotocol/sdk 1.32.2 negotiated ${protocolVersion()} and has only the ` +
            `2025-11-25 (experimental) Tasks API: a tools/call with params.task, answered by a ` +
            `CreateTaskResult {task}. The server advertises ${JSON.stringify(server)} (no ` +
            `2025-11-25 capabilities.tasks; the 2026 Tasks extension is not honoured for a ` +
            `2025-era client, even one that declares it), so it answered with an ordinary ` +
            `CallToolResult, which the SDK rejected: ${message.error?.message}`,
        );
      }
      say({ step: 'done', status: 'failed', error: errorJson(message.error) });
      return;
    }
  }
  fail('the task stream ended without a result');
}

// The host request coordinator ext-tasks needs for 2026-07-28 Tasks: the SDK Client's codec
// rejects `resultType: "task"` and has no tasks/* methods, so these requests go straight onto
// the Client's own transport (which still derives the SEP-2243 headers from the body's _meta),
// under ids of their own, and their responses are taken off it before the Client sees them.
function rawCoordinator(transport) {
  const waiting = new Map();
  let next = 0;
  const clientOnMessage = transport.onmessage;
  transport.onmessage = (message, extra) => {
    const settle = typeof message?.id === 'string' ? waiting.get(message.id) : undefined;
    if (settle !== undefined && ('result' in message || 'error' in message)) {
      waiting.delete(message.id);
      settle(message.error === undefined
        ? { kind: 'result', result: message.result }
        : { kind: 'error', error: message.error });
      return;
    }
    clientOnMessage?.(message, extra);
  };
  return async (raw, options = {}) => {
    const id = `ext-tasks-${++next}`;
    const timeoutMs = options.context?.requestTimeoutMs ?? 60_000;
    let timer;
    let onAbort;
    const response = new Promise((resolve, reject) => {
      waiting.set(id, resolve);
      timer = setTimeout(() => reject(new Error(`${raw.method}: no response in ${timeoutMs} ms`)), timeoutMs);
      onAbort = () => reject(options.signal.reason ?? new Error('aborted'));
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await transport.send(
        { ...raw, jsonrpc: '2.0', id },
        { headers: options.context?.headers, requestSignal: options.signal },
      );
      return await response;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      waiting.delete(id);
    }
  };
}

async function runClient() {
  const { Client, StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client');
  const { StdioClientTransport, getDefaultEnvironment } = await import('@modelcontextprotocol/client/stdio');
  const transport = transportFor({ StreamableHTTPClientTransport, StdioClientTransport, getDefaultEnvironment });
  // poll declares neither Tasks nor URL elicitation, so the server answers at once.
  const capabilities = mode === 'poll' ? {} : { extensions: { [TASKS]: {} } };
  const client = new Client(clientInfo, { capabilities, versionNegotiation: { mode: 'auto' } });
  client.onerror = (error) => writeSync(2, `mcp_client: client: ${error?.message ?? error}\n`);
  await client.connect(transport);
  const protocolVersion = () => client.getNegotiatedProtocolVersion();
  if (mode === 'poll') {
    await client.listTools();
    return poll(client, protocolVersion);
  }

  const { createTaskSessionFromClient } = await import('@modelcontextprotocol/ext-tasks/client');
  const modern = client.getProtocolEra() === 'modern';
  const session = createTaskSessionFromClient(client, {
    endpointId: new URL('mcp', gateway).href,
    onError: (error) => writeSync(2, `mcp_client: ext-tasks: ${error?.message ?? error}\n`),
    ...(modern
      ? {
          rawDispatch: rawCoordinator(transport),
          v2RequestFraming: { protocolVersion: protocolVersion(), clientInfo, clientCapabilities: capabilities },
        }
      : {}),
  });
  const execution = await session.callTool('request_approval', request);
  if (execution.kind !== 'task') {
    const { outcome } = await execution.settle();
    unsupported(
      `@modelcontextprotocol/client 2.4.0 negotiated ${protocolVersion()} (era ${client.getProtocolEra()}), ` +
        `ext-tasks generation ${session.capabilities.execution ? 'with' : 'without'} task execution; ` +
        `the server answered with an immediate result: ${JSON.stringify(outcome.result ?? errorJson(outcome.error))}`,
    );
  }
  const taskId = execution.handle.taskId;
  // The first update is the task the server created.
  const updates = execution.updates()[Symbol.asyncIterator]();
  const first = await updates.next();
  await updates.return?.();
  say({ step: 'task', taskId, status: first.value?.task?.status ?? null });
  let outcome;
  let status;
  if (mode === 'cancel') {
    await execution.cancel();
    outcome = await execution.result();
    // What the server says now, not only what ext-tasks concluded from the acknowledgement.
    status = (await session.task(taskId).snapshot()).status;
  } else {
    ({ outcome } = await execution.settle());
    status = outcome.status;
  }
  say({
    step: 'done',
    status,
    ...(outcome.status === 'completed' ? { result: outcome.result } : {}),
    ...(outcome.status === 'failed' ? { error: errorJson(outcome.error) } : {}),
    ...(outcome.status !== status ? { outcome: outcome.status } : {}),
  });
  await session.close();
}

try {
  await (sdkName === 'sdk' ? runSdk() : runClient());
} catch (error) {
  fail(error?.stack ?? String(error));
}
process.exit(0);
