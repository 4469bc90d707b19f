// Shared plumbing: the session, API calls with problem details, authorised image loading,
// a small DOM builder and the page-wide error banner.

export const session = { token: null, userId: null, config: null, onUnauthorized: null };

// Modules talk through this: 'balance' (refresh the token balance), 'images-changed',
// 'image-deleted' {id}, 'open-image' {image, owner}, 'reuse' {image}, 'navigate' {view, focus}.
export const bus = new EventTarget();
export const emit = (name, detail) => bus.dispatchEvent(new CustomEvent(name, { detail }));
export const on = (name, handler) => bus.addEventListener(name, (event) => handler(event.detail));

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `Request failed (${status})`);
    this.status = status;
    this.problem = problem;
    this.code = problem.code;
  }
}

export async function api(path, { method = 'GET', body, token = session.token } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, { detail: 'The server cannot be reached. Check the connection and try again.' });
  }
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    const problem = data && typeof data === 'object' && !Array.isArray(data)
      ? data
      : { detail: `${response.status} ${response.statusText}`.trim() };
    const error = new ApiError(response.status, problem);
    if (response.status === 401 && token && token === session.token && session.onUnauthorized) {
      session.onUnauthorized(error);
    }
    throw error;
  }
  return data;
}

export function describe(error) {
  if (error instanceof ApiError) return error.status ? `Error ${error.status}: ${error.message}` : error.message;
  return String(error && error.message ? error.message : error);
}

const banner = document.getElementById('banner');
const bannerText = document.getElementById('banner-text');
document.getElementById('banner-dismiss').addEventListener('click', hideBanner);

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
  if (error instanceof ApiError && error.status === 401 && !session.token) return;
  showBanner(error);
}

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

// Image files need the Authorization header, so they are fetched and shown as object URLs;
// presigned links (http/https) are used as they are.
export async function objectUrl(url) {
  if (/^https?:\/\//i.test(url)) return url;
  let response;
  try {
    response = await fetch(url, { headers: { Authorization: `Bearer ${session.token}` } });
  } catch {
    throw new ApiError(0, { detail: 'The image could not be loaded: the server cannot be reached.' });
  }
  if (!response.ok) throw new ApiError(response.status, { detail: 'The image could not be loaded.' });
  return URL.createObjectURL(await response.blob());
}

export function release(img) {
  if (img.dataset.blob) {
    URL.revokeObjectURL(img.dataset.blob);
    delete img.dataset.blob;
  }
}

export function releaseWithin(root) {
  root.querySelectorAll('img[data-blob]').forEach(release);
}

export async function showImage(img, url) {
  const src = await objectUrl(url);
  if (!img.isConnected) {
    if (src.startsWith('blob:')) URL.revokeObjectURL(src);
    return;
  }
  release(img);
  if (src.startsWith('blob:')) img.dataset.blob = src;
  img.src = src;
}

export const STATUS_TEXT = {
  QUEUED: 'Queued', PROCESSING: 'Processing', COMPLETED: 'Completed', FAILED: 'Failed', CANCELLED: 'Cancelled',
};

export const isActive = (image) => image.status === 'QUEUED' || image.status === 'PROCESSING';

export function thumbnailUrl(image) {
  return image.status === 'COMPLETED' ? image.thumbnail_url || image.storage_url : null;
}

export const resolutionText = (image) => `${image.width}×${image.height}`;
