// The prompt: its character count, and Enter submits (Shift+Enter starts a new line).
import { $ } from './dom.js';

const prompt = $('prompt');
const count = $('prompt-count');

export function setupPrompt(field) {
  if (field && field.max_length) prompt.maxLength = field.max_length;
  updateCount();
}

export function updateCount() {
  count.textContent = `${prompt.value.length} / ${prompt.maxLength}`;
}

prompt.addEventListener('input', updateCount);
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
