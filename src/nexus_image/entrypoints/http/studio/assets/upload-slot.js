// One file input whose image is uploaded as soon as it is chosen (POST /api/v1/uploads), with its
// preview (an authorised fetch), its status and error, and a Remove button.
import { api, session, sessionMark, describe, signedOutMeanwhile, ApiError } from './api.js';
import { $, showError } from './dom.js';
import { showImage, release } from './pictures.js';

// What an upload's refusal says next to its file input (409: the allowance is full, 413: too
// large, 422: not an image the API takes, with the detail why).
function refusal(error, file) {
  if (!(error instanceof ApiError) || error.status === 0 || error.status >= 500) return describe(error);
  if (error.status === 409) return `${file.name} was not uploaded: your upload allowance is full. ${error.message}`;
  if (error.status === 413) return `${file.name} is too large: ${error.message}`;
  return `${file.name} was refused: ${error.message}`;
}

const fromApi = (upload) => ({ id: upload.upload_id, width: upload.width, height: upload.height, url: upload.url });

// `current` is the upload in use ({id, width, height, url, label, fresh}); `seq` drops answers to
// superseded uploads. Uploads in `used` (sent with a request, or read from an image) are never
// deleted here; `onChange` runs whenever `current` (or `pending`) may have changed.
export class UploadSlot {
  constructor({ prefix, noun, used, maxBytes, onChange }) {
    Object.assign(this, {
      noun, used, maxBytes, onChange,
      input: $(`${prefix}-image`),
      status: $(`${prefix}-image-status`),
      error: $(`${prefix}-image-error`),
      preview: $(`${prefix}-preview`),
      image: $(`${prefix}-preview-image`),
      text: $(`${prefix}-preview-text`),
      remove: $(`${prefix}-remove`),
    });
    this.current = null;
    this.pending = false;
    this.seq = 0;
    this.input.addEventListener('change', () => this.choose());
    this.remove.addEventListener('click', () => {
      this.clear(true);
      this.input.focus(); // the button is gone
    });
  }

  showError(message) {
    showError(this.error, message, this.input);
  }

  // Deletes an upload made here that no request used (replaced or removed): it counts against
  // the user's allowance and nothing could refer to it. Best effort: a failure leaves it there.
  discard(upload) {
    if (!upload || !upload.fresh || this.used.has(upload.id) || !session.token) return;
    api(`/api/v1/uploads/${encodeURIComponent(upload.id)}`, { method: 'DELETE' }).catch(() => {});
  }

  async choose() {
    const file = this.input.files && this.input.files[0];
    if (!file) return;
    this.input.value = ''; // the same file can be chosen again
    const seq = ++this.seq;
    this.showError('');
    const maxBytes = this.maxBytes();
    if (file.size > maxBytes) {
      this.pending = false;
      this.status.textContent = '';
      this.showError(`${file.name} is larger than ${Math.round(maxBytes / (1024 * 1024))} MB: choose a smaller file.`);
      return;
    }
    this.pending = true;
    this.status.textContent = `Uploading ${file.name}…`;
    const data = new FormData();
    data.append('file', file, file.name);
    const stale = sessionMark();
    try {
      const upload = await api('/api/v1/uploads', { method: 'POST', body: data });
      if (stale()) return;
      if (seq !== this.seq) {
        this.discard({ id: upload.upload_id, fresh: true });
        return;
      }
      this.pending = false;
      this.set({ ...fromApi(upload), label: file.name, fresh: true });
      this.status.textContent = `Uploaded ${file.name}.`;
    } catch (error) {
      if (seq !== this.seq || stale()) return;
      this.pending = false;
      this.status.textContent = '';
      if (!signedOutMeanwhile(error)) this.showError(refusal(error, file));
    }
  }

  // The upload of an image's settings (not deleted here, whatever happens to it).
  async fill(id) {
    const seq = ++this.seq;
    this.showError('');
    this.status.textContent = '';
    this.pending = true;
    const stale = sessionMark();
    try {
      const upload = await api(`/api/v1/uploads/${encodeURIComponent(id)}`);
      if (seq !== this.seq || stale()) return;
      this.used.add(upload.upload_id);
      this.pending = false;
      this.set({ ...fromApi(upload), label: `upload ${upload.upload_id}`, fresh: false });
    } catch (error) {
      if (seq !== this.seq || stale()) return;
      this.pending = false;
      this.drop(true);
      this.onChange();
      if (signedOutMeanwhile(error)) return;
      const why = error instanceof ApiError && error.status === 404
        ? 'it was deleted, or it is another user’s upload'
        : describe(error);
      this.showError(`The ${this.noun} of those settings (${id}) cannot be used: ${why}.`);
    }
  }

  set(upload) {
    if (this.current && this.current.id !== upload.id) this.discard(this.current);
    this.current = upload;
    this.text.textContent = `${upload.width}×${upload.height} · ${upload.label}`;
    this.preview.hidden = false;
    showImage(this.image, upload.url).catch((error) => {
      if (this.current === upload) this.showError(`The preview could not be loaded: ${describe(error)}`);
    });
    this.onChange();
  }

  // Forgets the upload (deleting it on the server where nothing used it, if `discarding`).
  drop(discarding) {
    if (discarding) this.discard(this.current);
    this.current = null;
    release(this.image);
    this.image.removeAttribute('src');
    this.preview.hidden = true;
    this.text.textContent = '';
    this.status.textContent = '';
  }

  clear(discarding) {
    this.seq += 1;
    this.pending = false;
    this.drop(discarding);
    this.showError('');
    this.onChange();
  }

  // Shows the upload with this id (read from an image's settings), or none.
  show(id) {
    if (typeof id !== 'string' || id === '') this.clear(true);
    else if (!this.current || this.current.id !== id) {
      this.drop(true);
      this.fill(id);
    }
  }
}
