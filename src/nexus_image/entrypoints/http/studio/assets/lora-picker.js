// The LoRA picker: up to `max_per_image` rows of (adapter, weight, Remove), from the adapters
// the operator offers (GET /api/v1/models/loras); hidden entirely when none are.
import { api, sessionMark } from './api.js';
import { on } from './bus.js';
import { $, el } from './dom.js';

const group = $('loras');
const list = $('lora-rows');
const add = $('lora-add');
const errorBox = $('loras-error');
let offered = []; // adapter names
let limits = { max: 3, minWeight: 0, maxWeight: 2 };
let made = 0; // ids of rows: lora-name-N, lora-weight-N

const parts = new WeakMap(); // a row's controls
const rows = () => [...list.children].map((row) => parts.get(row));

export function setupLoras(listing) {
  if (!listing || !Array.isArray(listing.loras)) return;
  offered = listing.loras.map((lora) => lora.name);
  limits = {
    max: listing.max_per_image ?? limits.max,
    minWeight: listing.min_weight ?? limits.minWeight,
    maxWeight: listing.max_weight ?? limits.maxWeight,
  };
  const chosen = readRows();
  list.replaceChildren();
  const gone = chosen.filter((lora) => !offered.includes(lora.name)).map((lora) => lora.name);
  chosen.filter((lora) => offered.includes(lora.name)).forEach((lora) => addRow(lora.name, lora.weight));
  if (gone.length) showError(`No longer offered here, so left out: ${gone.join(', ')}.`);
  refresh();
}

// The adapters offered now (the list may have changed since the page loaded).
async function refreshLoras() {
  const stale = sessionMark();
  try {
    const listing = await api('/api/v1/models/loras');
    if (!stale()) setupLoras(listing);
  } catch {
    // the configuration's list stays; a request naming a missing one is answered with the list
  }
}

// The server's answer to an unknown adapter lists those it has: only those are offered.
export function offerOnly(allowed) {
  setupLoras({ loras: allowed.map((name) => ({ name })), max_per_image: limits.max, min_weight: limits.minWeight, max_weight: limits.maxWeight });
}

function showError(message) {
  errorBox.textContent = message || '';
  errorBox.hidden = !message;
}

function addRow(name, weight = 1) {
  made += 1;
  const select = el('select', { id: `lora-name-${made}`, 'aria-describedby': 'loras-hint loras-error' },
    offered.map((value) => el('option', { value, text: value })));
  select.value = name;
  const input = el('input', {
    id: `lora-weight-${made}`, type: 'number', min: limits.minWeight, max: limits.maxWeight, step: '0.05',
    inputmode: 'decimal', value: String(weight), 'aria-describedby': 'loras-hint loras-error',
  });
  const nameLabel = el('label', { for: select.id });
  const weightLabel = el('label', { for: input.id });
  const drop = el('button', { type: 'button', class: 'small', text: 'Remove' });
  const row = el('li', { class: 'lora-row' },
    el('span', { class: 'field' }, nameLabel, select),
    el('span', { class: 'field lora-weight' }, weightLabel, input),
    drop);
  parts.set(row, { select, input, nameLabel, weightLabel, drop });
  select.addEventListener('change', refresh);
  drop.addEventListener('click', () => {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    refresh();
    (next ? parts.get(next).select : add).focus(); // the button is gone
  });
  list.append(row);
  return parts.get(row);
}

// Labels by place ("LoRA 2"), each adapter in one row at most, and "Add LoRA" while one more fits.
function refresh() {
  const all = rows();
  const taken = new Map(all.map((row) => [row, row.select.value]));
  all.forEach((row, index) => {
    const n = index + 1;
    row.nameLabel.textContent = `LoRA ${n}`;
    row.weightLabel.replaceChildren('Weight', el('span', { class: 'visually-hidden', text: ` of LoRA ${n}` }));
    row.drop.setAttribute('aria-label', `Remove LoRA ${n}`);
    for (const option of row.select.options) {
      option.disabled = [...taken].some(([other, value]) => other !== row && value === option.value);
    }
  });
  group.hidden = offered.length === 0;
  add.disabled = all.length >= Math.min(limits.max, offered.length);
  list.hidden = all.length === 0;
}

add.addEventListener('click', () => {
  const taken = new Set(rows().map((row) => row.select.value));
  const name = offered.find((value) => !taken.has(value));
  if (name === undefined || rows().length >= limits.max) return;
  showError('');
  const row = addRow(name);
  refresh();
  row.select.focus();
});

function readRows() {
  return rows().map((row) => ({ name: row.select.value, weight: row.input.value }));
}

// The request's `loras` (empty when none are chosen), or {error} when two rows name one adapter.
export function readLoras() {
  const chosen = readRows();
  const names = chosen.map((lora) => lora.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice) return { error: `${twice} is chosen twice: choose each adapter once.` };
  return {
    loras: chosen.map((lora) => (lora.weight.trim() === '' ? { name: lora.name } : { name: lora.name, weight: Number(lora.weight) })),
  };
}

// The adapters of an image's settings; those not offered here are left out, and said so.
export function fillLoras(loras) {
  list.replaceChildren();
  showError('');
  const given = Array.isArray(loras) ? loras.filter((lora) => lora && typeof lora.name === 'string') : [];
  const gone = [];
  for (const lora of given) {
    if (offered.includes(lora.name) && rows().length < limits.max) addRow(lora.name, lora.weight ?? 1);
    else gone.push(lora.name);
  }
  refresh();
  if (gone.length) showError(`Not offered here, so left out: ${gone.join(', ')}.`);
}

// Where focus goes for an error about `loras`.
export function lorasControl() {
  const first = rows()[0];
  return first ? first.select : add;
}

on('signed-in', refreshLoras);

on('signed-out', () => {
  list.replaceChildren();
  showError('');
  refresh();
});
