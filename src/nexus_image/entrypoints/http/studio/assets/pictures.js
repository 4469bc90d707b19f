// Showing this server's image files: they need the Authorization header, so they are fetched and
// shown as object URLs (released when their <img> goes); links to other origins (presigned S3
// links) are used as they are, without the token.
import { session, sessionMark, ApiError } from './api.js';

// Whether a link points at another origin than the page's (a presigned S3 link, say).
export function isCrossOrigin(url) {
  try {
    return new URL(url, location.href).origin !== location.origin;
  } catch {
    return false;
  }
}

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
