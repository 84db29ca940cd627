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

/** The vote this browser cast in a poll: `{castAt}` and the ballot's
 * `choices`, `ranking` or `scores` (as the poll's method has it; see
 * tally.js `ballotOf`), or `{choices: null}` when the server said "already
 * voted" without telling which. */
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

/** Remembers `ballot` (`{choices}`, `{ranking}` or `{scores}`, an array of
 * choices, or null when not known) as this browser's vote in a poll. */
export function rememberVote(pollId, ballot, castAt = null) {
  const known = Array.isArray(ballot) ? { choices: ballot } : ballot || { choices: null };
  write(`voted:${pollId}`, JSON.stringify({ ...known, castAt }));
}

/** The manage token this browser got when it created the poll, or null. */
export function manageToken(pollId) {
  const token = read(`manage:${pollId}`);
  return token && /^[0-9a-f]{64}$/.test(token) ? token : null;
}

export function rememberManageToken(pollId, token) {
  write(`manage:${pollId}`, token);
}

/** The invite code this tab opened a poll's vote link with (kept in
 * sessionStorage: for this tab only, gone when it closes), or null. */
export function inviteCode(pollId) {
  try {
    const code = window.sessionStorage.getItem(`${PREFIX}invite:${pollId}`);
    return code && /^[a-z2-7]{26}$/.test(code) ? code : null;
  } catch {
    return null;
  }
}

/** Keeps (or, with null, forgets) the invite code of a poll for this tab. */
export function rememberInvite(pollId, code) {
  try {
    if (code === null) window.sessionStorage.removeItem(`${PREFIX}invite:${pollId}`);
    else window.sessionStorage.setItem(`${PREFIX}invite:${pollId}`, code);
  } catch {
    // Not kept: the code stays in the link, which can be opened again.
  }
}

/** Forgets everything about a poll (it was deleted). */
export function forgetPoll(pollId) {
  write(`manage:${pollId}`, null);
  write(`voted:${pollId}`, null);
}
