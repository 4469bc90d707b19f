// The model notice under the header, and a model download the server runs (a first run pulls the
// starter model while the studio serves): while it runs, /studio/models is asked every 1.5 s and
// the notice says how far it got; once installed the notice names the model and the form offers
// it, without a reload; a failed one is said, with its error.
import { api, session } from './api.js';
import { $, setText } from './dom.js';
import { offerModels } from './form-fields.js';

const POLL_MS = 1500;
const FINAL = new Set(['installed', 'failed']);
// "installed" said before the list offers the model: asked again this many times at most.
const SETTLE_POLLS = 5;
const NOISE = 'No model is installed: images come from a small random network, so they are noise.';
const UNITS = [[1e9, 'GB'], [1e6, 'MB'], [1e3, 'kB'], [1, 'B']];

const notice = $('model-notice');
const lead = $('model-notice-text');
const detail = $('model-notice-detail');
const bar = $('model-progress');
let timer = null;
let settling = 0;

const unitOf = (bytes) => UNITS.find(([size]) => bytes >= size) || UNITS[UNITS.length - 1];
const amount = (bytes, [size, unit]) => `${size === 1 ? bytes : (bytes / size).toFixed(1)} ${unit}`;

function speed(bytesPerSecond) {
  const [size, unit] = unitOf(bytesPerSecond);
  const value = bytesPerSecond / size;
  return `${value >= 10 || size === 1 ? Math.round(value) : value.toFixed(1)} ${unit}/s`;
}

const running = (download) => Boolean(download) && !FINAL.has(download.state);
const sentence = (text) => (/[.…]$/.test(text) ? text : `${text}.`);
const repoOf = (download) => (download.source || '').replace(/^hub:/, '') || download.name;

// How far a running download got, in words: "Downloading NAME: 45 % — 0.9 GB of 2.0 GB, 12 MB/s".
function downloadText(download) {
  const { name, state, bytes_done: done, bytes_total: total, bytes_per_second: rate } = download;
  if (state === 'checking') return `Preparing to download ${name}: asking which files to fetch…`;
  if (state === 'verifying') return `Verifying ${name}: checking the downloaded files…`;
  const pace = rate > 0 ? `, ${speed(rate)}` : '';
  if (!(total > 0)) return `Downloading ${name}: ${amount(done, unitOf(done))} so far${pace}`;
  const unit = unitOf(total);
  const percent = Math.min(100, Math.floor((done * 100) / total));
  return `Downloading ${name}: ${percent} % — ${amount(done, unit)} of ${amount(total, unit)}${pace}`;
}

// The default model and whether it draws real images, from the models offered (or, where the
// server lists none, from the configuration's `model`).
function defaultOf(models, model) {
  const chosen = (models && models.models || []).find((m) => m.default);
  if (chosen) return { name: chosen.name, real: !chosen.random };
  return { name: model && model.name, real: Boolean(model && model.configured) };
}

function show(text, more, style) {
  setText(lead, text);
  setText(detail, more ? ` ${more}` : '');
  notice.classList.toggle('configured', style === 'configured');
  notice.classList.toggle('warning', style === 'warning');
  notice.hidden = false;
}

function showBar(download) {
  bar.hidden = !running(download);
  if (bar.hidden) return;
  if (download.state === 'downloading' && download.bytes_total > 0) {
    bar.max = download.bytes_total;
    bar.value = Math.min(download.bytes_done, download.bytes_total);
  } else {
    bar.removeAttribute('value'); // checking or verifying: no amount to show
  }
}

// `models`: an answer of /studio/models; `model`: the configuration's {configured, name, notice}.
function showModels(models, model) {
  const download = models && models.download;
  const { name, real } = defaultOf(models, model);
  showBar(download);
  if (running(download)) {
    if (real) show(`Model: ${name}.`, downloadText(download), 'configured');
    else show(sentence(downloadText(download)), 'Images are noise until it is installed.', 'warning');
  } else if (download && download.state === 'failed') {
    const failed = sentence(`The download of ${download.name} failed: ${download.error || 'no reason given'}`);
    if (real) show(`Model: ${name}.`, failed, 'configured');
    else show(failed, `Images stay noise until a model is installed (nexus-image models pull ${repoOf(download)}).`, 'warning');
  } else if (real) {
    show(`Model: ${name}`, '', 'configured');
  } else {
    show((model && model.notice) || NOISE, '', 'warning');
  }
}

// An installed download the list does not offer yet (the server reads its models again).
function unsettled(models) {
  const download = models.download;
  if (!download || download.state !== 'installed') return false;
  if ((models.models || []).some((m) => m.name === download.name)) return false;
  settling += 1;
  return settling <= SETTLE_POLLS;
}

async function poll() {
  timer = null;
  let models;
  try {
    models = await api('/studio/models', { token: null });
  } catch {
    timer = setTimeout(poll, POLL_MS); // the server restarting, or the network: ask again
    return;
  }
  const { name, real } = defaultOf(models, session.config.model);
  session.config.models = models;
  session.config.model = { ...session.config.model, configured: real, name, notice: real ? null : session.config.model.notice };
  offerModels(models);
  showModels(models, session.config.model);
  if (running(models.download) || unsettled(models)) timer = setTimeout(poll, POLL_MS);
}

// At page load: the notice, and the polling while a download runs.
export function setupModels(config) {
  showModels(config.models, config.model);
  clearTimeout(timer);
  timer = null;
  settling = 0;
  if (config.models && running(config.models.download)) timer = setTimeout(poll, POLL_MS);
}
