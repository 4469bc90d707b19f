// What the details dialog does to its image: favorite, public or private, add to an album,
// delete; and what it starts from it: its settings in the form, a remix, four variations.
import { api, sessionMark, path } from './api.js';
import { emit } from './bus.js';
import { $, el } from './dom.js';
import { newSeed } from './image-facts.js';
import { act, detailError, detailMessage, dialog, noteChange, shown } from './image-details.js';

$('detail-favorite').addEventListener('click', () => {
  const liked = Boolean(shown() && shown().image.is_favorite);
  act((image) => api(`/api/v1/images/${path(image.id)}/favorite`, { method: liked ? 'DELETE' : 'PUT' }),
    liked ? 'Removed from favorites.' : 'Added to favorites.');
});

$('detail-visibility').addEventListener('click', () => {
  const pub = shown() && shown().image.is_public;
  act((image) => api(`/api/v1/images/${path(image.id)}/visibility`, { method: 'PATCH', body: { is_public: !pub } }),
    pub ? 'The image is private now.' : 'The image is public now.');
});

$('detail-add-album').addEventListener('click', () => {
  const option = $('detail-album').selectedOptions[0];
  if (!option || !option.value) return;
  act((image) => api(`/api/v1/albums/${path(option.value, 'images', image.id)}`, { method: 'PUT' }),
    `Added to the album “${option.textContent}”.`);
});

$('detail-delete').addEventListener('click', async () => {
  if (!shown() || !window.confirm('Delete this image? This cannot be undone.')) return;
  const ticket = shown();
  const { id } = ticket.image;
  const stale = sessionMark();
  try {
    await api(`/api/v1/images/${path(id)}`, { method: 'DELETE' });
    if (stale()) return;
    noteChange(ticket);
    if (shown() === ticket) dialog.close();
    emit('image-deleted', { id });
  } catch (error) {
    if (shown() === ticket && !stale()) detailError(error);
  }
});

// "Use these settings" fills the Generate form; "Remix" does too, and then sends only what is
// changed from the image.
for (const [id, message] of [['detail-reuse', 'reuse'], ['detail-remix', 'remix']]) {
  $(id).addEventListener('click', () => {
    if (!shown()) return;
    const { image } = shown();
    dialog.close();
    emit(message, image);
  });
}

// Four variations of the image at once (a random variation seed, a light touch), followed in
// the Generate view's "In progress".
const VARIATIONS = { num_images: 4, variation_strength: 0.3 };
const variations = $('detail-variations');
let varying = null; // the dialog ticket whose variations are being requested

variations.addEventListener('click', async () => {
  if (!shown() || varying === shown()) return;
  const ticket = shown();
  varying = ticket;
  const stale = sessionMark();
  detailError(null);
  detailMessage('');
  variations.setAttribute('aria-busy', 'true');
  try {
    const created = await api(`/api/v1/images/${path(ticket.image.id)}/remix`, {
      method: 'POST', body: { ...VARIATIONS, variation_seed: newSeed() },
    });
    if (stale()) return;
    emit('jobs-created', { images: created.images || [created] });
    if (shown() !== ticket) return; // the dialog was closed meanwhile: the jobs are listed all the same
    dialog.close();
    emit('navigate', { view: 'generate', focus: $('jobs-title') });
  } catch (error) {
    if (shown() === ticket && !stale()) detailError(error);
  } finally {
    if (varying === ticket) {
      varying = null;
      variations.removeAttribute('aria-busy');
    }
  }
});

// A larger copy of the image by an upscaler the server offers (a new image of its own, charged
// by its size, followed in the Generate view's "In progress").
let upscaling = null; // the dialog ticket whose upscale is being requested

export function offerUpscalers(names) {
  const picker = $('detail-upscaler');
  const chosen = picker.value;
  picker.replaceChildren(...names.map((name) => el('option', { value: name, text: name === 'lanczos' ? 'Lanczos' : name })));
  if (names.includes(chosen)) picker.value = chosen;
}

for (const button of [$('detail-upscale-2'), $('detail-upscale-4')]) {
  button.addEventListener('click', async () => {
    if (!shown() || upscaling === shown()) return;
    const ticket = shown();
    upscaling = ticket;
    const stale = sessionMark();
    detailError(null);
    detailMessage('');
    button.setAttribute('aria-busy', 'true');
    try {
      const created = await api(`/api/v1/images/${path(ticket.image.id)}/upscale`, {
        method: 'POST', body: { factor: Number(button.dataset.factor), upscaler: $('detail-upscaler').value || 'lanczos' },
      });
      if (stale()) return;
      emit('jobs-created', { images: [created] });
      if (shown() !== ticket) return;
      dialog.close();
      emit('navigate', { view: 'generate', focus: $('jobs-title') });
    } catch (error) {
      if (shown() === ticket && !stale()) detailError(error);
    } finally {
      if (upscaling === ticket) upscaling = null;
      button.removeAttribute('aria-busy');
    }
  });
}
