// What an image of the API says, in words and values the screens share.

export const STATUS_TEXT = {
  QUEUED: 'Queued', PROCESSING: 'Processing', COMPLETED: 'Completed', FAILED: 'Failed', CANCELLED: 'Cancelled',
  EXPIRED: 'Expired',
};

export const statusText = (image) => STATUS_TEXT[image.status] || image.status;

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
