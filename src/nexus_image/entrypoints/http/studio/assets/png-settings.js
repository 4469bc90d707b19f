// "Settings from a PNG": a PNG made here or by AUTOMATIC1111 is read by the server
// (POST /images/parameters) and its settings fill the form.
import { api, sessionMark, describe, signedOutMeanwhile } from './api.js';
import { on } from './bus.js';
import { $, showError } from './dom.js';

const PNG_MAX_BYTES = 10 * 1024 * 1024; // what POST /images/parameters takes
const input = $('png-file');
let seq = 0; // only the latest PNG read fills the form
let fill = () => {};

// `fillWith(parameters)` fills the form (the remix, if any, stopped).
export function setupPngSettings(fillWith) {
  fill = fillWith;
}

export function showPngResult(status, error = '') {
  $('png-status').textContent = status;
  showError($('png-error'), error, input);
}

input.addEventListener('change', async () => {
  const file = input.files && input.files[0];
  if (!file) return;
  const mine = ++seq;
  input.value = ''; // the same file can be chosen again
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
    if (mine !== seq || stale()) return;
    fill(found.parameters || {});
    const unused = Object.entries(found.unsupported || {}).map(([name, value]) => `${name}: ${value}`);
    const note = unused.length ? `. Not used: ${unused.join(', ')}` : '';
    showPngResult(`Settings read from ${file.name} (${found.source})${note}`);
  } catch (error) {
    if (mine !== seq || stale() || signedOutMeanwhile(error)) return;
    showPngResult('', describe(error));
  }
});

on('signed-out', () => {
  seq += 1;
  showPngResult('');
});
