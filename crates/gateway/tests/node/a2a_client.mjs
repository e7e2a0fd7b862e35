// An unmodified A2A client (@a2a-js/sdk, npm) asking the gateway for human approval.
//
// Usage: node a2a_client.mjs BASE_URL TOKEN REQUEST.json approve|cancel
// Prints one JSON line when the task waits in AUTH_REQUIRED (the test then has a reviewer
// decide) and a last JSON line with the final state and the artifacts' data.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { SendMessageRequest, TaskState, taskStateToJSON } from '@a2a-js/sdk';

const [baseUrl, token, requestPath, mode] = process.argv.slice(2);
const say = (fields) => console.log(JSON.stringify(fields));
const authorized = (input, init = {}) =>
  fetch(input, { ...init, headers: { ...(init.headers ?? {}), Authorization: `Bearer ${token}` } });

const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
  transports: [new JsonRpcTransportFactory({ fetchImpl: authorized })],
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
      say({ step: 'final', state: taskStateToJSON(task.status.state), artifacts: [] });
      process.exit(0);
    }
  }
}
const task = await client.getTask({ id: taskId, tenant: '', historyLength: 0 });
const artifacts = (task.artifacts ?? []).map((a) => ({
  name: a.name,
  data: a.parts.filter((p) => p.content?.$case === 'data').map((p) => p.content.value),
}));
say({ step: 'final', state: taskStateToJSON(task.status.state), artifacts });
