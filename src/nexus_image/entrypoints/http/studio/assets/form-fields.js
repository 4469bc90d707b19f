// The generation form built from the field descriptions of /studio/config, in their order. A
// field with a dedicated control (in index.html) gets that control moved into place; every other
// one is built here from its kind, label, help, bounds and default, so a new request parameter
// shows up without new code. Fields of one `group` share a <details> titled by the group. A
// field of kind "model" offers the models of /studio/models, and follows them when they change
// (a model installed while the page is open).
import { $, el } from './dom.js';

// The ids of controls not named after their field (`negative_prompt` is #negative-prompt, its
// hint #negative-prompt-hint and its error box #negative-prompt-error).
const IDS = { init_image_id: 'init-image', mask_image_id: 'mask-image' };
// Words for choices, where the value itself is not one (others are shown as they are).
const CHOICE_NAMES = {
  realistic: 'Realistic', anime: 'Anime', artistic: 'Artistic', '3d': '3D', sketch: 'Sketch',
  dpmpp_2m: 'DPM++ 2M', dpmpp_2m_karras: 'DPM++ 2M Karras', euler: 'Euler', euler_a: 'Euler a',
  ddim: 'DDIM', unipc: 'UniPC', pndm: 'PNDM', lcm: 'LCM', tcd: 'TCD',
  default: 'Default', karras: 'Karras', exponential: 'Exponential', latent: 'Latent', lanczos: 'Lanczos',
};
const FALLBACK_HINTS = { style: "Empty: the style's default." };
const FALLBACK_PLACEHOLDERS = { random: 'Random' };
const MAX_SELECT_SPAN = 8; // an integer with at most this many steps between its bounds is a <select>

let built = []; // the descriptions of the fields built here (not the dedicated ones)
let offered = { models: [], default: null }; // what a field of kind "model" offers
let offeredNames = {}; // what a field of kind "name" offers, by its `offered_by`
const shownChoices = new WeakMap(); // a model <select> -> the choices it shows (as JSON)

export const controlId = (name) => IDS[name] || name.replace(/_/g, '-');
export const choiceName = (value) => CHOICE_NAMES[value] || value;
export const generatedFields = () => built;
export const control = (field) => $(controlId(field.name));

// `dedicated`: for a field's name, the element that holds its control (several fields may share
// one); `hidden`: names not shown at all. They go before `anchor`, the form's first fixed row.
// `models`: the answer of /studio/models (what a field of kind "model" offers).
// `names`: the names a field of kind "name" may take, by its `offered_by` (none offered: the
// field is not shown).
export function renderFields(fields, { dedicated, hidden, anchor, models = null, names = {} }) {
  const form = anchor.parentElement;
  if (models) offered = models;
  offeredNames = names;
  const groups = new Map();
  const placed = new Set();
  built = [];
  for (const field of fields) {
    if (hidden.has(field.name)) continue;
    let node = dedicated[field.name] || null;
    if (!node) {
      node = buildField(field);
      if (!node) continue; // an upload or adapters without a dedicated control: none to offer
      built.push(field);
    }
    if (placed.has(node)) continue;
    placed.add(node);
    if (field.group && !dedicated[field.name]) {
      if (!groups.has(field.group)) {
        groups.set(field.group, buildGroup(field.group));
        form.insertBefore(groups.get(field.group), anchor); // where its first field is
      }
      groups.get(field.group).querySelector('.field-group-fields').append(node);
    } else {
      form.insertBefore(node, anchor);
    }
  }
}

function buildGroup(group) {
  const title = group.charAt(0).toUpperCase() + group.slice(1).replace(/_/g, ' ');
  return el('details', { id: controlId(group), class: 'field-group wide' },
    el('summary', {}, el('span', { text: title })),
    el('div', { class: 'field-group-fields' }));
}

function buildField(field) {
  const id = controlId(field.name);
  const extra = FALLBACK_HINTS[field.fallback];
  const hint = extra && !(field.help || '').includes(extra) ? [field.help, extra].filter(Boolean).join(' ') : field.help || '';
  const input = inputFor(field);
  if (!input) return null;
  Object.assign(input, { id, name: field.name });
  if (field.required) input.required = true;
  input.setAttribute('aria-describedby', `${hint ? `${id}-hint ` : ''}${id}-error`);
  const label = el('label', { for: id, text: field.label });
  const parts = field.kind === 'flag' ? [el('span', { class: 'check' }, input, label)] : [label, input];
  return el('div', { class: `field${input.tagName === 'TEXTAREA' ? ' wide' : ''}`, 'data-field': field.name },
    ...parts,
    hint ? el('p', { id: `${id}-hint`, class: 'hint', text: hint }) : null,
    el('p', { id: `${id}-error`, class: 'field-error', role: 'alert', hidden: true }));
}

function inputFor(field) {
  const given = (value) => value !== null && value !== undefined;
  switch (field.kind) {
    case 'text': {
      const long = !given(field.max_length) || field.max_length > 255;
      const input = long ? el('textarea', { rows: 2 }) : el('input', { type: 'text' });
      if (given(field.max_length)) input.maxLength = field.max_length;
      return input;
    }
    case 'integer':
    case 'number': {
      const integer = field.kind === 'integer';
      if (integer && given(field.min) && given(field.max) && field.max - field.min <= MAX_SELECT_SPAN) {
        const values = Array.from({ length: field.max - field.min + 1 }, (_, i) => String(field.min + i));
        return select(values, field.default, String);
      }
      const step = integer ? 1 : given(field.max) && field.max <= 1 ? 0.05 : 0.5;
      const min = given(field.min) && field.min_exclusive ? field.min + step : field.min;
      const placeholder = FALLBACK_PLACEHOLDERS[field.fallback] ?? (given(field.default) ? String(field.default) : null);
      return el('input', {
        type: 'number', min, max: field.max, step, inputmode: integer ? 'numeric' : 'decimal', placeholder,
      });
    }
    case 'choice':
      return select(field.choices || [], field.default, (value) => `${choiceName(value)}${value === field.default ? ' (default)' : ''}`);
    case 'flag':
      return el('input', { type: 'checkbox', checked: field.default === true });
    case 'model':
      return fillModelSelect(el('select'));
    case 'name': {
      const names = offeredNames[field.offered_by] || [];
      if (!names.length) return null;
      return select(['', ...names], '', (value) => (value === '' ? 'None' : choiceName(value)));
    }
    case 'url': {
      const input = el('input', { type: 'url', placeholder: 'https://' });
      if (given(field.max_length)) input.maxLength = field.max_length;
      return input;
    }
    default:
      return null;
  }
}

function select(values, chosen, text) {
  const node = el('select', {}, values.map((value) => el('option', { value, text: text(value) })));
  if (chosen !== null && chosen !== undefined) node.value = String(chosen);
  return node;
}

// The model choices: "" first (the default, whichever it is when the image is made), then each
// model offered; random weights are said to draw noise.
function modelChoices() {
  const noise = (model) => (model && model.random ? ' — random weights: noise' : '');
  const models = offered.models || [];
  const chosen = models.find((model) => model.name === offered.default);
  const first = offered.default ? `Default (${offered.default}${noise(chosen)})` : 'Default';
  return [['', first], ...models.map((model) => [model.name, `${model.name}${noise(model)}`])];
}

// Sets `node`'s options to the models offered now, keeping its value where still offered.
function fillModelSelect(node) {
  const choices = modelChoices();
  const key = JSON.stringify(choices);
  if (shownChoices.get(node) === key) return node; // unchanged: an open list stays open
  const kept = node.value;
  node.replaceChildren(...choices.map(([value, text]) => el('option', { value, text })));
  node.value = choices.some(([value]) => value === kept) ? kept : '';
  shownChoices.set(node, key);
  return node;
}

// The models offered changed (an answer of /studio/models): the model fields offer them now,
// each keeping the choice made where that model is still offered (else back to the default).
export function offerModels(models) {
  offered = models || { models: [], default: null };
  for (const field of built) {
    const input = field.kind === 'model' ? control(field) : null;
    if (input) fillModelSelect(input);
  }
}

// Adds the generated fields' values to `body`: empty ones and disabled ones are left out,
// numbers are sent as numbers, flags as booleans.
export function readFields(body) {
  for (const field of built) {
    const input = control(field);
    if (!input || input.disabled) continue;
    if (field.kind === 'flag') body[field.name] = input.checked;
    else if (input.value.trim() === '') continue;
    else if (field.kind === 'integer' || field.kind === 'number') body[field.name] = Number(input.value);
    else body[field.name] = field.kind === 'text' ? input.value.trim() : input.value;
  }
  return body;
}

// Sets the generated fields from an image's (or a PNG's) parameters, by name. A value equal to
// the default shows as empty (empty means the default); the request's own fields (how many
// images, public) stay as they are. Groups with a value are opened.
export function fillFields(values) {
  for (const field of built) {
    const input = control(field);
    if (!input || field.scope === 'request') continue;
    const value = values[field.name];
    const given = value !== null && value !== undefined;
    if (field.kind === 'flag') input.checked = given ? Boolean(value) : field.default === true;
    else if (input.tagName === 'SELECT') {
      // A value no longer offered (a model taken away) falls back to the default.
      const listed = given && [...input.options].some((option) => option.value === String(value));
      input.value = listed ? String(value) : String(field.default ?? input.options[0]?.value ?? '');
    } else input.value = given && value !== field.default ? String(value) : '';
    const group = input.closest('details');
    if (group && input.tagName !== 'SELECT' && input.type !== 'checkbox' && input.value !== '') group.open = true;
  }
}
