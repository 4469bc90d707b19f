// Presets: the user's saved prompt template, negative prompt, style and settings (and those
// others share), chosen for the next request (`preset` in its body), saved from the form,
// shared, deleted, exported as JSON and imported from such a file (/api/v1/presets).
import { api, path, session, sessionMark, describe } from './api.js';
import { on } from './bus.js';
import { $, el, showError } from './dom.js';
import { readFields } from './form-fields.js';

const choice = $('preset-choice');
let presets = []; // {id, name, owner_id, is_public, ...}: mine, then the shared ones of others

const status = (text) => { $('preset-status').textContent = text; };
const error = (text) => showError($('preset-error'), text, choice);
const chosen = () => presets.find((preset) => preset.id === choice.value) || null;
const mine = (preset) => preset && preset.owner_id === session.userId;

// The body of a generate request gets the preset chosen (none: nothing).
export function readPreset(body) {
  if (choice.value) body.preset = choice.value;
  return body;
}

async function refresh(select = choice.value) {
  const stale = sessionMark();
  try {
    const [own, shared] = await Promise.all([
      api('/api/v1/presets?size=100'), api('/api/v1/presets/public?size=100'),
    ]);
    if (stale()) return;
    const others = (shared.items || []).filter((preset) => preset.owner_id !== session.userId);
    presets = [...(own.items || []), ...others];
    choice.replaceChildren(el('option', { value: '', text: 'None' }),
      ...presets.map((preset) => el('option', {
        value: preset.id,
        text: `${preset.name}${mine(preset) ? (preset.is_public ? ' (shared)' : '') : ' (shared by another)'}`,
      })));
    choice.value = presets.some((preset) => preset.id === select) ? select : '';
    follow();
  } catch (failure) {
    if (!stale()) error(describe(failure));
  }
}

// Only the owner shares, unshares or deletes; anyone exports.
function follow() {
  const preset = chosen();
  $('preset-export').disabled = !preset;
  $('preset-share').disabled = !mine(preset);
  $('preset-delete').disabled = !mine(preset);
  $('preset-share').textContent = preset && preset.is_public ? 'Stop sharing' : 'Share';
}

async function run(action, done) {
  error('');
  status('');
  const stale = sessionMark();
  try {
    const result = await action();
    if (stale()) return;
    await done(result);
  } catch (failure) {
    if (!stale()) error(describe(failure));
  }
}

choice.addEventListener('change', follow);

// The form's prompt becomes the template (with {prompt} where a request's prompt goes; without
// it the prompt is added after the template's text), with its negative prompt, style and the
// settings set in the form.
$('preset-save').addEventListener('click', () => {
  const name = $('preset-name').value.trim();
  if (!name) {
    error('Enter a name for the preset.');
    return;
  }
  const body = { name, template: $('prompt').value.trim(), style: $('style').value };
  const negative = $('negative-prompt').value.trim();
  if (negative) body.negative_prompt = negative;
  const settings = readFields({});
  const kept = ['steps', 'guidance', 'scheduler', 'clip_skip', 'schedule', 'hires_scale', 'hires_steps',
    'hires_denoise', 'hires_upscaler', 'fast', 'model'];
  body.parameters = Object.fromEntries(kept.filter((key) => settings[key] !== undefined).map((key) => [key, settings[key]]));
  run(() => api('/api/v1/presets', { method: 'POST', body }), async (made) => {
    $('preset-name').value = '';
    status(`Saved the preset “${made.name}”.`);
    await refresh(made.id);
  });
});

$('preset-share').addEventListener('click', () => {
  const preset = chosen();
  if (!mine(preset)) return;
  run(() => api(`/api/v1/presets/${path(preset.id)}`, { method: 'PATCH', body: { is_public: !preset.is_public } }),
    async (changed) => {
      status(changed.is_public ? `“${changed.name}” is shared now.` : `“${changed.name}” is yours alone now.`);
      await refresh(changed.id);
    });
});

$('preset-delete').addEventListener('click', () => {
  const preset = chosen();
  if (!mine(preset) || !window.confirm(`Delete the preset “${preset.name}”?`)) return;
  run(() => api(`/api/v1/presets/${path(preset.id)}`, { method: 'DELETE' }), async () => {
    status(`Deleted the preset “${preset.name}”.`);
    await refresh('');
  });
});

$('preset-export').addEventListener('click', () => {
  const preset = chosen();
  if (!preset) return;
  run(() => api(`/api/v1/presets/${path(preset.id)}/export`), async (document_) => {
    const blob = new Blob([JSON.stringify(document_, null, 2)], { type: 'application/json' });
    const link = el('a', { href: URL.createObjectURL(blob), download: `${preset.name}.preset.json` });
    document.body.append(link);
    link.click();
    link.remove();
    status(`Exported “${preset.name}”.`);
  });
});

$('preset-import').addEventListener('change', () => {
  const input = $('preset-import');
  const file = input.files && input.files[0];
  input.value = '';
  if (!file) return;
  run(async () => api('/api/v1/presets/import', { method: 'POST', body: JSON.parse(await file.text()) }),
    async (made) => {
      status(`Imported the preset “${made.name}”.`);
      await refresh(made.id);
    });
});

on('signed-in', () => refresh(''));
on('signed-out', () => {
  presets = [];
  choice.replaceChildren(el('option', { value: '', text: 'None' }));
  status('');
  error('');
  follow();
});
