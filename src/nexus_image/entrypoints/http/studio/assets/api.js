// Shared plumbing: the session, API calls with problem details, authorised image loading,
// a small DOM builder and the page-wide error banner.

// `epoch` changes on every sign-in and sign-out, so answers to requests made before can be dropped.
export const session = { token: null, userId: null, config: null, onUnauthorized: null, epoch: 0 };

// Call before awaiting a request: the function it returns says whether the session changed since
// (signed out, or in as someone else), in which case the answer must not be shown.
export function sessionMark() {
  const { token, epoch } = session;
  return () => session.token !== token || session.epoch !== epoch;
}

// Whether the signed-in user owns the image (changing it is for its owner only).
export const owns = (image) => Boolean(session.userId) && image.user_id === session.userId;

// Modules talk through this: 'balance' (refresh the token balance), 'images-changed',
// 'image-deleted' {id}, 'open-image' {image, owner}, 'reuse' {image}, 'remix' {image},
// 'jobs-created' {images} (new jobs to follow), 'navigate' {view, focus}.
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

// `body` is sent as JSON, or as it is when it is FormData (the browser then writes the multipart
// Content-Type, with its boundary).
export async function api(path, { method = 'GET', body, token = session.token, headers: extra = {} } = {}) {
  const headers = { Accept: 'application/json, application/problem+json', ...extra };
  if (token) headers.Authorization = `Bearer ${token}`;
  const multipart = body instanceof FormData;
  if (body !== undefined && !multipart) headers['Content-Type'] = 'application/json';
  let response;
  try {
    const payload = body === undefined || multipart ? body : JSON.stringify(body);
    response = await fetch(path, { method, headers, body: payload });
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

// Whether a link points at another origin than the page's (a presigned S3 link, say).
export function isCrossOrigin(url) {
  try {
    return new URL(url, location.href).origin !== location.origin;
  } catch {
    return false;
  }
}

// This server's image files (relative links, or absolute ones when NEXUS_IMAGE_PUBLIC_URL is set)
// need the Authorization header, so they are fetched and shown as object URLs; links to other
// origins (presigned S3 links) are used as they are, without the token.
export async function objectUrl(url, token = session.token) {
  let target;
  try {
    target = new URL(url, location.href);
  } catch {
    throw new ApiError(0, { detail: 'The image could not be loaded: its link is not valid.' });
  }
  if (target.origin !== location.origin) return url;
  let response;
  try {
    response = await fetch(target.href, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
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
  const stale = sessionMark();
  let src;
  try {
    src = await objectUrl(url);
  } catch (error) {
    if (!img.isConnected || stale()) return; // nobody sees it any more
    throw error;
  }
  if (!img.isConnected || stale()) {
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

// A random seed, 0 to 4294967295 (the API's range), for requests where absent means "keep".
export const newSeed = () => crypto.getRandomValues(new Uint32Array(1))[0];

// An image's variation as the API sets it (a strength above 0, with its seed), or null.
export function variationOf(image) {
  const strength = Number(image.variation_strength) || 0;
  const seed = image.variation_seed;
  return strength > 0 && seed !== null && seed !== undefined ? { seed: Number(seed), strength } : null;
}
