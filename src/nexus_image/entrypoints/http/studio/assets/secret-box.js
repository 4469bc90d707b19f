// A webhook signing secret on the Integrations screen: read-only text (to select), a Copy button
// and, during a rotation's grace period, until when the previous secret still signs beside it.
import { $, el, setText } from './dom.js';

let boxes = 0;

// Results go to the screen's live region, so a screen reader hears them.
export const announce = (text) => setText($('integrations-message'), text);

export const when = (value) => (value ? new Date(value).toLocaleString() : '—');

// `secrets`: {secret, previous_valid_until?}; `label` names it (each box on the page differs).
export function secretBox(label, secrets, note = '') {
  boxes += 1;
  const id = `secret-${boxes}`;
  const input = el('input', {
    id, type: 'text', class: 'secret-value', readonly: true, value: secrets.secret, spellcheck: 'false', autocomplete: 'off',
  });
  const copy = el('button', {
    type: 'button', class: 'small', text: 'Copy', 'aria-label': `Copy: ${label}`, onclick: () => copyText(input),
  });
  const grace = secrets.previous_valid_until
    ? el('p', { class: 'hint', text: `The previous secret still signs beside it until ${when(secrets.previous_valid_until)}.` })
    : null;
  return el('div', { class: 'secret-box' },
    el('label', { for: id, text: label }),
    el('span', { class: 'inline' }, input, copy),
    note ? el('p', { class: 'hint', text: note }) : null,
    grace);
}

async function copyText(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    announce('Secret copied to the clipboard.');
  } catch {
    // No clipboard access (a page not on https or localhost, or permission refused): the text
    // is selected, for the older copy command or the keyboard.
    input.focus();
    input.select();
    const copied = typeof document.execCommand === 'function' && document.execCommand('copy');
    announce(copied ? 'Secret copied to the clipboard.' : 'Secret selected: press Ctrl+C to copy it.');
  }
}
