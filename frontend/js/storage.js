// What this browser remembers per poll, in localStorage: the ballot it cast
// (so the poll page shows results instead of the form) and, for the poll's
// creator, the manage token (shown once by the server). Storage may be off
// (private modes, quotas): every access tolerates that and forgets instead.

const PREFIX = 'polling:';

function read(key) {
  try {
    return window.localStorage.getItem(PREFIX + key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null) window.localStorage.removeItem(PREFIX + key);
    else window.localStorage.setItem(PREFIX + key, value);
  } catch {
    // Not remembered; the server still counts one ballot per voter.
  }
}

/** The ballot this browser cast in a poll: `{choices, castAt}` (choices may
 * be null when the server said "already voted" without telling which). */
export function votedBallot(pollId) {
  const raw = read(`voted:${pollId}`);
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw);
    return value && typeof value === 'object' ? value : { choices: null };
  } catch {
    return { choices: null };
  }
}

export function rememberVote(pollId, choices, castAt = null) {
  write(`voted:${pollId}`, JSON.stringify({ choices, castAt }));
}

/** The manage token this browser got when it created the poll, or null. */
export function manageToken(pollId) {
  const token = read(`manage:${pollId}`);
  return token && /^[0-9a-f]{64}$/.test(token) ? token : null;
}

export function rememberManageToken(pollId, token) {
  write(`manage:${pollId}`, token);
}

/** Forgets everything about a poll (it was deleted). */
export function forgetPoll(pollId) {
  write(`manage:${pollId}`, null);
  write(`voted:${pollId}`, null);
}
