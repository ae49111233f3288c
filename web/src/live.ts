// The /ws stream (docs/streams.md): one WebSocket for the page, subscriptions re-sent after a
// reconnect. Handlers get every message of their subscription.
import { token } from './api';
import type { Json } from './api';

type Handler = (message: Json) => void;
interface Subscription {
  spec: Json;
  handler: Handler;
}

let socket: WebSocket | null = null;
let open = false;
let nextId = 1;
let retryMs = 1000;
const subscriptions = new Map<string, Subscription>();
const statusListeners: ((status: string) => void)[] = [];
let status = 'idle';

function setStatus(s: string): void {
  status = s;
  statusListeners.forEach((l) => l(s));
}

export function onStatus(listener: (status: string) => void): void {
  statusListeners.push(listener);
  listener(status);
}

function url(): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const t = token();
  return `${scheme}://${location.host}/ws${t ? `?access_token=${encodeURIComponent(t)}` : ''}`;
}

function send(message: Json): void {
  if (socket && open) socket.send(JSON.stringify(message));
}

function connect(): void {
  socket = new WebSocket(url());
  setStatus('connecting');
  socket.onopen = () => {
    open = true;
    retryMs = 1000;
    setStatus('live');
    subscriptions.forEach((s, id) => send({ op: 'subscribe', id, ...s.spec }));
  };
  socket.onmessage = (event) => {
    let message: Json;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    const id = message.subscription ?? message.id ?? message.request?.id;
    if (message.type === 'error') {
      const sub = id ? subscriptions.get(id) : undefined;
      sub?.handler(message);
      return;
    }
    if (message.type === 'dropped') {
      setStatus(`live (${message.count} updates dropped)`);
      return;
    }
    const sub = id ? subscriptions.get(id) : undefined;
    sub?.handler(message);
  };
  socket.onclose = () => {
    open = false;
    socket = null;
    setStatus('reconnecting');
    setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, 30000);
  };
}

// Subscribes with `spec` ({twins}|{model}|{query}, events?, paths?); returns the unsubscribe.
export function subscribe(spec: Json, handler: Handler): () => void {
  const id = `s${nextId++}`;
  subscriptions.set(id, { spec, handler });
  if (!socket) connect();
  else send({ op: 'subscribe', id, ...spec });
  return () => {
    if (subscriptions.delete(id)) send({ op: 'unsubscribe', id });
  };
}

// Reconnects with the current token (after a login).
export function reconnect(): void {
  if (socket) {
    socket.onclose = null;
    socket.close();
    socket = null;
    open = false;
  }
  if (subscriptions.size > 0) connect();
}
