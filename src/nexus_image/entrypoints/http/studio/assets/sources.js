// "Start from an image": the starting image and its mask, uploaded as soon as they are chosen
// (POST /api/v1/uploads) and shown from an authorised fetch, and the strength.
import { api, session, sessionMark, describe, showImage, release, ApiError } from './api.js';

const $ = (id) => document.getElementById(id);
const strength = $('strength');
const strengthRange = $('strength-range');
const options = $('source-options');
const used = new Set(); // uploads sent with a request (or read from an image): never deleted here
let maxBytes = 10 * 1024 * 1024;
let strengthDefault = 0.75;
let notify = () => {}; // told the mode whenever it may have changed

// Deletes an upload made here that no request used (replaced or removed): it counts against the
// user's allowance and nothing could refer to it. Best effort: a failure leaves it on the server.
function discard(upload) {
  if (!upload || !upload.fresh || used.has(upload.id) || !session.token) return;
  api(`/api/v1/uploads/${encodeURIComponent(upload.id)}`, { method: 'DELETE' }).catch(() => {});
}

// What an upload's refusal says next to its file input (409: the allowance is full, 413: too
// large, 422: not an image the API takes, with the detail why).
function refusal(error, file) {
  if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500) return describe(error);
  if (error.status === 409) return `${file.name} was not uploaded: your upload allowance is full. ${error.message}`;
  if (error.status === 413) return `${file.name} is too large: ${error.message}`;
  return `${file.name} was refused: ${error.message}`;
}

// One file input with its upload, preview and Remove button: `current` is the upload in use
// ({id, width, height, url, label, fresh}); `seq` drops answers to superseded uploads.
class UploadSlot {
  constructor(prefix, noun) {
    Object.assign(this, {
      noun,
      input: $(`${prefix}-image`),
      status: $(`${prefix}-image-status`),
      error: $(`${prefix}-image-error`),
      preview: $(`${prefix}-preview`),
      image: $(`${prefix}-preview-image`),
      text: $(`${prefix}-preview-text`),
      remove: $(`${prefix}-remove`),
    });
    this.current = null;
    this.pending = false;
    this.seq = 0;
    this.input.addEventListener('change', () => this.choose());
    this.remove.addEventListener('click', () => {
      this.clear(true);
      this.input.focus(); // the button is gone
    });
  }

  showError(message) {
    this.error.textContent = message || '';
    this.error.hidden = !message;
    if (message) this.input.setAttribute('aria-invalid', 'true');
    else this.input.removeAttribute('aria-invalid');
  }

  async choose() {
    const file = this.input.files && this.input.files[0];
    if (!file) return;
    this.input.value = ''; // the same file can be chosen again
    const seq = ++this.seq;
    this.showError('');
    if (file.size > maxBytes) {
      this.pending = false;
      this.status.textContent = '';
      this.showError(`${file.name} is larger than ${Math.round(maxBytes / (1024 * 1024))} MB: choose a smaller file.`);
      return;
    }
    this.pending = true;
    this.status.textContent = `Uploading ${file.name}…`;
    const data = new FormData();
    data.append('file', file, file.name);
    const stale = sessionMark();
    try {
      const upload = await api('/api/v1/uploads', { method: 'POST', body: data });
      if (stale()) return;
      if (seq !== this.seq) {
        discard({ id: upload.upload_id, fresh: true });
        return;
      }
      this.pending = false;
      this.set({ ...fromApi(upload), label: file.name, fresh: true });
      this.status.textContent = `Uploaded ${file.name}.`;
    } catch (error) {
      if (seq !== this.seq || stale()) return;
      this.pending = false;
      this.status.textContent = '';
      if (error instanceof ApiError && error.status === 401 && !session.token) return;
      this.showError(refusal(error, file));
    }
  }

  // The upload of an image's settings (not deleted here, whatever happens to it).
  async fill(id) {
    const seq = ++this.seq;
    this.showError('');
    this.status.textContent = '';
    this.pending = true;
    const stale = sessionMark();
    try {
      const upload = await api(`/api/v1/uploads/${encodeURIComponent(id)}`);
      if (seq !== this.seq || stale()) return;
      used.add(upload.upload_id);
      this.pending = false;
      this.set({ ...fromApi(upload), label: `upload ${upload.upload_id}`, fresh: false });
    } catch (error) {
      if (seq !== this.seq || stale()) return;
      this.pending = false;
      this.drop(true);
      update();
      if (error instanceof ApiError && error.status === 401 && !session.token) return;
      const why = error instanceof ApiError && error.status === 404
        ? 'it was deleted, or it is another user’s upload'
        : describe(error);
      this.showError(`The ${this.noun} of those settings (${id}) cannot be used: ${why}.`);
    }
  }

  set(upload) {
    if (this.current && this.current.id !== upload.id) discard(this.current);
    this.current = upload;
    this.text.textContent = `${upload.width}×${upload.height} · ${upload.label}`;
    this.preview.hidden = false;
    showImage(this.image, upload.url).catch((error) => {
      if (this.current === upload) this.showError(`The preview could not be loaded: ${describe(error)}`);
    });
    update();
  }

  // Forgets the upload (deleting it on the server where nothing used it, if `discarding`).
  drop(discarding) {
    if (discarding) discard(this.current);
    this.current = null;
    release(this.image);
    this.image.removeAttribute('src');
    this.preview.hidden = true;
    this.text.textContent = '';
    this.status.textContent = '';
  }

  clear(discarding) {
    this.seq += 1;
    this.pending = false;
    this.drop(discarding);
    this.showError('');
    update();
  }
}

function fromApi(upload) {
  return { id: upload.upload_id, width: upload.width, height: upload.height, url: upload.url };
}

const init = new UploadSlot('init', 'starting image');
const mask = new UploadSlot('mask', 'mask');
let sizeProblem = false; // the mask's error box says the sizes differ

function update() {
  if (!init.current && !init.pending && (mask.current || mask.pending)) mask.clear(true); // needs one
  options.hidden = !init.current; // the strength and the mask belong to a starting image
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
  const given = (value) => typeof value === 'string' && value !== '';
  if (given(values.init_image_id)) {
    if (!init.current || init.current.id !== values.init_image_id) {
      init.drop(true);
      init.fill(values.init_image_id);
    }
  } else {
    init.clear(true);
  }
  if (given(values.init_image_id) && given(values.mask_image_id)) {
    if (!mask.current || mask.current.id !== values.mask_image_id) {
      mask.drop(true);
      mask.fill(values.mask_image_id);
    }
  } else {
    mask.clear(true);
  }
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
export function resetSources() {
  init.clear(false);
  mask.clear(false);
  used.clear();
  setStrength(strengthDefault);
  update();
}
