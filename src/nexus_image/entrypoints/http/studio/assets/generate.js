// The Generate screen: the form built from the field descriptions (form-fields.js) around the
// dedicated controls, the mode it is in, and filling it from an image's settings ("Use these
// settings", "Remix") or a PNG's. Sending it: generate-request.js.
import { emit, on } from './bus.js';
import { $, el } from './dom.js';
import { control, fillFields, generatedFields, renderFields } from './form-fields.js';
import { clearErrors } from './generate-request.js';
import { fillLoras, setupLoras } from './lora-picker.js';
import { setupPngSettings, showPngResult } from './png-settings.js';
import { fillPrompt, setupPrompt } from './prompt-field.js';
import { startRemix, stopRemix } from './remix.js';
import { fillSeed, setupSeed } from './seed-field.js';
import { fillSource, mode, setupSources } from './starting-image.js';
import { fillStyleAndResolution, setupStyleAndPrice, updateCost } from './style-and-price.js';
import './job-updates.js';

const form = $('generate-form');
// set by other clients (a companion app), or by the presets panel, not here
const NOT_SHOWN = new Set(['companion_id', 'preset']);
// The groups of fields that apply to text to image only: off with a starting image.
const TEXT_TO_IMAGE_ONLY = ['variation', 'hires'];

export function setupGenerate(config) {
  const fields = config.fields || [];
  const byName = Object.fromEntries(fields.map((field) => [field.name, field]));
  const dedicated = {};
  form.querySelectorAll('[data-field]').forEach((node) => {
    for (const name of node.dataset.field.split(' ')) dedicated[name] = node;
  });
  const names = {
    upscalers: config.upscalers || [],
    fast_modes: (config.fast_modes || []).map((mode) => mode.name),
  };
  renderFields(fields, { dedicated, hidden: NOT_SHOWN, anchor: $('png-field'), models: config.models, names });
  for (const name of TEXT_TO_IMAGE_ONLY) {
    const group = $(name);
    if (group && group.tagName === 'DETAILS') {
      group.querySelector('summary').append(' ', el('span', {
        id: `${name}-off`, class: 'summary-note', hidden: true,
        text: '— off with a starting image (text to image only)',
      }));
    }
  }
  setupPrompt(byName.prompt);
  setupSeed(byName.seed);
  setupStyleAndPrice(config, mode);
  setupSources(config, followMode);
  setupLoras(config.loras);
  setupPngSettings((values) => {
    stopRemix(); // the form now holds the file's settings, not changes to an image
    fillForm(values);
  });
}

// What the form's mode changes: the prices, and the text-to-image-only fields are off.
function followMode(current) {
  const textToImage = current === 'txt2img';
  for (const field of generatedFields()) {
    if (TEXT_TO_IMAGE_ONLY.includes(field.group)) control(field).disabled = !textToImage;
  }
  for (const name of TEXT_TO_IMAGE_ONLY) {
    const note = $(`${name}-off`);
    if (note) note.hidden = textToImage;
  }
  updateCost();
}

// Fields absent from `values` (a PNG need not carry them all) get the form's defaults; the
// request's own fields (how many images, public) stay as they are.
function fillForm(values) {
  clearErrors();
  showPngResult('');
  fillPrompt(values.prompt);
  fillStyleAndResolution(values);
  fillSeed(values.seed);
  fillFields(values);
  fillSource(values);
  fillLoras(values.loras);
}

on('reuse', (image) => {
  stopRemix();
  fillForm(image);
  emit('navigate', { view: 'generate', focus: $('prompt') });
});

on('remix', (image) => {
  fillForm(image);
  startRemix(image);
  emit('navigate', { view: 'generate', focus: $('prompt') });
});
