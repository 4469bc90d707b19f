// The Generate form, the "In progress" list of jobs and the live event socket.
import {
  api, session, sessionMark, owns, emit, on, el, describe, report, showBanner, showImage, releaseWithin,
  STATUS_TEXT, isActive, thumbnailUrl, ApiError, newSeed, variationOf,
} from './api.js';
import { setupSources, mode, readSource, markUsed, fillSource, clearSourceErrors, resetSources } from './sources.js';
import { setupLoras, refreshLoras, offerOnly, readLoras, fillLoras, lorasControl, resetLoras } from './loras.js';

const $ = (id) => document.getElementById(id);
const form = $('generate-form');
const prompt = $('prompt');
const negative = $('negative-prompt');
const style = $('style');
const resolution = $('resolution');
const seed = $('seed');
const randomSeed = $('random-seed');
const steps = $('steps');
const guidance = $('guidance');
const scheduler = $('scheduler');
const isPublic = $('is-public');
const numImages = $('num-images');
const variationGroup = $('variation');
const variationSeed = $('variation-seed');
const variationStrength = $('variation-strength');
const pngInput = $('png-file');
const remixNotice = $('remix-notice');
const submitButton = $('generate-button');
const jobList = $('jobs');

// The API's field names and the ids of their controls (errors go to `${id}-error`).
const FIELD_IDS = {
  prompt: 'prompt', negative_prompt: 'negative-prompt', style: 'style', resolution: 'resolution',
  seed: 'seed', steps: 'steps', guidance: 'guidance', scheduler: 'scheduler', is_public: 'is-public',
  num_images: 'num-images', variation_seed: 'variation-seed', variation_strength: 'variation-strength',
  init_image_id: 'init-image', mask_image_id: 'mask-image', strength: 'strength', loras: 'loras',
};
// Where focus goes for an error about a field whose box belongs to a group.
const FOCUS = { loras: lorasControl };
const STYLE_NAMES = { realistic: 'Realistic', anime: 'Anime', artistic: 'Artistic', '3d': '3D', sketch: 'Sketch' };
const SCHEDULER_NAMES = {
  dpmpp_2m: 'DPM++ 2M', dpmpp_2m_karras: 'DPM++ 2M Karras', euler: 'Euler', euler_a: 'Euler a',
  ddim: 'DDIM', unipc: 'UniPC', pndm: 'PNDM',
};
const POLL_MS = 2000; // while the live socket is down
const QUEUE_MS = 15000; // while it is up: how often queued jobs' positions are refreshed
const STABLE_MS = 30000; // a connection this old resets the reconnection backoff
const IDLE_MS = 45000; // the server pings every 15 s: this long without a message is a dead socket
const PNG_MAX_BYTES = 10 * 1024 * 1024; // what POST /images/parameters takes

const jobs = new Map();
const fetching = new Set(); // ids of jobs not shown yet whose GET is under way
let lastSeed = null;
let submission = null; // the generate request under way
let retryable = null; // {text, key, seed}: the last request that failed on the network or with a 5xx
let remixSource = null; // the image being remixed: the form then sends what differs from it
let pngSeq = 0; // only the latest PNG read fills the form
let pollTimer = null;
let polling = false;
let pollAgain = false;
let pollFailing = false;
let queueCheckedAt = 0;

export function setupGenerate(config) {
  const option = (value, text) => el('option', { value, text });
  style.replaceChildren(...config.styles.map((s) => option(s.value, STYLE_NAMES[s.value] || s.value)));
  resolution.replaceChildren(...config.resolutions.map((r) => option(r.value, '')));
  scheduler.replaceChildren(...config.schedulers.map((s) =>
    option(s, `${SCHEDULER_NAMES[s] || s}${s === config.default_scheduler ? ' (default)' : ''}`)));
  scheduler.value = config.default_scheduler;
  const { limits } = config;
  prompt.maxLength = limits.prompt_max;
  negative.maxLength = limits.prompt_max;
  seed.max = String(limits.seed_max);
  variationSeed.max = String(limits.seed_max);
  Object.assign(steps, { min: limits.steps_min, max: limits.steps_max });
  Object.assign(guidance, { min: limits.guidance_min, max: limits.guidance_max });
  setupSources(config, followMode);
  setupLoras(config.loras);
  updateStyleDefaults();
  updateCount();
  updateCost();
}

// The adapters offered now (GET /api/v1/models/loras), once signed in.
export const refreshOffers = refreshLoras;

// What the form's mode changes: the prices, and variations (text to image only) are off with
// a starting image.
function followMode(current) {
  const variations = current === 'txt2img';
  variationSeed.disabled = !variations;
  variationStrength.disabled = !variations;
  $('variation-off').hidden = variations;
  updateCost();
}

// One image's price in the form's mode (the operator may price image to image and inpainting
// apart); a server without per-mode prices prices them all as text to image.
function priceOf(choice) {
  const table = session.config.prices && session.config.prices[mode()];
  return table && typeof table[choice.value] === 'number' ? table[choice.value] : choice.tokens;
}

function styleDefaults() {
  return session.config.styles.find((s) => s.value === style.value) || session.config.styles[0];
}

function updateStyleDefaults() {
  const preset = styleDefaults();
  if (!preset) return;
  steps.placeholder = String(preset.steps);
  guidance.placeholder = String(preset.guidance);
}

function updateCount() {
  $('prompt-count').textContent = `${prompt.value.length} / ${prompt.maxLength}`;
}

function updateCost() {
  for (const option of resolution.options) {
    const r = session.config.resolutions.find((candidate) => candidate.value === option.value);
    if (r) option.textContent = `${r.width}×${r.height} — ${priceOf(r)} tokens`;
  }
  const choice = session.config.resolutions.find((r) => r.value === resolution.value);
  const count = Number(numImages.value) || 1;
  $('generate-cost').textContent = choice ? `Costs ${priceOf(choice) * count} tokens` : '';
}

style.addEventListener('change', updateStyleDefaults);
resolution.addEventListener('change', updateCost);
numImages.addEventListener('change', updateCost);
prompt.addEventListener('input', updateCount);
prompt.addEventListener('keydown', (event) => {
  // keyCode 229: Safari reports the Enter that ends an IME composition this way, not as isComposing.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    form.requestSubmit();
  }
});
seed.addEventListener('input', () => { if (seed.value !== '') randomSeed.checked = false; });
randomSeed.addEventListener('change', () => { if (randomSeed.checked) seed.value = ''; });
$('reuse-seed').addEventListener('click', reuseLastSeed);
$('remix-stop').addEventListener('click', () => {
  stopRemix();
  prompt.focus(); // the button is gone
});
pngInput.addEventListener('change', readPng);
form.addEventListener('submit', submit);

async function reuseLastSeed() {
  clearError('seed');
  let value = lastSeed;
  if (value === null) {
    const stale = sessionMark();
    try {
      const page = await api('/api/v1/images/user/me?page=0&size=20');
      if (stale()) return;
      const done = page.items.find((image) => image.status === 'COMPLETED');
      value = done ? done.seed : null;
    } catch (error) {
      if (!stale()) report(error);
      return;
    }
  }
  if (value === null) {
    fieldError('seed', 'No finished image yet: there is no seed to reuse.');
    return;
  }
  seed.value = String(value);
  randomSeed.checked = false;
  seed.focus();
}

// --- errors next to the fields -------------------------------------------------------------

function fieldError(field, message) {
  const id = FIELD_IDS[field] || field;
  const box = $(`${id}-error`);
  box.textContent = message;
  box.hidden = false;
  const control = $(id);
  if (control && control !== submitButton) control.setAttribute('aria-invalid', 'true');
  const group = control && control.closest('details');
  if (group) group.open = true; // the field and its error are shown, not folded away
  return control;
}

function clearError(field) {
  const id = FIELD_IDS[field] || field;
  const box = $(`${id}-error`);
  box.textContent = '';
  box.hidden = true;
  const control = $(id);
  if (control) control.removeAttribute('aria-invalid');
}

function clearErrors() {
  Object.keys(FIELD_IDS).forEach(clearError);
  clearError('generate');
  clearSourceErrors();
}

function showGenerateError(error) {
  const p = (error instanceof ApiError && error.problem) || {};
  const detail = error.message;
  const field = typeof p.field === 'string' ? p.field.replace(/^\$\./, '') : null;
  let control = null;
  if (p.code === 'prompt_rejected') {
    control = fieldError('prompt', `Refused by moderation: ${p.category || 'not allowed'}. ${detail}`);
  } else if (p.code === 'insufficient_tokens') {
    const needs = p.required !== undefined ? `this needs ${p.required}, you have ${p.balance}. ` : '';
    control = fieldError('resolution', `Not enough tokens: ${needs}${detail}`);
    emit('balance');
  } else if (p.code === 'rate_limited') {
    const wait = p.retry_after !== undefined ? ` Try again in ${p.retry_after} s.` : '';
    fieldError('generate', `Too many requests.${wait} ${detail}`);
  } else if (field === 'loras' && Array.isArray(p.allowed)) {
    offerOnly(p.allowed); // the adapters the server has now
    const allowed = p.allowed.length ? ` Offered: ${p.allowed.join(', ')}.` : ' None is offered here now.';
    control = fieldError(field, `${detail}${allowed}`);
  } else if (field && FIELD_IDS[field]) {
    const allowed = Array.isArray(p.allowed) && p.allowed.length ? ` Allowed: ${p.allowed.join(', ')}.` : '';
    control = fieldError(field, `${detail}${allowed}`);
  } else if (error instanceof ApiError && error.status === 401 && !session.token) {
    return;
  } else {
    fieldError('generate', describe(error));
    if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500) showBanner(error);
  }
  if (control) (FOCUS[field] ? FOCUS[field]() : control).focus();
}

// --- submitting ----------------------------------------------------------------------------

function readForm() {
  const text = prompt.value.trim();
  if (!text) {
    fieldError('prompt', 'Enter a prompt: describe the image to generate.').focus();
    return null;
  }
  const body = { prompt: text, style: style.value, resolution: resolution.value };
  if (negative.value.trim()) body.negative_prompt = negative.value.trim();
  if (!randomSeed.checked && seed.value.trim() !== '') body.seed = Number(seed.value);
  if (steps.value.trim() !== '') body.steps = Number(steps.value);
  if (guidance.value.trim() !== '') body.guidance = Number(guidance.value);
  if (scheduler.value) body.scheduler = scheduler.value;
  body.is_public = isPublic.checked;
  body.num_images = Number(numImages.value) || 1;
  const waiting = readSource(body);
  if (waiting) {
    fieldError(waiting.field, waiting.message).focus();
    return null;
  }
  if (!body.init_image_id) { // variations apply to text to image only (their fields are off)
    if (variationSeed.value.trim() !== '') body.variation_seed = Number(variationSeed.value);
    if (variationStrength.value.trim() !== '') body.variation_strength = Number(variationStrength.value);
  }
  const chosen = readLoras();
  if (chosen.error) {
    fieldError('loras', chosen.error);
    lorasControl().focus();
    return null;
  }
  if (chosen.loras.length) body.loras = chosen.loras;
  return body;
}

const sameLoras = (a, b) => JSON.stringify((a || []).map((l) => [l.name, Number(l.weight ?? 1)]))
  === JSON.stringify((b || []).map((l) => [l.name, Number(l.weight ?? 1)]));

// A remix sends only what differs from the image remixed (absent fields keep its values), plus
// how many images and whether they are public. Empty steps and guidance mean the style's
// defaults here too; a random seed is drawn by `submit` (absent, the image's seed is kept).
function remixChanges(source, body) {
  const strength = body.variation_strength;
  if (strength > 0 && body.variation_seed === undefined) {
    fieldError('variation_seed', 'A variation strength above 0 needs a variation seed.').focus();
    return null;
  }
  const preset = session.config.styles.find((s) => s.value === body.style) || styleDefaults();
  const wanted = {
    prompt: body.prompt,
    negative_prompt: body.negative_prompt || '',
    style: body.style,
    resolution: body.resolution,
    scheduler: body.scheduler,
    steps: body.steps ?? preset.steps,
    guidance: body.guidance ?? preset.guidance,
  };
  if (body.seed !== undefined) wanted.seed = body.seed;
  // A remix keeps what it is not told: a starting image (or mask) it has cannot be taken away.
  if (source.init_image_id && !body.init_image_id) {
    fieldError('init_image_id', 'The image remixed starts from an image: a remix keeps it. Choose another one, or stop remixing to generate without one.').focus();
    return null;
  }
  if (source.mask_image_id && !body.mask_image_id) {
    fieldError('mask_image_id', 'The image remixed has a mask: a remix keeps it. Choose another one, or stop remixing to generate without one.').focus();
    return null;
  }
  if (body.init_image_id) {
    wanted.init_image_id = body.init_image_id;
    if (body.mask_image_id) wanted.mask_image_id = body.mask_image_id;
    if (body.strength !== undefined) wanted.strength = body.strength;
  }
  const changes = {};
  for (const [key, value] of Object.entries(wanted)) {
    const stored = key === 'negative_prompt' ? source.negative_prompt || '' : source[key];
    if (value !== stored) changes[key] = value;
  }
  const mine = variationOf(body);
  const theirs = variationOf(source);
  const outOfRange = strength !== undefined && !(strength >= 0 && strength <= 1); // the server says why
  if (outOfRange || (mine && !(theirs && mine.seed === theirs.seed && mine.strength === theirs.strength))) {
    if (body.variation_seed !== undefined) changes.variation_seed = body.variation_seed;
    changes.variation_strength = strength;
  } else if (!mine && theirs) {
    changes.variation_strength = 0;
  }
  if (!sameLoras(body.loras, source.loras)) changes.loras = body.loras || [];
  changes.num_images = body.num_images;
  changes.is_public = body.is_public;
  return changes;
}

// What the form asks for: POST /generate, or while remixing POST /images/{id}/remix.
// `seeded`: the seed is to be drawn here (a remix without one would keep the image's).
function buildRequest() {
  const body = readForm();
  if (!body) return null;
  if (!remixSource) return { path: '/api/v1/images/generate', body, seeded: false };
  const changes = remixChanges(remixSource, body);
  if (!changes) return null;
  return {
    path: `/api/v1/images/${encodeURIComponent(remixSource.id)}/remix`, body: changes, seeded: body.seed === undefined,
  };
}

function newIdempotencyKey() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID(); // secure contexts only
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

async function submit(event) {
  event.preventDefault();
  if (submission) return;
  clearErrors();
  const request = buildRequest();
  if (!request) return;
  const { path, body } = request;
  // A retry of the same request after a network failure or a 5xx reuses its key (and the seed
  // drawn for it), so jobs that were created after all are returned (and charged) once;
  // anything else is a new request.
  const text = JSON.stringify([path, body]);
  const retry = retryable && retryable.text === text ? retryable : null;
  const key = retry ? retry.key : newIdempotencyKey();
  if (request.seeded) body.seed = retry ? retry.seed : newSeed();
  const mine = { key };
  submission = mine;
  const stale = sessionMark();
  submitButton.setAttribute('aria-busy', 'true');
  try {
    const created = await api(path, { method: 'POST', body, headers: { 'Idempotency-Key': key } });
    if (stale()) return;
    retryable = null;
    markUsed(body);
    trackAll(created.images || [created]);
    emit('balance');
  } catch (error) {
    if (stale()) return;
    const again = error instanceof ApiError && (error.status === 0 || error.status >= 500);
    retryable = again ? { text, key, seed: body.seed } : null;
    showGenerateError(error);
  } finally {
    if (submission === mine) {
      submission = null;
      submitButton.removeAttribute('aria-busy');
    }
  }
}

// --- filling the form: an image's settings, a remix, a PNG's parameters ---------------------

// Fields absent from `values` (a PNG need not carry them all) get the form's defaults; the
// number of images and "Public" stay as they are.
function fillForm(values) {
  clearErrors();
  showPngResult('');
  const given = (value) => value !== null && value !== undefined;
  const offers = (select, value) => [...select.options].some((o) => o.value === value);
  prompt.value = values.prompt || '';
  negative.value = values.negative_prompt || '';
  if (offers(style, values.style)) style.value = values.style;
  if (offers(resolution, values.resolution)) resolution.value = values.resolution;
  seed.value = given(values.seed) ? String(values.seed) : '';
  randomSeed.checked = !given(values.seed);
  steps.value = given(values.steps) ? String(values.steps) : '';
  guidance.value = given(values.guidance) ? String(values.guidance) : '';
  scheduler.value = offers(scheduler, values.scheduler) ? values.scheduler : session.config.default_scheduler;
  const variation = variationOf(values);
  variationSeed.value = variation ? String(variation.seed) : '';
  variationStrength.value = variation ? String(variation.strength) : '';
  if (variation) variationGroup.open = true;
  fillSource(values);
  fillLoras(values.loras);
  updateStyleDefaults();
  updateCount();
  updateCost();
}

function startRemix(image) {
  remixSource = image;
  $('remix-text').textContent = `Remixing ${image.prompt}`;
  remixNotice.hidden = false;
}

function stopRemix() {
  remixSource = null;
  remixNotice.hidden = true;
  $('remix-text').textContent = '';
}

on('reuse', (image) => {
  stopRemix();
  fillForm(image);
  emit('navigate', { view: 'generate', focus: prompt });
});

on('remix', (image) => {
  fillForm(image);
  startRemix(image);
  emit('navigate', { view: 'generate', focus: prompt });
});

// Jobs made elsewhere (the detail dialog's "Variations").
on('jobs-created', ({ images }) => {
  trackAll(images);
  emit('balance');
});

function showPngResult(status, error = '') {
  $('png-status').textContent = status;
  const box = $('png-error');
  box.textContent = error;
  box.hidden = !error;
  if (error) pngInput.setAttribute('aria-invalid', 'true');
  else pngInput.removeAttribute('aria-invalid');
}

async function readPng() {
  const file = pngInput.files && pngInput.files[0];
  if (!file) return;
  const seq = ++pngSeq;
  pngInput.value = ''; // the same file can be chosen again
  if (file.size > PNG_MAX_BYTES) {
    showPngResult('', `${file.name} is larger than 10 MB: no settings were read.`);
    return;
  }
  showPngResult(`Reading ${file.name}…`);
  const data = new FormData();
  data.append('file', file, file.name);
  const stale = sessionMark();
  try {
    const found = await api('/api/v1/images/parameters', { method: 'POST', body: data });
    if (seq !== pngSeq || stale()) return;
    stopRemix(); // the form now holds the file's settings, not changes to an image
    fillForm(found.parameters || {});
    const unused = Object.entries(found.unsupported || {}).map(([name, value]) => `${name}: ${value}`);
    const note = unused.length ? `. Not used: ${unused.join(', ')}` : '';
    showPngResult(`Settings read from ${file.name} (${found.source})${note}`);
  } catch (error) {
    if (seq !== pngSeq || stale()) return;
    if (error instanceof ApiError && error.status === 401 && !session.token) return;
    showPngResult('', describe(error));
  }
}

// --- the jobs ------------------------------------------------------------------------------

// The jobs of one request, the first on top; when there are several, `place` ({index, count})
// tells them apart: they share their prompt.
function trackAll(images) {
  const count = images.length;
  for (let index = count - 1; index >= 0; index -= 1) track(images[index], count > 1 ? { index, count } : null);
}

function track(image, place = null) {
  const known = jobs.get(image.id);
  if (known) {
    if (place) { // shown first from its events, before the request's answer said where it stands
      known.place = place;
      label(known);
    }
    apply(known, image);
    return;
  }
  const job = { image, place, step: null, total: null, refunded: undefined, duration: null, finished: false };
  job.parts = buildJob(job);
  label(job);
  jobs.set(image.id, job);
  jobList.prepend(job.parts.item);
  $('jobs-empty').hidden = true;
  render(job);
  if (!isActive(image)) finish(job);
  schedulePoll();
}

function buildJob(job) {
  const fill = el('span', { class: 'progress-fill' });
  const label = el('span', { class: 'progress-text' });
  const parts = {
    status: el('p', { class: 'job-status', 'aria-live': 'polite' }),
    queue: el('p', { class: 'job-queue', hidden: true }),
    bar: el('div', { class: 'progress', role: 'progressbar', 'aria-label': 'Progress', 'aria-valuemin': '0', hidden: true }, fill, label),
    fill,
    label,
    picture: el('div', { class: 'job-picture' }),
    cancel: el('button', { type: 'button', class: 'small', text: 'Cancel', onclick: () => cancel(job) }),
    dismiss: el('button', { type: 'button', class: 'small', text: 'Dismiss', hidden: true, onclick: () => dismiss(job) }),
    place: el('span', { class: 'job-place', hidden: true }),
  };
  parts.item = el('li', { class: 'job', 'data-id': job.image.id },
    el('p', { class: 'job-prompt' }, el('span', { text: job.image.prompt }), parts.place),
    parts.status, parts.queue, parts.bar, parts.picture,
    el('div', { class: 'inline' }, parts.cancel, parts.dismiss));
  return parts;
}

// "Job: <prompt>", and for the other images of a request "Job: <prompt> (2 of 4)".
function label(job) {
  const { place, parts } = job;
  const name = place && place.index > 0 ? `${job.image.prompt} (${place.index + 1} of ${place.count})` : job.image.prompt;
  parts.item.setAttribute('aria-label', `Job: ${name}`);
  parts.cancel.setAttribute('aria-label', `Cancel: ${name}`);
  parts.dismiss.setAttribute('aria-label', `Dismiss: ${name}`);
  parts.place.textContent = place ? `${place.index + 1} of ${place.count}` : '';
  parts.place.hidden = !place;
}

function refundText(job) {
  const amount = typeof job.refunded === 'number' ? job.refunded : job.image.tokens_cost;
  return job.refunded === false ? 'not refunded' : `refunded ${amount} tokens`;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function render(job) {
  const { image, parts } = job;
  parts.item.dataset.status = image.status.toLowerCase();
  let status = STATUS_TEXT[image.status] || image.status;
  if (image.status === 'COMPLETED' && job.duration) status += ` in ${Number(job.duration).toFixed(1)} s`;
  if (image.status === 'FAILED') status = `Failed: ${image.failure_reason || 'the generation did not finish'} — ${refundText(job)}`;
  if (image.status === 'CANCELLED') status = `Cancelled — ${refundText(job)}`;
  setText(parts.status, status); // a live region: only real changes are announced

  const queued = image.status === 'QUEUED';
  parts.queue.hidden = !queued;
  if (queued) {
    const position = image.queue_position ? `Position ${image.queue_position} in queue` : 'Waiting in queue';
    const eta = image.eta_seconds !== null && image.eta_seconds !== undefined ? ` · about ${image.eta_seconds} s` : '';
    setText(parts.queue, position + eta);
  }

  const processing = image.status === 'PROCESSING';
  parts.bar.hidden = !processing;
  if (processing) {
    const total = job.total || image.steps;
    const step = Math.min(job.step || 0, total);
    parts.bar.setAttribute('aria-valuemax', String(total));
    parts.bar.setAttribute('aria-valuenow', String(step));
    setText(parts.label, `${step} / ${total}`);
    parts.fill.style.width = `${total ? (100 * step) / total : 0}%`;
  }
  const hadFocus = document.activeElement === parts.cancel;
  parts.cancel.hidden = !isActive(image);
  parts.dismiss.hidden = isActive(image);
  if (hadFocus && parts.cancel.hidden) parts.dismiss.focus(); // the job ended under the keyboard
}

function apply(job, image) {
  if (jobs.get(job.image.id) !== job) return; // dismissed, or from before a sign-out
  if (image.status === 'QUEUED' && job.image.status === 'PROCESSING') return;
  job.image = image;
  if (image.status !== 'PROCESSING') job.step = null;
  render(job);
  if (!isActive(image)) finish(job);
}

function finish(job) {
  if (job.finished) return;
  job.finished = true;
  emit('balance');
  emit('images-changed');
  if (job.image.status !== 'COMPLETED') {
    job.parts.picture.replaceChildren(); // no half-made picture for a job that did not finish
    return;
  }
  lastSeed = job.image.seed;
  const url = thumbnailUrl(job.image);
  if (!url) return;
  const img = el('img', { alt: job.image.prompt, width: job.image.width, height: job.image.height });
  const open = el('button', { type: 'button', class: 'thumb', onclick: () => emit('open-image', { image: job.image, owner: owns(job.image) }) }, img);
  job.parts.picture.replaceChildren(open);
  showImage(img, url).catch(report);
}

// The worker's live preview: a small WebP of the image so far, as a data URL (CSP img-src data:).
const PREVIEW_PREFIX = 'data:image/webp;base64,';

function showPreview(job, url) {
  if (job.finished) return;
  let img = job.parts.picture.querySelector('img.job-preview');
  if (!img) {
    img = el('img', { class: 'job-preview', alt: `Preview of ${job.image.prompt}`, width: 128, height: 128 });
    job.parts.picture.replaceChildren(img);
  }
  img.src = url;
}

async function cancel(job) {
  job.parts.cancel.disabled = true;
  const stale = sessionMark();
  try {
    const image = await api(`/api/v1/images/${encodeURIComponent(job.image.id)}/cancel`, { method: 'POST' });
    if (!stale()) apply(job, image);
  } catch (error) {
    if (!stale()) {
      report(error);
      refresh(job);
    }
  } finally {
    job.parts.cancel.disabled = false;
  }
}

function dismiss(job) {
  if (jobs.get(job.image.id) !== job) return;
  const hadFocus = job.parts.item.contains(document.activeElement);
  releaseWithin(job.parts.item);
  job.parts.item.remove();
  jobs.delete(job.image.id);
  $('jobs-empty').hidden = jobs.size > 0;
  if (hadFocus) $('jobs-title').focus(); // rather than losing it to the page
}

on('image-deleted', ({ id }) => {
  if (jobs.has(id)) dismiss(jobs.get(id));
  if (remixSource && remixSource.id === id) stopRemix();
});

async function refresh(job, fallback) {
  const stale = sessionMark();
  try {
    const image = await api(`/api/v1/images/${encodeURIComponent(job.image.id)}`);
    if (!stale()) apply(job, image);
  } catch (error) {
    if (stale() || jobs.get(job.image.id) !== job) return;
    if (error instanceof ApiError && error.status === 404) dismiss(job);
    else if (fallback) apply(job, { ...job.image, ...fallback });
    else report(error);
  }
}

function schedulePoll() {
  if (!pollTimer && session.token) pollTimer = setInterval(() => poll(), POLL_MS);
}

// Without the live socket every running job is polled; with it, events carry the progress and
// only queued jobs are asked for their place in the queue (which events do not carry), now and
// then. `full` polls every running job whatever the socket (done once it (re)connects).
async function poll(full = false) {
  const active = [...jobs.values()].filter((job) => isActive(job.image));
  if (!active.length) {
    clearInterval(pollTimer);
    pollTimer = null;
    return;
  }
  if (polling) {
    if (full) pollAgain = true;
    return;
  }
  let targets = active;
  if (connected && !full) {
    if (Date.now() - queueCheckedAt < QUEUE_MS) return;
    targets = active.filter((job) => job.image.status === 'QUEUED');
    if (!targets.length) return;
  }
  if (connected) queueCheckedAt = Date.now();
  polling = true;
  const stale = sessionMark();
  try {
    for (const job of targets) {
      if (stale()) return;
      if (jobs.get(job.image.id) !== job || !isActive(job.image)) continue;
      const image = await api(`/api/v1/images/${encodeURIComponent(job.image.id)}`);
      if (stale()) return;
      apply(job, image);
    }
    pollFailing = false;
  } catch (error) {
    if (stale()) return;
    if (error instanceof ApiError && error.status === 404) {
      targets.forEach((job) => refresh(job));
    } else if (!pollFailing) {
      pollFailing = true;
      report(error);
    }
  } finally {
    polling = false;
    if (pollAgain) {
      pollAgain = false;
      poll(true);
    }
  }
}

// Jobs still running from before a reload (or from another tab) are shown again.
export async function adoptRunningJobs() {
  const stale = sessionMark();
  try {
    const page = await api('/api/v1/images/user/me?page=0&size=100');
    if (stale()) return;
    // Prepended one by one: the oldest request first, so the newest ends on top, and a request's
    // images from its last, so they read in order.
    const places = groupPlaces(page.items);
    const index = (image) => (places.has(image.id) ? places.get(image.id).index : 0);
    const age = new Map(page.items.map((image, rank) => [image.group_id || image.id, rank])); // a group: its oldest
    const key = (image) => age.get(image.group_id || image.id);
    const active = page.items.filter(isActive).sort((a, b) => key(b) - key(a) || index(b) - index(a));
    active.forEach((image) => track(image, places.get(image.id) || null));
    const done = page.items.find((image) => image.status === 'COMPLETED');
    if (done && lastSeed === null) lastSeed = done.seed;
  } catch (error) {
    if (!stale()) report(error);
  }
}

// Where each image of a several-image request stands in it ({index, count}): the list is newest
// first, and a request's images were created one after the other, in seed order.
function groupPlaces(newestFirst) {
  const groups = new Map();
  for (const image of [...newestFirst].reverse()) {
    if (!image.group_id) continue;
    if (!groups.has(image.group_id)) groups.set(image.group_id, []);
    groups.get(image.group_id).push(image);
  }
  const places = new Map();
  for (const members of groups.values()) {
    if (members.length > 1) members.forEach((image, index) => places.set(image.id, { index, count: members.length }));
  }
  return places;
}

export function resetJobs() {
  clearInterval(pollTimer);
  pollTimer = null;
  pollAgain = false;
  pollFailing = false;
  queueCheckedAt = 0;
  releaseWithin(jobList);
  jobList.replaceChildren();
  jobs.clear();
  fetching.clear();
  lastSeed = null;
  submission = null;
  retryable = null;
  submitButton.removeAttribute('aria-busy');
  $('jobs-empty').hidden = false;
  clearErrors();
  stopRemix();
  pngSeq += 1;
  showPngResult('');
  resetSources();
  resetLoras();
}

// --- live events ---------------------------------------------------------------------------

let socket = null;
let live = false;
let connected = false; // authenticated: events arrive
let retries = 0;
let retryTimer = null;
let stableTimer = null;
let idleTimer = null;
let lastEventId = null; // the last event's id, sent on reconnecting for a snapshot of the jobs

function setLive(text) {
  $('live-status').textContent = `Live updates: ${text}`;
}

export function startLive() {
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
  schedulePoll(); // polling takes over while the socket is down
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
      poll(true);
    } else if (data.type === 'event') {
      if (data.id !== undefined && data.id !== null) lastEventId = String(data.id); // snapshots have none
      if (data.data) onEvent(data.event, data.data);
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

function onEvent(name, data) {
  const id = data.job_id;
  if (['queued', 'completed', 'failed', 'cancelled'].includes(name)) emit('balance');
  const job = jobs.get(id);
  if (!job) {
    if (name !== 'queued' && name !== 'processing') emit('images-changed');
    else if (id && !fetching.has(id)) {
      // A job from another tab (or from before a reload): fetched once, however many events come.
      fetching.add(id);
      const stale = sessionMark();
      api(`/api/v1/images/${encodeURIComponent(id)}`)
        .then((image) => { if (!stale()) track(image); })
        .catch((error) => { if (!stale()) report(error); })
        .finally(() => { if (!stale()) fetching.delete(id); });
    }
    return;
  }
  const { image } = job;
  if (name === 'queued' && image.status === 'QUEUED') {
    job.image = { ...image, queue_position: data.queue_position ?? image.queue_position, eta_seconds: data.eta_seconds ?? image.eta_seconds };
    render(job);
  } else if (name === 'processing' && isActive(image)) {
    job.image = { ...image, status: 'PROCESSING' };
    if (data.step !== undefined) job.step = data.step;
    if (data.total_steps) job.total = data.total_steps;
    if (typeof data.preview === 'string' && data.preview.startsWith(PREVIEW_PREFIX)) showPreview(job, data.preview);
    render(job);
  } else if (name === 'completed') {
    job.duration = data.duration_seconds;
    refresh(job);
  } else if (name === 'failed') {
    job.refunded = data.refunded;
    refresh(job, { status: 'FAILED', failure_reason: data.reason });
  } else if (name === 'cancelled') {
    job.refunded = data.refunded;
    refresh(job, { status: 'CANCELLED' });
  }
}
