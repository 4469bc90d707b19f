// What GET /account says (and the operators' look at a user, which holds the same account), in
// words the Account and Operator screens share: the summary, each limit beside its use, the
// retention rule, and the refusals of a quota or a suspension.
import { el } from './dom.js';

const QUOTA_NAMES = { images_per_day: 'Images today', images_per_month: 'Images this month', bytes_stored: 'Storage' };
const UNITS = ['bytes', 'kB', 'MB', 'GB', 'TB'];

// 1 234 567 → "1.2 MB" (decimal units, as storage is sold).
export function formatBytes(bytes) {
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1000 && unit < UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  if (unit === 0) return `${value} ${value === 1 ? 'byte' : 'bytes'}`;
  return `${value >= 100 ? Math.round(value) : Number(value.toFixed(1))} ${UNITS[unit]}`;
}

export const formatTime = (iso) => (iso ? new Date(iso).toLocaleString() : '');

const used = (count, limit, format = String) => (limit === null || limit === undefined
  ? `${format(count)} (no limit)`
  : `${format(count)} / ${format(limit)}`);

// The account's lines: tier, balance and, when suspended, since when and why.
export function accountSummary(account, idPrefix) {
  const rows = [
    ['User', account.user_id],
    ['Tier', account.tier],
    ['Balance', el('span', { id: `${idPrefix}-balance`, text: `${account.balance} tokens` })],
  ];
  if (account.suspended) {
    rows.push(['Suspended', `since ${formatTime(account.suspended_at)}: ${account.suspended_reason || 'no reason given'}`]);
  }
  return el('dl', { class: 'facts' }, rows.flatMap(([term, value]) => [el('dt', { text: term }), el('dd', {}, value)]));
}

// Each limit of the account's tier beside what is used of it (and when the count starts again).
export function usageTable(account, caption) {
  const { limits, usage } = account;
  const resets = Object.fromEntries((account.quotas || []).map((quota) => [quota.quota, quota.resets_at]));
  const rows = [
    ['Images today', used(usage.images_today, limits.images_per_day), resets.images_per_day],
    ['Images this month', used(usage.images_this_month, limits.images_per_month), resets.images_per_month],
    ['Storage', used(usage.bytes_stored, limits.bytes_stored, formatBytes), null],
    ['Queued', used(usage.queued, limits.max_queued), null],
    ['Running', used(usage.running, limits.max_running), null],
  ];
  return el('table', { class: 'data-table usage-table' },
    el('caption', { text: caption }),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col', text: 'Limit' }), el('th', { scope: 'col', text: 'Used' }),
      el('th', { scope: 'col', text: 'Starts again' }))),
    el('tbody', {}, rows.map(([name, value, at]) => el('tr', {},
      el('th', { scope: 'row', text: name }),
      el('td', { text: value }),
      el('td', { text: at ? `resets at ${formatTime(at)}` : '' })))));
}

export function retentionText(account) {
  const days = account.limits.retention_days;
  if (days === null || days === undefined) return 'Images are kept until they are deleted.';
  return `Images are kept ${days} ${days === 1 ? 'day' : 'days'} unless favorited, in an album or public.`;
}

// A generation refused by a quota (`quota_exceeded`), in words.
export function quotaRefusal(problem) {
  const name = QUOTA_NAMES[problem.quota] || problem.quota || 'A quota';
  const tier = problem.tier ? ` on the ${problem.tier} tier` : '';
  if (problem.quota === 'bytes_stored') {
    return `Storage quota reached: ${formatBytes(problem.used)} of ${formatBytes(problem.limit)} kept${tier}. Delete images to make room.`;
  }
  const left = Math.max(0, (Number(problem.limit) || 0) - (Number(problem.used) || 0));
  const room = left > 0 ? ` Only ${left} more can be made now.` : '';
  const when = problem.resets_at ? ` The count starts again at ${formatTime(problem.resets_at)}.` : '';
  return `Quota reached: ${name.toLowerCase()} ${problem.used} / ${problem.limit}${tier}.${room}${when}`;
}

export const SUSPENDED_REFUSAL = 'Your account is suspended: nothing can be generated until an operator reinstates it. The Account page says why.';
