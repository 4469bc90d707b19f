// The live event socket (/api/v1/ws): authenticated with the token, reconnected with backoff
// (sending the last event's id, for a snapshot of the jobs), and given up as dead after a
// silence. What its events mean is job-updates.js's business.
import { session, ApiError } from './api.js';
import { $ } from './dom.js';

const STABLE_MS = 30000; // a connection this old resets the reconnection backoff
const IDLE_MS = 45000; // the server pings every 15 s: this long without a message is a dead socket

let socket = null;
let live = false;
let connected = false; // authenticated: events arrive
let retries = 0;
let retryTimer = null;
let stableTimer = null;
let idleTimer = null;
let lastEventId = null;
let handlers = { event: () => {}, connected: () => {}, down: () => {} };

export const isConnected = () => connected;

const setLive = (text) => { $('live-status').textContent = `Live updates: ${text}`; };

// `event(name, data)` for each event, `connected()` once authenticated, `down()` when the socket
// is lost (until it is back).
export function startLive(given) {
  handlers = given;
  live = true;
  retries = 0;
  lastEventId = null;
  connect();
}

export function stopLive() {
  live = false;
  clearTimeout(retryTimer);
  retryTimer = null;
  closeSocket();
  lastEventId = null;
  setLive('offline');
}

// Forgets the socket (its close event is then ignored) and closes it.
function closeSocket() {
  const open = socket;
  socket = null;
  connected = false;
  clearTimeout(stableTimer);
  clearTimeout(idleTimer);
  stableTimer = null;
  idleTimer = null;
  if (open) {
    try { open.close(1000); } catch { /* already closed */ }
  }
}

function reconnectLater() {
  if (!live || !session.token) return;
  clearTimeout(retryTimer);
  const delay = Math.min(30000, 1000 * 2 ** retries) + Math.floor(Math.random() * 500);
  retries += 1;
  setLive(`disconnected, retrying in ${Math.round(delay / 1000)} s`);
  retryTimer = setTimeout(connect, delay);
  handlers.down();
}

// Any message (the server pings every 15 s) proves the socket alive; silence means it is not.
function watch(ws) {
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => {
    if (socket !== ws) return;
    closeSocket();
    reconnectLater();
  }, IDLE_MS);
}

function connect() {
  clearTimeout(retryTimer);
  retryTimer = null;
  closeSocket();
  if (!live || !session.token) return;
  const { token } = session;
  let ws;
  try {
    ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`);
  } catch {
    reconnectLater();
    return;
  }
  socket = ws;
  setLive('connecting…');
  watch(ws);
  ws.addEventListener('open', () => {
    if (socket !== ws) return;
    const auth = { type: 'auth', token };
    if (lastEventId) auth.last_event_id = lastEventId;
    ws.send(JSON.stringify(auth));
  });
  ws.addEventListener('message', (message) => {
    if (socket !== ws) return;
    watch(ws);
    let data;
    try { data = JSON.parse(message.data); } catch { return; }
    if (!data || typeof data !== 'object') return;
    if (data.type === 'connected') {
      connected = true;
      setLive('connected');
      clearTimeout(stableTimer);
      stableTimer = setTimeout(() => { if (socket === ws) retries = 0; }, STABLE_MS);
      handlers.connected();
    } else if (data.type === 'event') {
      if (data.id !== undefined && data.id !== null) lastEventId = String(data.id); // snapshots have none
      if (data.data) handlers.event(data.event, data.data);
    }
  });
  ws.addEventListener('close', (event) => {
    if (socket !== ws) return;
    socket = null;
    connected = false;
    clearTimeout(stableTimer);
    clearTimeout(idleTimer);
    if (!live) return;
    if (event.code === 4401) {
      if (session.onUnauthorized) session.onUnauthorized(new ApiError(401, { detail: 'The token was refused: sign in again.' }));
      return;
    }
    reconnectLater();
  });
}
