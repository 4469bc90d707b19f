// What the Operator screen's parts share: calls to /api/v1/admin, their refusals shown as the
// problem's detail in the part's own error box, a line saying what was done, and table rows.
import { api, describe, isOutage, sessionMark, signedOutMeanwhile, ApiError } from './api.js';
import { $, el, setText, showBanner, showError } from './dom.js';

export const adminPath = (...parts) => `/api/v1/admin/${parts.map(encodeURIComponent).join('/')}`;

export const say = (message) => setText($('operator-message'), message);

export function showProblem(box, error) {
  if (signedOutMeanwhile(error)) return;
  showError(box, error instanceof ApiError && error.status ? error.message : describe(error));
  if (isOutage(error)) showBanner(error);
}

// An admin call whose refusal goes to `box`: its answer, or undefined when it failed or the
// session changed meanwhile.
export async function adminCall(box, url, options) {
  const stale = sessionMark();
  try {
    const answer = await api(url, options);
    if (stale()) return undefined;
    showError(box, '');
    return answer === null ? {} : answer;
  } catch (error) {
    if (!stale()) showProblem(box, error);
    return undefined;
  }
}

// A table body from rows of cells (text or nodes); the first cell of each row heads it.
export function fillRows(tbody, rows) {
  tbody.replaceChildren(...rows.map((cells) => el('tr', {}, cells.map((content, index) => (index
    ? el('td', {}, content)
    : el('th', { scope: 'row' }, content))))));
}

// A small button named for what it acts on ("Cancel job: a red fox").
export const actionButton = (text, name, onclick, extra = '') => el('button', {
  type: 'button', class: `small ${extra}`.trim(), text, 'aria-label': `${text}: ${name}`, onclick,
});
