// Building the page: a small element builder, and the page-wide error banner.
import { describe, signedOutMeanwhile } from './api.js';

export const $ = (id) => document.getElementById(id);

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'text') node.textContent = value;
    else if (key === 'class') node.className = value;
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

// Live regions announce every change: text is only set when it differs.
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

// An error paragraph (role=alert) shown with `message`, hidden without one; its input is marked
// invalid meanwhile.
export function showError(box, message, input = null) {
  box.textContent = message || '';
  box.hidden = !message;
  if (!input) return;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

const banner = $('banner');
const bannerText = $('banner-text');
$('banner-dismiss').addEventListener('click', hideBanner);

export function showBanner(errorOrText) {
  bannerText.textContent = typeof errorOrText === 'string' ? errorOrText : describe(errorOrText);
  banner.hidden = false;
}

export function hideBanner() {
  banner.hidden = true;
  bannerText.textContent = '';
}

// Reports an error in the banner unless it is the 401 that already signed the user out.
export function report(error) {
  if (!signedOutMeanwhile(error)) showBanner(error);
}
