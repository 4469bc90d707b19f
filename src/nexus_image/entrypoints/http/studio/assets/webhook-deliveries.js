// The delivery log of one webhook endpoint, newest first: each delivery's event, image and status,
// and every attempt (when, the HTTP status, how long it took, the error). Replay sends one again
// with the same webhook-id, so a receiver that already handled it can tell.
import { api, sessionMark, path } from './api.js';
import { $, el, setText, report } from './dom.js';
import { announce, when } from './secret-box.js';

const LIMIT = 50;
const STATUS = { pending: 'Pending', delivered: 'Delivered', failed: 'Failed' };
const section = $('deliveries');
const title = $('deliveries-title');
const list = $('delivery-list');
const summary = $('deliveries-summary');
let endpoint = null; // the endpoint whose log is open
let seq = 0; // only the latest load is shown

export const openEndpointId = () => (endpoint ? endpoint.id : null);

export function openDeliveries(chosen) {
  endpoint = chosen;
  title.textContent = `Deliveries to ${chosen.url}`;
  section.hidden = false;
  title.focus();
  return loadDeliveries();
}

// Returns the endpoint whose log was open (null if none).
export function closeDeliveries() {
  const was = endpoint;
  seq += 1;
  endpoint = null;
  list.replaceChildren();
  summary.textContent = '';
  section.hidden = true;
  return was;
}

$('deliveries-close').addEventListener('click', () => {
  const was = closeDeliveries();
  const opener = was && [...document.querySelectorAll('#endpoint-list li[data-id]')]
    .find((item) => item.dataset.id === was.id);
  const button = opener && opener.querySelector('button[data-action="deliveries"]');
  (button || $('endpoints-title')).focus();
});

$('deliveries-refresh').addEventListener('click', () => loadDeliveries());

export async function loadDeliveries() {
  if (!endpoint) return;
  const mine = ++seq;
  const stale = sessionMark();
  setText(summary, 'Loading…');
  let deliveries;
  try {
    deliveries = await api(`/api/v1/webhooks/endpoints/${path(endpoint.id)}/deliveries?limit=${LIMIT}`);
  } catch (error) {
    if (mine !== seq || stale()) return;
    setText(summary, '');
    report(error);
    return;
  }
  if (mine !== seq || stale()) return;
  list.replaceChildren(...deliveries.map(deliveryItem));
  const count = deliveries.length;
  const latest = count === LIMIT ? ` (the latest ${LIMIT})` : '';
  setText(summary, count
    ? `${count} ${count === 1 ? 'delivery' : 'deliveries'}, newest first${latest}.`
    : 'No deliveries yet: they show up here once one of your images sends an event.');
}

function deliveryItem(delivery) {
  const label = `${delivery.event}, image ${delivery.image_id}`;
  return el('li', {
    class: 'delivery', 'data-id': delivery.id, 'data-status': delivery.status,
    'aria-label': `Delivery: ${label}, ${STATUS[delivery.status] || delivery.status}`,
  },
  el('div', { class: 'inline spread' },
    el('span', { class: 'delivery-event', text: delivery.event }),
    el('span', { class: 'badge', text: STATUS[delivery.status] || delivery.status })),
  el('p', { class: 'hint' },
    'Image ', el('code', { text: delivery.image_id }),
    ` · created ${when(delivery.created_at)} · webhook-id `, el('code', { text: delivery.id })),
  delivery.next_attempt_at ? el('p', { class: 'hint', text: `Next attempt: ${when(delivery.next_attempt_at)}` }) : null,
  delivery.attempts.length ? attemptsTable(delivery) : el('p', { class: 'hint', text: 'Not attempted yet.' }),
  el('div', {}, el('button', {
    type: 'button', class: 'small', text: 'Replay', 'aria-label': `Replay: ${label}`, 'data-action': 'replay',
    onclick: () => replay(delivery),
  })));
}

function attemptsTable(delivery) {
  const head = ['Attempt', 'Time', 'HTTP status', 'Latency', 'Error'];
  return el('table', { class: 'attempts' },
    el('caption', { class: 'visually-hidden', text: `Attempts: ${delivery.event}, image ${delivery.image_id}` }),
    el('thead', {}, el('tr', {}, head.map((text) => el('th', { scope: 'col', text })))),
    el('tbody', {}, delivery.attempts.map((attempt) => {
      const ok = attempt.status !== null && attempt.status >= 200 && attempt.status < 300;
      // Without a transport error, a refusal's own words are in the receiver's answer.
      const error = attempt.error || (ok ? '' : (attempt.response || '').slice(0, 200));
      const cells = [String(attempt.attempt), when(attempt.at),
        attempt.status === null ? 'No answer' : String(attempt.status), `${attempt.latency_ms} ms`, error || '—'];
      // data-label: a narrow screen shows each row as lines, each named by its column.
      return el('tr', {}, cells.map((text, i) => el('td', { 'data-label': head[i], text })));
    })));
}

async function replay(delivery) {
  const stale = sessionMark();
  try {
    await api(`/api/v1/webhooks/deliveries/${path(delivery.id)}/replay`, { method: 'POST' });
  } catch (error) {
    if (!stale()) report(error);
    return;
  }
  if (stale()) return;
  announce(`Sending again: ${delivery.event} of image ${delivery.image_id}.`);
  const hadFocus = list.contains(document.activeElement);
  await loadDeliveries();
  if (!hadFocus) return;
  // The log is rebuilt: the same delivery's Replay button gets the focus back.
  const again = [...list.children].find((item) => item.dataset.id === delivery.id);
  (again ? again.querySelector('button[data-action="replay"]') : title).focus();
}
