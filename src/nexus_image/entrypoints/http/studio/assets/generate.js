// The Generate form, the "In progress" list of jobs and the live event socket.
import {
  api, session, emit, on, el, describe, report, showBanner, showImage, releaseWithin,
  STATUS_TEXT, isActive, thumbnailUrl, ApiError,
} from './api.js';

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
const submitButton = $('generate-button');
const jobList = $('jobs');

// The API's field names and the ids of their controls (errors go to `${id}-error`).
const FIELD_IDS = {
  prompt: 'prompt', negative_prompt: 'negative-prompt', style: 'style', resolution: 'resolution',
  seed: 'seed', steps: 'steps', guidance: 'guidance', scheduler: 'scheduler', is_public: 'is-public',
};
const STYLE_NAMES = { realistic: 'Realistic', anime: 'Anime', artistic: 'Artistic', '3d': '3D', sketch: 'Sketch' };
const SCHEDULER_NAMES = {
  dpmpp_2m: 'DPM++ 2M', dpmpp_2m_karras: 'DPM++ 2M Karras', euler: 'Euler', euler_a: 'Euler a',
  ddim: 'DDIM', unipc: 'UniPC', pndm: 'PNDM',
};
const POLL_MS = 2000;

const jobs = new Map();
let lastSeed = null;
let busy = false;
let pollTimer = null;
let polling = false;
let pollFailing = false;

export function setupGenerate(config) {
  const option = (value, text) => el('option', { value, text });
  style.replaceChildren(...config.styles.map((s) => option(s.value, STYLE_NAMES[s.value] || s.value)));
  resolution.replaceChildren(...config.resolutions.map((r) =>
    option(r.value, `${r.width}×${r.height} — ${r.tokens} tokens`)));
  scheduler.replaceChildren(...config.schedulers.map((s) =>
    option(s, `${SCHEDULER_NAMES[s] || s}${s === config.default_scheduler ? ' (default)' : ''}`)));
  scheduler.value = config.default_scheduler;
  const { limits } = config;
  prompt.maxLength = limits.prompt_max;
  negative.maxLength = limits.prompt_max;
  seed.max = String(limits.seed_max);
  Object.assign(steps, { min: limits.steps_min, max: limits.steps_max });
  Object.assign(guidance, { min: limits.guidance_min, max: limits.guidance_max });
  updateStyleDefaults();
  updateCount();
  updateCost();
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
  const choice = session.config.resolutions.find((r) => r.value === resolution.value);
  $('generate-cost').textContent = choice ? `Costs ${choice.tokens} tokens` : '';
}

style.addEventListener('change', updateStyleDefaults);
resolution.addEventListener('change', updateCost);
prompt.addEventListener('input', updateCount);
prompt.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
});
seed.addEventListener('input', () => { if (seed.value !== '') randomSeed.checked = false; });
randomSeed.addEventListener('change', () => { if (randomSeed.checked) seed.value = ''; });
$('reuse-seed').addEventListener('click', reuseLastSeed);
form.addEventListener('submit', submit);

async function reuseLastSeed() {
  clearError('seed');
  let value = lastSeed;
  if (value === null) {
    try {
      const page = await api('/api/v1/images/user/me?page=0&size=20');
      const done = page.items.find((image) => image.status === 'COMPLETED');
      value = done ? done.seed : null;
    } catch (error) {
      report(error);
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
  } else if (field && FIELD_IDS[field]) {
    const allowed = Array.isArray(p.allowed) && p.allowed.length ? ` Allowed: ${p.allowed.join(', ')}.` : '';
    control = fieldError(field, `${detail}${allowed}`);
  } else if (error instanceof ApiError && error.status === 401 && !session.token) {
    return;
  } else {
    fieldError('generate', describe(error));
    if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500) showBanner(error);
  }
  if (control) control.focus();
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
  return body;
}

async function submit(event) {
  event.preventDefault();
  if (busy) return;
  clearErrors();
  const body = readForm();
  if (!body) return;
  busy = true;
  submitButton.setAttribute('aria-busy', 'true');
  try {
    const image = await api('/api/v1/images/generate', { method: 'POST', body });
    track(image);
    emit('balance');
  } catch (error) {
    showGenerateError(error);
  } finally {
    busy = false;
    submitButton.removeAttribute('aria-busy');
  }
}

on('reuse', (image) => {
  clearErrors();
  prompt.value = image.prompt;
  negative.value = image.negative_prompt || '';
  style.value = image.style;
  resolution.value = image.resolution;
  seed.value = String(image.seed);
  randomSeed.checked = false;
  steps.value = String(image.steps);
  guidance.value = String(image.guidance);
  if ([...scheduler.options].some((o) => o.value === image.scheduler)) scheduler.value = image.scheduler;
  updateStyleDefaults();
  updateCount();
  updateCost();
  emit('navigate', { view: 'generate', focus: prompt });
});

// --- the jobs ------------------------------------------------------------------------------

function track(image) {
  if (jobs.has(image.id)) {
    apply(jobs.get(image.id), image);
    return;
  }
  const job = { image, step: null, total: null, refunded: undefined, duration: null, finished: false };
  job.parts = buildJob(job);
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
    status: el('p', { class: 'job-status' }),
    queue: el('p', { class: 'job-queue', hidden: true }),
    bar: el('div', { class: 'progress', role: 'progressbar', 'aria-label': 'Progress', 'aria-valuemin': '0', hidden: true }, fill, label),
    fill,
    label,
    picture: el('div', { class: 'job-picture' }),
    cancel: el('button', { type: 'button', class: 'small', text: 'Cancel', onclick: () => cancel(job) }),
    dismiss: el('button', { type: 'button', class: 'small', text: 'Dismiss', hidden: true, onclick: () => dismiss(job) }),
  };
  parts.item = el('li', { class: 'job', 'aria-label': `Job: ${job.image.prompt}` },
    el('p', { class: 'job-prompt', text: job.image.prompt }),
    parts.status, parts.queue, parts.bar, parts.picture,
    el('div', { class: 'inline' }, parts.cancel, parts.dismiss));
  return parts;
}

function refundText(job) {
  const amount = typeof job.refunded === 'number' ? job.refunded : job.image.tokens_cost;
  return job.refunded === false ? 'not refunded' : `refunded ${amount} tokens`;
}

function render(job) {
  const { image, parts } = job;
  parts.item.dataset.status = image.status.toLowerCase();
  let status = STATUS_TEXT[image.status] || image.status;
  if (image.status === 'COMPLETED' && job.duration) status += ` in ${Number(job.duration).toFixed(1)} s`;
  if (image.status === 'FAILED') status = `Failed: ${image.failure_reason || 'the generation did not finish'} — ${refundText(job)}`;
  if (image.status === 'CANCELLED') status = `Cancelled — ${refundText(job)}`;
  parts.status.textContent = status;

  const queued = image.status === 'QUEUED';
  parts.queue.hidden = !queued;
  if (queued) {
    const position = image.queue_position ? `Position ${image.queue_position} in queue` : 'Waiting in queue';
    const eta = image.eta_seconds !== null && image.eta_seconds !== undefined ? ` · about ${image.eta_seconds} s` : '';
    parts.queue.textContent = position + eta;
  }

  const processing = image.status === 'PROCESSING';
  parts.bar.hidden = !processing;
  if (processing) {
    const total = job.total || image.steps;
    const step = Math.min(job.step || 0, total);
    parts.bar.setAttribute('aria-valuemax', String(total));
    parts.bar.setAttribute('aria-valuenow', String(step));
    parts.label.textContent = `${step} / ${total}`;
    parts.fill.style.width = `${total ? (100 * step) / total : 0}%`;
  }
  parts.cancel.hidden = !isActive(image);
  parts.dismiss.hidden = isActive(image);
}

function apply(job, image) {
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
  if (job.image.status !== 'COMPLETED') return;
  lastSeed = job.image.seed;
  const url = thumbnailUrl(job.image);
  if (!url) return;
  const img = el('img', { alt: job.image.prompt, width: job.image.width, height: job.image.height });
  const open = el('button', { type: 'button', class: 'thumb', onclick: () => emit('open-image', { image: job.image, owner: true }) }, img);
  job.parts.picture.replaceChildren(open);
  showImage(img, url).catch(report);
}

async function cancel(job) {
  job.parts.cancel.disabled = true;
  try {
    apply(job, await api(`/api/v1/images/${encodeURIComponent(job.image.id)}/cancel`, { method: 'POST' }));
  } catch (error) {
    report(error);
    refresh(job);
  } finally {
    job.parts.cancel.disabled = false;
  }
}

function dismiss(job) {
  releaseWithin(job.parts.item);
  job.parts.item.remove();
  jobs.delete(job.image.id);
  $('jobs-empty').hidden = jobs.size > 0;
}

on('image-deleted', ({ id }) => { if (jobs.has(id)) dismiss(jobs.get(id)); });

async function refresh(job, fallback) {
  try {
    apply(job, await api(`/api/v1/images/${encodeURIComponent(job.image.id)}`));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) dismiss(job);
    else if (fallback) apply(job, { ...job.image, ...fallback });
    else report(error);
  }
}

function schedulePoll() {
  if (!pollTimer && session.token) pollTimer = setInterval(poll, POLL_MS);
}

async function poll() {
  const active = [...jobs.values()].filter((job) => isActive(job.image));
  if (!active.length) {
    clearInterval(pollTimer);
    pollTimer = null;
    return;
  }
  if (polling) return;
  polling = true;
  try {
    for (const job of active) {
      const image = await api(`/api/v1/images/${encodeURIComponent(job.image.id)}`);
      if (jobs.get(image.id) === job) apply(job, image);
    }
    pollFailing = false;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      active.forEach((job) => refresh(job));
    } else if (!pollFailing) {
      pollFailing = true;
      report(error);
    }
  } finally {
    polling = false;
  }
}

// Jobs still running from before a reload (or from another tab) are shown again.
export async function adoptRunningJobs() {
  try {
    const page = await api('/api/v1/images/user/me?page=0&size=20');
    page.items.filter(isActive).reverse().forEach(track);
    const done = page.items.find((image) => image.status === 'COMPLETED');
    if (done && lastSeed === null) lastSeed = done.seed;
  } catch (error) {
    report(error);
  }
}

export function resetJobs() {
  clearInterval(pollTimer);
  pollTimer = null;
  releaseWithin(jobList);
  jobList.replaceChildren();
  jobs.clear();
  lastSeed = null;
  $('jobs-empty').hidden = false;
  clearErrors();
}

// --- live events ---------------------------------------------------------------------------

let socket = null;
let live = false;
let retries = 0;
let retryTimer = null;

function setLive(text) {
  $('live-status').textContent = `Live updates: ${text}`;
}

export function startLive() {
  live = true;
  retries = 0;
  connect();
}

export function stopLive() {
  live = false;
  clearTimeout(retryTimer);
  const open = socket;
  socket = null;
  if (open) open.close(1000);
  setLive('offline');
}

function connect() {
  if (!live || !session.token) return;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`);
  socket = ws;
  setLive('connecting…');
  ws.addEventListener('open', () => ws.send(JSON.stringify({ type: 'auth', token: session.token })));
  ws.addEventListener('message', (message) => {
    let data;
    try { data = JSON.parse(message.data); } catch { return; }
    if (data.type === 'connected') {
      retries = 0;
      setLive('connected');
      poll();
    } else if (data.type === 'event' && data.data) {
      onEvent(data.event, data.data);
    }
  });
  ws.addEventListener('close', (event) => {
    if (socket !== ws) return;
    socket = null;
    if (!live) return;
    if (event.code === 4401) {
      if (session.onUnauthorized) session.onUnauthorized(new ApiError(401, { detail: 'The token was refused: sign in again.' }));
      return;
    }
    const delay = Math.min(30000, 1000 * 2 ** retries) + Math.floor(Math.random() * 500);
    retries += 1;
    setLive(`disconnected, retrying in ${Math.round(delay / 1000)} s`);
    retryTimer = setTimeout(connect, delay);
  });
}

function onEvent(name, data) {
  const id = data.job_id;
  if (['queued', 'completed', 'failed', 'cancelled'].includes(name)) emit('balance');
  const job = jobs.get(id);
  if (!job) {
    if (name === 'queued' || name === 'processing') {
      api(`/api/v1/images/${encodeURIComponent(id)}`).then(track).catch(report);
    } else {
      emit('images-changed');
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
