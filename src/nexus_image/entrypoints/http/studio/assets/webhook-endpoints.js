// The user's webhook endpoints: each one's URL, events and state, and what can be done to it:
// enable or disable, show or rotate its secret, open its delivery log, delete it.
import { api, session, sessionMark, path } from './api.js';
import { $, el, report } from './dom.js';
import { announce, secretBox, when } from './secret-box.js';
import { closeDeliveries, openDeliveries, openEndpointId } from './webhook-deliveries.js';

// What an endpoint may subscribe to (the choices the server declares for a request's
// `webhook_events`); one that chose none receives them all.
export function webhookEvents() {
  const field = (session.config?.fields || []).find((f) => f.name === 'webhook_events');
  return field?.choices || [];
}
const list = $('endpoint-list');
const base = (endpoint, ...rest) => `/api/v1/webhooks/endpoints/${path(endpoint.id, ...rest)}`;
let endpoints = [];
const revealed = new Map(); // endpoint id -> its secrets, while shown
let seq = 0; // only the latest load is shown

export async function loadEndpoints() {
  const mine = ++seq;
  const stale = sessionMark();
  let answer;
  try {
    answer = await api('/api/v1/webhooks/endpoints');
  } catch (error) {
    if (mine === seq && !stale()) report(error);
    return;
  }
  if (mine !== seq || stale()) return;
  endpoints = answer;
  render();
  if (openEndpointId() && !endpoints.some((endpoint) => endpoint.id === openEndpointId())) closeDeliveries();
}

export function clearEndpoints() {
  seq += 1;
  endpoints = [];
  revealed.clear();
  list.replaceChildren();
  $('endpoints-empty').hidden = true;
}

export function forgetEndpointSecrets() {
  if (!revealed.size) return;
  revealed.clear();
  render();
}

// The list is rebuilt: a focused button comes back focused (or the heading, if its endpoint is gone).
function render() {
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  const item = focused && focused.closest('li[data-id]');
  const again = item ? { id: item.dataset.id, action: focused.dataset.action } : null;
  list.replaceChildren(...endpoints.map(endpointItem));
  $('endpoints-empty').hidden = endpoints.length > 0;
  if (!again) return;
  const still = [...list.children].find((node) => node.dataset.id === again.id);
  const button = still && still.querySelector(`button[data-action="${again.action}"]`);
  (button || $('endpoints-title')).focus();
}

function eventsText(events) {
  return webhookEvents().every((event) => events.includes(event)) ? 'every event' : events.join(', ');
}

function endpointItem(endpoint) {
  const secrets = revealed.get(endpoint.id);
  const button = (action, text, onclick, extra = {}) => el('button', {
    type: 'button', class: 'small', text, 'aria-label': `${text}: ${endpoint.url}`, 'data-action': action, onclick, ...extra,
  });
  return el('li', {
    class: `endpoint${endpoint.enabled ? '' : ' disabled'}`, 'data-id': endpoint.id, 'aria-label': `Endpoint: ${endpoint.url}`,
  },
  el('div', { class: 'inline spread' },
    el('span', { class: 'endpoint-url', text: endpoint.url }),
    el('span', { class: 'badge', text: endpoint.enabled ? 'Enabled' : 'Disabled' })),
  endpoint.description ? el('p', { text: endpoint.description }) : null,
  el('p', { class: 'hint', text: `Events: ${eventsText(endpoint.events)} · added ${when(endpoint.created_at)}` }),
  el('div', { class: 'inline' },
    button('toggle', endpoint.enabled ? 'Disable' : 'Enable', () => setEnabled(endpoint, !endpoint.enabled)),
    button('secret', secrets ? 'Hide secret' : 'Show secret', () => toggleSecret(endpoint), { 'aria-expanded': String(Boolean(secrets)) }),
    button('rotate', 'Rotate secret', () => rotate(endpoint)),
    button('deliveries', 'Deliveries', () => openDeliveries(endpoint)),
    button('delete', 'Delete', () => remove(endpoint), { class: 'small danger' })),
  secrets ? secretBox(`Secret of ${endpoint.url}`, secrets) : null);
}

// Runs one call for an endpoint: {answer} when it worked and the session is still the same, else
// null (a failure is reported in the banner).
async function attempt(call) {
  const stale = sessionMark();
  try {
    const answer = await call();
    return stale() ? null : { answer };
  } catch (error) {
    if (!stale()) report(error);
    return null;
  }
}

async function setEnabled(endpoint, enabled) {
  const done = await attempt(() => api(base(endpoint), { method: 'PATCH', body: { enabled } }));
  if (!done) return;
  announce(enabled ? `Enabled: ${endpoint.url} receives events again.` : `Disabled: nothing is sent to ${endpoint.url} now.`);
  await loadEndpoints();
}

async function toggleSecret(endpoint) {
  if (revealed.has(endpoint.id)) {
    revealed.delete(endpoint.id);
    render();
    return;
  }
  const done = await attempt(() => api(base(endpoint, 'secret')));
  if (!done) return;
  revealed.set(endpoint.id, done.answer);
  render();
}

async function rotate(endpoint) {
  const question = `Rotate the secret of ${endpoint.url}? The current one still signs beside the new one for a grace period: update the receiver before it ends.`;
  if (!window.confirm(question)) return;
  const done = await attempt(() => api(base(endpoint, 'rotate-secret'), { method: 'POST' }));
  if (!done) return;
  revealed.set(endpoint.id, done.answer);
  announce(`The secret of ${endpoint.url} was rotated: the new one is shown.`);
  await loadEndpoints();
}

async function remove(endpoint) {
  if (!window.confirm(`Delete the endpoint ${endpoint.url}? Nothing more is sent to it.`)) return;
  const done = await attempt(() => api(base(endpoint), { method: 'DELETE' }));
  if (!done) return;
  revealed.delete(endpoint.id);
  if (openEndpointId() === endpoint.id) closeDeliveries();
  announce(`Deleted: ${endpoint.url}.`);
  await loadEndpoints();
}
