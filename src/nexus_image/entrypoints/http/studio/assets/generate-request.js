// Sending the form: POST /images/generate, or while remixing POST /images/{id}/remix with what
// changed; retried with the same Idempotency-Key after a network failure or a server error; the
// API's refusals shown next to the field they concern.
import { quotaRefusal, SUSPENDED_REFUSAL } from './account-facts.js';
import { api, session, sessionMark, describe, isOutage, signedOutMeanwhile, ApiError } from './api.js';
import { emit, on } from './bus.js';
import { $, showBanner } from './dom.js';
import { clearError, fieldError, hasErrorBox } from './field-errors.js';
import { readFields } from './form-fields.js';
import { newSeed } from './image-facts.js';
import { readPreset } from './presets.js';
import { lorasControl, offerOnly, readLoras } from './lora-picker.js';
import { remixChanges, remixing } from './remix.js';
import { readSeed } from './seed-field.js';
import { clearSourceErrors, markUsed, readSource } from './starting-image.js';

const form = $('generate-form');
const submitButton = $('generate-button');
let submission = null; // the request under way
let retryable = null; // {text, key, seed}: the last request that failed on the network or with a 5xx

const fields = () => session.config.fields || [];
// Where focus goes for an error about a field whose box belongs to a group.
const FOCUS = { loras: lorasControl };

export function clearErrors() {
  fields().forEach((field) => clearError(field.name));
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
  } else if (p.code === 'quota_exceeded') {
    fieldError('generate', quotaRefusal(p));
    emit('balance'); // the account's usage, as the header and the Account screen show it
  } else if (p.code === 'account_suspended') {
    fieldError('generate', SUSPENDED_REFUSAL);
    emit('balance');
  } else if (p.code === 'rate_limited') {
    const wait = p.retry_after !== undefined ? ` Try again in ${p.retry_after} s.` : '';
    fieldError('generate', `Too many requests.${wait} ${detail}`);
  } else if (field === 'loras' && Array.isArray(p.allowed)) {
    offerOnly(p.allowed); // the adapters the server has now
    const allowed = p.allowed.length ? ` Offered: ${p.allowed.join(', ')}.` : ' None is offered here now.';
    control = fieldError(field, `${detail}${allowed}`);
  } else if (field && hasErrorBox(field)) {
    const allowed = Array.isArray(p.allowed) && p.allowed.length ? ` Allowed: ${p.allowed.join(', ')}.` : '';
    control = fieldError(field, `${detail}${allowed}`);
  } else if (signedOutMeanwhile(error)) {
    return;
  } else {
    fieldError('generate', describe(error));
    if (isOutage(error)) showBanner(error);
  }
  if (control) (FOCUS[field] ? FOCUS[field]() : control).focus();
}

// The request's body from the form, or null (with the error shown) when it cannot be sent yet.
function readForm() {
  const text = $('prompt').value.trim();
  if (!text) {
    fieldError('prompt', 'Enter a prompt: describe the image to generate.').focus();
    return null;
  }
  const body = { prompt: text, style: $('style').value, resolution: $('resolution').value };
  readSeed(body);
  readFields(body); // variations are off (disabled) with a starting image: left out then
  readPreset(body);
  const waiting = readSource(body);
  if (waiting) {
    fieldError(waiting.field, waiting.message).focus();
    return null;
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

// `seeded`: the seed is to be drawn here (a remix without one would keep the image's).
function buildRequest() {
  const body = readForm();
  if (!body) return null;
  const source = remixing();
  if (!source) return { path: '/api/v1/images/generate', body, seeded: false };
  const changes = remixChanges(body, fields());
  if (!changes) return null;
  return { path: `/api/v1/images/${encodeURIComponent(source.id)}/remix`, body: changes, seeded: body.seed === undefined };
}

function newIdempotencyKey() {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID(); // secure contexts only
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

form.addEventListener('submit', async (event) => {
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
    emit('jobs-created', { images: created.images || [created] });
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
});

on('signed-out', () => {
  submission = null;
  retryable = null;
  submitButton.removeAttribute('aria-busy');
  clearErrors();
});
