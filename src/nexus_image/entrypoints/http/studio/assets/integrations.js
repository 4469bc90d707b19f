// Integrations: the user's webhooks. The secret that signs request webhooks (a generation's own
// `webhook_url`); the form that adds an endpoint; the endpoints (webhook-endpoints.js) and one's
// delivery log (webhook-deliveries.js). Secrets show only while this screen does.
import { api, sessionMark, describe, ApiError, signedOutMeanwhile, isOutage } from './api.js';
import { on } from './bus.js';
import { $, el, showError, showBanner, report } from './dom.js';
import { announce, secretBox } from './secret-box.js';
import { closeDeliveries, loadDeliveries, openEndpointId } from './webhook-deliveries.js';
import { clearEndpoints, forgetEndpointSecrets, loadEndpoints, webhookEvents } from './webhook-endpoints.js';

const form = $('endpoint-form');
const choices = $('endpoint-event-choices');
const created = $('endpoint-created');
const requestSecret = $('request-secret');
const showSecret = $('request-secret-show');
// The form's controls by the API's field names; `form` is the error box of the form as a whole.
const CONTROLS = { url: $('endpoint-url'), events: $('endpoint-events'), description: $('endpoint-description') };
let shown = false;

// One checkbox per event, built once the studio's configuration (which lists them) is read.
function offerEvents() {
  if (choices.children.length) return;
  choices.append(...webhookEvents().map((event) => {
    const id = `endpoint-event-${event.split('.')[1]}`;
    return el('span', { class: 'check' },
      el('input', { type: 'checkbox', id, name: 'events', value: event }),
      el('label', { for: id, text: event }));
  }));
}

// --- the request webhooks' secret ---

function revealRequestSecret(secrets) {
  requestSecret.replaceChildren(secretBox('Request webhook secret', secrets));
  requestSecret.hidden = false;
  showSecret.textContent = 'Hide secret';
  showSecret.setAttribute('aria-expanded', 'true');
}

function hideRequestSecret() {
  requestSecret.replaceChildren();
  requestSecret.hidden = true;
  showSecret.textContent = 'Show secret';
  showSecret.setAttribute('aria-expanded', 'false');
}

async function requestSecretCall(options) {
  const stale = sessionMark();
  try {
    const secrets = await api('/api/v1/webhooks/secret' + (options ? '/rotate' : ''), options);
    if (stale()) return false;
    revealRequestSecret(secrets);
    return true;
  } catch (error) {
    if (!stale()) report(error);
    return false;
  }
}

showSecret.addEventListener('click', () => {
  if (!requestSecret.hidden) hideRequestSecret();
  else requestSecretCall();
});

$('request-secret-rotate').addEventListener('click', async () => {
  const question = 'Rotate the request webhook secret? The current one still signs beside the new one for a grace period: update your receivers before it ends.';
  if (!window.confirm(question)) return;
  if (await requestSecretCall({ method: 'POST' })) announce('The request webhook secret was rotated: the new one is shown.');
});

// --- adding an endpoint ---

const fieldError = (name, message) => showError($(`endpoint-${name}-error`), message, name === 'url' || name === 'description' ? CONTROLS[name] : null);

function clearFormErrors() {
  for (const name of [...Object.keys(CONTROLS), 'form']) fieldError(name, '');
}

// A refusal next to the field it concerns (the API's `field`), else under the button.
function showFormError(error) {
  const problem = (error instanceof ApiError && error.problem) || {};
  const field = typeof problem.field === 'string' ? problem.field.replace(/^\$\./, '') : '';
  if (Object.hasOwn(CONTROLS, field)) {
    fieldError(field, error.message);
    (field === 'events' ? choices.querySelector('input') : CONTROLS[field]).focus();
    return;
  }
  fieldError('form', describe(error));
  if (isOutage(error)) showBanner(error);
}

function hideCreated() {
  created.replaceChildren();
  created.hidden = true;
}

function showCreated(endpoint) {
  const again = `It is shown again by “Show secret” in the list below, or by GET /api/v1/webhooks/endpoints/${endpoint.id}/secret.`;
  const done = el('button', { type: 'button', class: 'small', text: 'Done', onclick: () => {
    hideCreated();
    CONTROLS.url.focus();
  } });
  created.replaceChildren(
    el('p', { class: 'ok', text: `Endpoint added: ${endpoint.url}` }),
    secretBox('Secret of the new endpoint', endpoint, `Give this secret to your receiver. ${again}`),
    done);
  created.hidden = false;
  created.querySelector('input').focus();
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearFormErrors();
  const url = CONTROLS.url.value.trim();
  if (!url) {
    fieldError('url', 'Enter the URL that receives the webhooks.');
    CONTROLS.url.focus();
    return;
  }
  const events = [...choices.querySelectorAll('input:checked')].map((box) => box.value);
  const body = { url, description: CONTROLS.description.value.trim(), ...(events.length ? { events } : {}) };
  const submit = form.querySelector('button[type="submit"]');
  if (submit.getAttribute('aria-busy') === 'true') return; // one at a time
  submit.setAttribute('aria-busy', 'true');
  const stale = sessionMark();
  try {
    const endpoint = await api('/api/v1/webhooks/endpoints', { method: 'POST', body });
    if (stale()) return;
    form.reset();
    announce('Endpoint added: copy its secret now.');
    showCreated(endpoint);
    await loadEndpoints();
  } catch (error) {
    if (!stale() && !signedOutMeanwhile(error)) showFormError(error);
  } finally {
    submit.removeAttribute('aria-busy');
  }
});

// --- the screen shown, left, signed out ---

function forgetSecrets() {
  hideRequestSecret();
  hideCreated();
  forgetEndpointSecrets();
}

on('view', ({ view }) => {
  const was = shown;
  shown = view === 'integrations';
  if (shown) {
    offerEvents();
    loadEndpoints();
    if (openEndpointId()) loadDeliveries();
  } else if (was) {
    forgetSecrets();
    announce('');
  }
});

on('signed-out', () => {
  shown = false;
  forgetSecrets();
  closeDeliveries();
  clearEndpoints();
  form.reset();
  clearFormErrors();
  announce('');
});
