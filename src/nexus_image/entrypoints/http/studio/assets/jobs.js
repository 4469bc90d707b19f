// "In progress": a list item per job, with its status, place in the queue, progress bar, live
// preview, picture once finished, and Cancel / Dismiss. How jobs get here and are kept up to
// date: job-updates.js.
import { api, sessionMark, ApiError } from './api.js';
import { emit, on } from './bus.js';
import { $, el, setText, report } from './dom.js';
import { isActive, statusText, thumbnailUrl } from './image-facts.js';
import { showImage, releaseWithin } from './pictures.js';

export const jobs = new Map(); // image id -> {image, place, step, total, refunded, duration, finished, parts}
const jobList = $('jobs');
let lastSeed = null;
let onTracked = () => {}; // told whenever a job is added (polling starts if needed)

// The seed of the latest finished image (null: none yet).
export const lastFinishedSeed = () => lastSeed;
export const noteFinishedSeed = (seed) => { if (lastSeed === null) lastSeed = seed; };
export const whenTracked = (handler) => { onTracked = handler; };

// The jobs of one request, the first on top; when there are several, `place` ({index, count})
// tells them apart: they share their prompt.
export function trackAll(images) {
  const count = images.length;
  for (let index = count - 1; index >= 0; index -= 1) track(images[index], count > 1 ? { index, count } : null);
}

export function track(image, place = null) {
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
  onTracked();
}

function buildJob(job) {
  const fill = el('span', { class: 'progress-fill' });
  const text = el('span', { class: 'progress-text' });
  const parts = {
    status: el('p', { class: 'job-status', 'aria-live': 'polite' }),
    queue: el('p', { class: 'job-queue', hidden: true }),
    bar: el('div', { class: 'progress', role: 'progressbar', 'aria-label': 'Progress', 'aria-valuemin': '0', hidden: true }, fill, text),
    fill,
    label: text,
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

export function render(job) {
  const { image, parts } = job;
  parts.item.dataset.status = image.status.toLowerCase();
  let status = statusText(image);
  if (image.status === 'COMPLETED' && job.duration) status += ` in ${Number(job.duration).toFixed(1)} s`;
  if (image.status === 'FAILED') status = `Failed: ${image.failure_reason || 'the generation did not finish'} — ${refundText(job)}`;
  if (image.status === 'CANCELLED') status = `Cancelled — ${refundText(job)}`;
  if (image.status === 'EXPIRED') status = `Expired — not started in time, ${refundText(job)}`;
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

// The image as the server says it is now.
export function apply(job, image) {
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
  const open = el('button', { type: 'button', class: 'thumb', onclick: () => emit('open-image', { image: job.image }) }, img);
  job.parts.picture.replaceChildren(open);
  showImage(img, url).catch(report);
}

// The worker's live preview: a small WebP of the image so far, as a data URL (CSP img-src data:).
export function showPreview(job, url) {
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
});

// Asks for the job's image; `fallback` is what an event said, shown if the request fails.
export async function refresh(job, fallback) {
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

export function clearJobs() {
  releaseWithin(jobList);
  jobList.replaceChildren();
  jobs.clear();
  lastSeed = null;
  $('jobs-empty').hidden = false;
}
