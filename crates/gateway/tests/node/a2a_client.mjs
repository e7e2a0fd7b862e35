// An unmodified A2A client (@a2a-js/sdk, npm) asking the gateway for human approval.
//
// Usage: node a2a_client.mjs BASE_URL TOKEN REQUEST.json decide|cancel|push BINDING [PUSH_URL]
// BINDING is JSONRPC or HTTP+JSON, the interface the client picks from the agent card.
// - decide: streams; prints one JSON line when the task waits in AUTH_REQUIRED (the test then
//   has a reviewer decide) and a last JSON line with the final state and the artifacts' data.
// - cancel: cancels the task at AUTH_REQUIRED.
// - push: sends without streaming, registers a push-notification config for PUSH_URL with
//   CreateTaskPushNotificationConfig, prints what the agent lists, and exits.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import {
  ClientFactory,
  ClientFactoryOptions,
  JsonRpcTransportFactory,
  RestTransportFactory,
} from '@a2a-js/sdk/client';
import { SendMessageRequest, TaskState, taskStateToJSON } from '@a2a-js/sdk';

const [baseUrl, token, requestPath, mode, binding, pushUrl] = process.argv.slice(2);
const say = (fields) => console.log(JSON.stringify(fields));
// The workflow credential on every call, whatever shape the transport passes headers in.
// Paths called, so the test can tell which binding the client chose.
const paths = new Set();
const authorized = (input, init = {}) => {
  paths.add(new URL(input instanceof Request ? input.url : String(input)).pathname);
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
  headers.set('Authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [
    new JsonRpcTransportFactory({ fetchImpl: authorized }),
    new RestTransportFactory({ fetchImpl: authorized }),
  ],
  preferredTransports: [binding],
}));
const client = await factory.createFromUrl(baseUrl);
const request = JSON.parse(readFileSync(requestPath, 'utf8'));
const send = SendMessageRequest.fromJSON({
  message: {
    messageId: randomUUID(),
    role: 'ROLE_USER',
    parts: [{ data: request, mediaType: 'application/json' }],
  },
});

if (mode === 'push') {
  const result = await client.sendMessage(send);
  const task = result.payload?.$case === 'task' ? result.payload.value : result;
  say({ step: 'auth_required', task: task.id, state: taskStateToJSON(task.status.state) });
  await client.createTaskPushNotificationConfig({
    tenant: '',
    id: 'js-receiver',
    taskId: task.id,
    url: pushUrl,
    token: 'workflow-token-7',
    authentication: { scheme: 'Bearer', credentials: 'receiver-secret' },
  });
  const listed = await client.listTaskPushNotificationConfig({
    tenant: '',
    taskId: task.id,
    pageSize: 0,
    pageToken: '',
  });
  say({
    step: 'push_configs',
    configs: listed.configs.map((c) => ({ url: c.url, token: c.token, scheme: c.authentication?.scheme })),
    paths: [...paths],
  });
  process.exit(0);
}

let taskId;
for await (const event of client.sendMessageStream(send)) {
  const payload = event.payload;
  let state;
  if (payload?.$case === 'task') {
    taskId = payload.value.id;
    state = payload.value.status.state;
  } else if (payload?.$case === 'statusUpdate') {
    taskId ??= payload.value.taskId;
    state = payload.value.status.state;
  }
  if (state === TaskState.TASK_STATE_AUTH_REQUIRED) {
    say({ step: 'auth_required', task: taskId });
    if (mode === 'cancel') {
      const task = await client.cancelTask({ id: taskId, tenant: '', metadata: undefined });
      say({ step: 'final', state: taskStateToJSON(task.status.state), artifacts: [], paths: [...paths] });
      process.exit(0);
    }
  }
}
const task = await client.getTask({ id: taskId, tenant: '', historyLength: 0 });
const artifacts = (task.artifacts ?? []).map((a) => ({
  name: a.name,
  data: a.parts.filter((p) => p.content?.$case === 'data').map((p) => p.content.value),
}));
say({ step: 'final', state: taskStateToJSON(task.status.state), artifacts, paths: [...paths] });
