// Remixing an image: the form holds its settings, and sends only what differs from them (absent
// fields keep the image's values), plus the request's own fields (how many images, public).
import { session } from './api.js';
import { on } from './bus.js';
import { $ } from './dom.js';
import { fieldError } from './field-errors.js';
import { presetOf } from './style-and-price.js';

const notice = $('remix-notice');
let source = null; // the image being remixed

export const remixing = () => source;

export function startRemix(image) {
  source = image;
  $('remix-text').textContent = `Remixing ${image.prompt}`;
  notice.hidden = false;
}

export function stopRemix() {
  source = null;
  notice.hidden = true;
  $('remix-text').textContent = '';
}

$('remix-stop').addEventListener('click', () => {
  stopRemix();
  $('prompt').focus(); // the button is gone
});

on('image-deleted', ({ id }) => {
  if (source && source.id === id) stopRemix();
});
on('signed-out', stopRemix);

const loraKey = (loras) => JSON.stringify((loras || []).map((l) => [l.name, Number(l.weight ?? 1)]));

// What an empty field asks for: the style's value, a fresh random one (drawn when the request is
// sent: undefined here), the default model (named, so a remix of an image drawn by another one,
// or by one no longer offered, uses it), or the field's default.
function valueOfEmpty(field, preset) {
  if (field.fallback === 'style') return preset[field.name];
  if (field.kind === 'model') return (session.config.models && session.config.models.default) || undefined;
  if (field.fallback === 'random') return undefined;
  return field.default;
}

// The remix request's body for the form's `body`, given the described `fields`; null (with the
// error shown) where a remix cannot ask for it.
export function remixChanges(body, fields) {
  if (body.variation_strength > 0 && body.variation_seed === undefined) {
    fieldError('variation_seed', 'A variation strength above 0 needs a variation seed.').focus();
    return null;
  }
  // A remix keeps what it is not told: a starting image (or mask) it has cannot be taken away.
  if (source.init_image_id && !body.init_image_id) {
    fieldError('init_image_id', 'The image remixed starts from an image: a remix keeps it. Choose another one, or stop remixing to generate without one.').focus();
    return null;
  }
  if (source.mask_image_id && !body.mask_image_id) {
    fieldError('mask_image_id', 'The image remixed has a mask: a remix keeps it. Choose another one, or stop remixing to generate without one.').focus();
    return null;
  }
  const preset = presetOf(body.style);
  const changes = {};
  for (const field of fields) {
    const { name } = field;
    if (field.scope === 'request') {
      if (body[name] !== undefined) changes[name] = body[name];
      continue;
    }
    const wanted = body[name] !== undefined ? body[name] : valueOfEmpty(field, preset);
    if (wanted === undefined || wanted === null) continue;
    const stored = source[name] ?? field.default;
    const same = field.kind === 'adapters' ? loraKey(wanted) === loraKey(stored) : wanted === stored;
    if (!same) changes[name] = wanted;
  }
  return changes;
}
