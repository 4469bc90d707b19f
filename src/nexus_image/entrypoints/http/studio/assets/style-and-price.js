// Style and resolution, and what they decide besides themselves: the style's steps and guidance
// shown in the fields left empty (those whose fallback is the style), and the price of the
// request for the form's mode, resolution and number of images.
import { session } from './api.js';
import { $, el } from './dom.js';
import { choiceName, controlId } from './form-fields.js';

const style = $('style');
const resolution = $('resolution');
let styleFields = []; // the names of fields whose empty value means the style's
let currentMode = () => 'txt2img';

// `mode()`: the form's mode now (txt2img, img2img or inpaint), which prices may differ by.
export function setupStyleAndPrice(config, mode) {
  currentMode = mode;
  styleFields = (config.fields || []).filter((field) => field.fallback === 'style').map((field) => field.name);
  style.replaceChildren(...config.styles.map((s) => el('option', { value: s.value, text: choiceName(s.value) })));
  resolution.replaceChildren(...config.resolutions.map((r) => el('option', { value: r.value, text: '' })));
  updateStyleDefaults();
  updateCost();
}

// The style's preset ({value, steps, guidance}): its keys are the fields it gives values to.
export function presetOf(value = style.value) {
  return session.config.styles.find((s) => s.value === value) || session.config.styles[0];
}

export function updateStyleDefaults() {
  const preset = presetOf();
  if (!preset) return;
  for (const name of styleFields) {
    const input = $(controlId(name));
    if (input && preset[name] !== undefined) input.placeholder = String(preset[name]);
  }
}

// One image's price in the form's mode (the operator may price image to image and inpainting
// apart); a server without per-mode prices prices them all as text to image.
function priceOf(choice) {
  const table = session.config.prices && session.config.prices[currentMode()];
  return table && typeof table[choice.value] === 'number' ? table[choice.value] : choice.tokens;
}

export function updateCost() {
  const { resolutions } = session.config;
  for (const option of resolution.options) {
    const r = resolutions.find((candidate) => candidate.value === option.value);
    if (r) option.textContent = `${r.width}×${r.height} — ${priceOf(r)} tokens`;
  }
  const choice = resolutions.find((r) => r.value === resolution.value);
  const count = Number(style.form.elements.num_images?.value) || 1;
  $('generate-cost').textContent = choice ? `Costs ${finalPrice(choice) * count} tokens` : '';
}

// As the server prices it: by the area a hires fix ends at (each side rounded to 8 pixels),
// times the fast mode's factor, rounded up.
function finalPrice(choice) {
  const elements = style.form.elements;
  const scale = currentMode() === 'txt2img' ? Number(elements.hires_scale?.value) || 0 : 0;
  let tokens = priceOf(choice);
  if (scale) {
    const side = (n) => Math.round((n * scale) / 8) * 8;
    tokens = Math.max(1, Math.ceil((tokens * side(choice.width) * side(choice.height)) / (choice.width * choice.height) - 1e-9));
  }
  const fast = (session.config.fast_modes || []).find((mode) => mode.name === elements.fast?.value);
  return fast ? Math.max(1, Math.ceil(tokens * fast.price - 1e-9)) : tokens;
}

style.addEventListener('change', updateStyleDefaults);
resolution.addEventListener('change', updateCost);
const PRICED = new Set(['num_images', 'hires_scale', 'fast']);
style.form.addEventListener('change', (event) => { if (PRICED.has(event.target.name)) updateCost(); });

// An image's (or a PNG's) style and resolution, where this server offers them.
export function fillStyleAndResolution(values) {
  const offers = (select, value) => [...select.options].some((option) => option.value === value);
  if (offers(style, values.style)) style.value = values.style;
  if (offers(resolution, values.resolution)) resolution.value = values.resolution;
  updateStyleDefaults();
  updateCost();
}
