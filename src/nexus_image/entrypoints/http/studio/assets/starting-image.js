// "Start from an image": the starting image and its mask (upload-slot.js), and the strength. The
// form's mode follows: text to image, image to image, or inpainting with a mask.
import { on } from './bus.js';
import { $ } from './dom.js';
import { UploadSlot } from './upload-slot.js';

const strength = $('strength');
const strengthRange = $('strength-range');
const used = new Set(); // uploads sent with a request (or read from an image): never deleted here
let maxBytes = 10 * 1024 * 1024;
let strengthDefault = 0.75;
let notify = () => {}; // told the mode whenever it may have changed
let sizeProblem = false; // the mask's error box says the sizes differ

const init = new UploadSlot({ prefix: 'init', noun: 'starting image', used, maxBytes: () => maxBytes, onChange: update });
const mask = new UploadSlot({ prefix: 'mask', noun: 'mask', used, maxBytes: () => maxBytes, onChange: update });

function update() {
  if (!init.current && !init.pending && (mask.current || mask.pending)) mask.clear(true); // needs one
  $('source-options').hidden = !init.current; // the strength and the mask belong to a starting image
  const a = init.current;
  const b = mask.current;
  const differ = Boolean(a && b && (a.width !== b.width || a.height !== b.height));
  if (differ) {
    mask.showError(`The mask is ${b.width}×${b.height}; it must have the starting image’s size, ${a.width}×${a.height}.`);
  } else if (sizeProblem) {
    mask.showError('');
  }
  sizeProblem = differ;
  notify(mode());
}

strength.addEventListener('input', () => {
  const value = Number(strength.value);
  if (strength.value !== '' && value >= Number(strengthRange.min) && value <= Number(strengthRange.max)) {
    strengthRange.value = strength.value;
  }
});
strengthRange.addEventListener('input', () => { strength.value = strengthRange.value; });

function setStrength(value) {
  strength.value = String(value);
  strengthRange.value = String(value);
}

// `onChange(mode)` runs whenever the mode may have changed (the price and the variation fields
// follow it).
export function setupSources(config, onChange) {
  const { limits } = config;
  if (limits.upload_max_bytes) maxBytes = limits.upload_max_bytes;
  if (limits.strength_default) strengthDefault = limits.strength_default;
  for (const input of [strength, strengthRange]) {
    if (limits.strength_min !== undefined) input.min = String(limits.strength_min);
    if (limits.strength_max !== undefined) input.max = String(limits.strength_max);
  }
  setStrength(strengthDefault);
  notify = onChange;
  update();
}

// text to image, image to image, or inpainting: what the form asks for now.
export function mode() {
  if (!init.current) return 'txt2img';
  return mask.current ? 'inpaint' : 'img2img';
}

// The source fields of a request, or {field, message} while an upload is still under way.
export function readSource(body) {
  if (init.pending) return { field: 'init_image_id', message: 'The starting image is still uploading: generate once it is in.' };
  if (mask.pending) return { field: 'mask_image_id', message: 'The mask is still uploading: generate once it is in.' };
  if (!init.current) return null;
  body.init_image_id = init.current.id;
  if (strength.value.trim() !== '') body.strength = Number(strength.value);
  if (mask.current) body.mask_image_id = mask.current.id;
  return null;
}

// The uploads of a request that was accepted: they are referred to now.
export function markUsed(body) {
  if (body.init_image_id) used.add(body.init_image_id);
  if (body.mask_image_id) used.add(body.mask_image_id);
}

// An image's (or a PNG's) starting image, mask and strength; absent ones are cleared.
export function fillSource(values) {
  const starts = typeof values.init_image_id === 'string' && values.init_image_id !== '';
  init.show(values.init_image_id);
  mask.show(starts ? values.mask_image_id : null);
  const value = Number(values.strength);
  setStrength(values.strength !== null && values.strength !== undefined && value > 0 ? value : strengthDefault);
  update();
}

export function clearSourceErrors() {
  init.showError('');
  mask.showError('');
  sizeProblem = false;
}

// Signed out: everything forgotten (nothing deleted: the session that made the uploads is gone).
on('signed-out', () => {
  init.clear(false);
  mask.clear(false);
  used.clear();
  setStrength(strengthDefault);
  update();
});
