// The seed: "Random seed" (the server draws one) or a number, and "Reuse last seed" (the latest
// finished image's, asked for when none finished here yet).
import { api, sessionMark } from './api.js';
import { $, report } from './dom.js';
import { clearError, fieldError } from './field-errors.js';
import { lastFinishedSeed } from './jobs.js';

const seed = $('seed');
const randomSeed = $('random-seed');

export function setupSeed(field) {
  if (field && field.max !== null && field.max !== undefined) seed.max = String(field.max);
}

seed.addEventListener('input', () => { if (seed.value !== '') randomSeed.checked = false; });
randomSeed.addEventListener('change', () => { if (randomSeed.checked) seed.value = ''; });
$('reuse-seed').addEventListener('click', reuseLastSeed);

async function reuseLastSeed() {
  clearError('seed');
  let value = lastFinishedSeed();
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

export function readSeed(body) {
  if (!randomSeed.checked && seed.value.trim() !== '') body.seed = Number(seed.value);
}

export function fillSeed(value) {
  const given = value !== null && value !== undefined;
  seed.value = given ? String(value) : '';
  randomSeed.checked = !given;
}
