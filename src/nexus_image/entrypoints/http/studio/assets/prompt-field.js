// The prompt: its character count, the CLIP tokens of each chunk the model reads (asked of the
// server as one types), and Enter submits (Shift+Enter starts a new line).
import { api, session } from './api.js';
import { $ } from './dom.js';

const prompt = $('prompt');
const count = $('prompt-count');
const tokens = $('prompt-tokens');
const TOKEN_DELAY_MS = 300;
let tokenTimer = null;
let asked = 0; // the latest question: an older answer arriving late is dropped

export function setupPrompt(field) {
  if (field && field.max_length) prompt.maxLength = field.max_length;
  updateCount();
}

export function updateCount() {
  count.textContent = `${prompt.value.length} / ${prompt.maxLength}`;
  clearTimeout(tokenTimer);
  tokenTimer = setTimeout(countTokens, TOKEN_DELAY_MS);
}

// The styled prompt's tokens, chunk by chunk ("42/75 · 12/75"): the model reads 75 at a time.
async function countTokens() {
  const ticket = ++asked;
  const style = prompt.form.elements.style?.value;
  if (!session.token || !prompt.value.trim()) {
    tokens.textContent = '';
    return;
  }
  try {
    const found = await api('/api/v1/prompts/tokens', {
      method: 'POST',
      body: style ? { prompt: prompt.value, style } : { prompt: prompt.value },
    });
    if (ticket === asked) tokens.textContent = `Tokens ${found.prompt.chunks.map((n) => `${n}/75`).join(' · ')}`;
  } catch {
    if (ticket === asked) tokens.textContent = ''; // a counter, not worth an error message
  }
}

prompt.addEventListener('input', updateCount);
$('style').addEventListener('change', updateCount);
prompt.addEventListener('keydown', (event) => {
  // keyCode 229: Safari reports the Enter that ends an IME composition this way, not as isComposing.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    prompt.form.requestSubmit();
  }
});

export function fillPrompt(text) {
  prompt.value = text || '';
  updateCount();
}
