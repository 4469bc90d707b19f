// Keeping "In progress" up to date: the live events, polling while the socket is down (and now
// and then for queued jobs' places, which events do not carry), the jobs still running from
// before a reload, and jobs created elsewhere (the details dialog's "Variations").
import { api, session, sessionMark, ApiError } from './api.js';
import { emit, on } from './bus.js';
import { report } from './dom.js';
import { isActive } from './image-facts.js';
import { jobs, track, trackAll, apply, render, refresh, showPreview, clearJobs, noteFinishedSeed, whenTracked } from './jobs.js';
import { startLive, stopLive, isConnected } from './live-events.js';

const POLL_MS = 2000; // while the live socket is down
const QUEUE_MS = 15000; // while it is up: how often queued jobs' positions are refreshed
const PREVIEW_PREFIX = 'data:image/webp;base64,';
const fetching = new Set(); // ids of jobs not shown yet whose GET is under way
let pollTimer = null;
let polling = false;
let pollAgain = false;
let pollFailing = false;
let queueCheckedAt = 0;

function schedulePoll() {
  if (!pollTimer && session.token) pollTimer = setInterval(() => poll(), POLL_MS);
}
whenTracked(schedulePoll);

// Without the live socket every running job is polled; with it, only queued jobs are, now and
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
  if (isConnected() && !full) {
    if (Date.now() - queueCheckedAt < QUEUE_MS) return;
    targets = active.filter((job) => job.image.status === 'QUEUED');
    if (!targets.length) return;
  }
  if (isConnected()) queueCheckedAt = Date.now();
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
async function adoptRunningJobs() {
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
    if (done) noteFinishedSeed(done.seed);
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

function onEvent(name, data) {
  const id = data.job_id;
  if (['queued', 'completed', 'failed', 'cancelled', 'expired'].includes(name)) emit('balance');
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
  } else if (name === 'expired') {
    job.refunded = data.refunded;
    refresh(job, { status: 'EXPIRED' });
  }
}

on('jobs-created', ({ images }) => {
  trackAll(images);
  emit('balance');
});

on('signed-in', () => {
  startLive({ event: onEvent, connected: () => poll(true), down: schedulePoll });
  adoptRunningJobs();
});

on('signed-out', () => {
  stopLive();
  clearInterval(pollTimer);
  pollTimer = null;
  pollAgain = false;
  pollFailing = false;
  queueCheckedAt = 0;
  fetching.clear();
  clearJobs();
});
