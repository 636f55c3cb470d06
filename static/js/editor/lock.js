// The draft lock in the editor: acquire on open, heartbeat (the same call) every heartbeat_ms, and
// read the lock every lock_poll_ms so a holder displaced by an admin's takeover hears of it within
// seconds, not at the next heartbeat. Release on leave goes out with navigator.sendBeacon, which
// can only POST a form. Unsaved work is kept in localStorage (one key per tool and draft head) so
// nothing typed is lost when the lock goes away; the page offers it back after a reload.
//
// One window edits at a time, even for one user: a window opens (or takes the lock back) with
// `new_token`, a new acquisition that makes the token of the user's other window stale; heartbeats
// and the leave beacon send the window's own `lock_token`. A window whose token went stale while
// the user still holds the lock was displaced by another window of theirs: it turns read-only
// and never takes the lock back by itself (that would make the two windows take turns).

const BUFFER_PREFIX = "skriptoteket:editor-buffer:";

// --- Unsaved buffers in localStorage ----------------------------------------------------------

export function bufferKey(toolId, headId) {
  return `${BUFFER_PREFIX}${toolId}:${headId || "new"}`;
}

export function keepBuffer(toolId, headId, entry) {
  const kept = { ...entry, head_id: headId, saved_at: new Date().toISOString() };
  try {
    localStorage.setItem(bufferKey(toolId, headId), JSON.stringify(kept));
    return true;
  } catch {
    return false; // storage full or disabled: the editors still hold the text
  }
}

export function forgetBuffer(toolId, headId) {
  try {
    localStorage.removeItem(bufferKey(toolId, headId));
  } catch {
    // storage disabled: nothing was kept
  }
}

// The newest kept buffer of the tool, whatever head it was typed on (the head may have moved
// since, e.g. after the admin who took over saved).
export function newestBuffer(toolId) {
  let newest = null;
  try {
    for (let index = 0; index < localStorage.length; index += 1) {
      const key = localStorage.key(index);
      if (!key || !key.startsWith(`${BUFFER_PREFIX}${toolId}:`)) {
        continue;
      }
      const entry = JSON.parse(localStorage.getItem(key) || "null");
      if (entry && entry.content && (!newest || entry.saved_at > newest.saved_at)) {
        newest = entry;
      }
    }
  } catch {
    return null;
  }
  return newest;
}

// --- The lock ---------------------------------------------------------------------------------

// A lock answer names its holder (`locked_by_email`), a DRAFT_LOCK_HELD refusal too; both carry
// the admin's takeover (with its reason) when it displaced this user.
function holderOf(lock, people) {
  const id = lock.locked_by_user_id ?? lock.holder ?? null;
  const email = lock.locked_by_email ?? lock.holder_email ?? people(id);
  return { id, email, expiresAt: lock.expires_at || null, takeover: lock.takeover || null };
}

// `core`: {boot, state, api, people(id), headId(), hasHead(), lockChanged(), lockLost(holder),
//          headMoved(doc), bootChanged(doc), lockTakenElsewhere(), notify(text, level),
//          notifyError(error)}
export function createLock(core) {
  const { boot, state } = core;
  let heartbeatTimer = null;
  let pollTimer = null;
  let polling = false;

  function becomeHolder(lock) {
    Object.assign(state, {
      lockToken: lock.lock_token,
      holdsLock: true,
      readOnly: false,
      elsewhere: false,
    });
    state.lockHolder = holderOf(lock, core.people);
    core.lockChanged();
  }

  function becomeReader(holder, { elsewhere = false } = {}) {
    Object.assign(state, { lockToken: null, holdsLock: false, readOnly: true, elsewhere });
    state.lockHolder = holder;
    core.lockChanged();
  }

  // Another window of this user took the lock: read-only here, and say why (once).
  function takenElsewhere(holder) {
    if (state.holdsLock) {
      core.lockTakenElsewhere();
    }
    becomeReader(holder, { elsewhere: true });
  }

  // The body of an acquisition: a heartbeat sends the token this window holds; anything else
  // (opening, taking the lock back, a lock that became free) is a new acquisition.
  function lockBody(force, reason) {
    const body = { draft_head_id: core.headId() };
    if (force) {
      return { ...body, force: true, reason };
    }
    if (state.holdsLock && state.lockToken !== null) {
      return { ...body, lock_token: state.lockToken };
    }
    return { ...body, new_token: true };
  }

  // Acquire, heartbeat or (admins) force; `takeBack` also when another window of this user
  // holds it. Resolves true when the lock is ours.
  async function acquire({ force = false, reason = "", takeBack = false } = {}) {
    if (!core.hasHead() || (state.elsewhere && !takeBack)) {
      return false;
    }
    let lock;
    try {
      lock = await core.api.post(boot.urls.lock, lockBody(force, reason));
    } catch (error) {
      await refused(error);
      return false;
    }
    if (lock.is_owner) {
      becomeHolder(lock);
    }
    return Boolean(lock.is_owner);
  }

  async function refused(error) {
    const details = error.details || {};
    if (error.code === "DRAFT_LOCK_HELD") {
      const holder = holderOf(details, core.people);
      if (state.holdsLock) {
        core.lockLost(holder);
      }
      becomeReader(holder);
    } else if (error.code === "DRAFT_LOCK_STALE_TOKEN" && details.holder === boot.user.id) {
      takenElsewhere(holderOf(details, core.people));
    } else if (error.code === "DRAFT_LOCK_STALE_TOKEN" || error.code === "NOT_DRAFT_HEAD") {
      // Taken and given up again since (or the head moved): read it afresh.
      Object.assign(state, { lockToken: null, holdsLock: false, readOnly: true });
      await check();
    } else {
      core.notifyError(error);
    }
  }

  // Re-read the tool (boot document) and reconcile: takeover, expiry, a moved head.
  async function check() {
    if (polling) {
      return;
    }
    polling = true;
    try {
      const doc = await core.api.get(boot.urls.boot).catch(() => null);
      // A failed read is not worth a message: the next poll tries again.
      if (doc) {
        await reconcile(doc);
      }
    } finally {
      polling = false;
    }
  }

  async function reconcile(doc) {
    core.bootChanged(doc);
    if (String(doc.draft_head_id || "") !== String(core.headId() || "")) {
      await core.headMoved(doc);
      return;
    }
    if (!core.hasHead()) {
      return;
    }
    const lock = doc.draft_lock;
    if (lock && lock.is_owner) {
      // Ours under another token: another window of this user holds it now.
      if (!state.holdsLock || state.lockToken !== lock.lock_token) {
        takenElsewhere(holderOf(lock, core.people));
      }
      return;
    }
    if (lock) {
      const holder = holderOf(lock, core.people);
      if (state.holdsLock) {
        core.lockLost(holder);
      }
      becomeReader(holder);
      return;
    }
    // Free: it expired, was released by an admin or by its holder leaving (the user's other
    // window too). Take it (back).
    const had = state.holdsLock;
    state.elsewhere = false;
    const ours = await acquire();
    if (had && ours) {
      core.notify("Your editing lock had lapsed; it is yours again.", "info");
    }
  }

  function start() {
    stop();
    heartbeatTimer = setInterval(() => {
      if (state.holdsLock) {
        acquire();
      }
    }, boot.heartbeat_ms);
    // A hidden tab need not poll; it checks the moment it is shown again.
    pollTimer = setInterval(() => {
      if (!document.hidden) {
        check();
      }
    }, boot.lock_poll_ms);
  }

  function stop() {
    clearInterval(heartbeatTimer);
    clearInterval(pollTimer);
  }

  // Leaving the page frees the lock at once instead of blocking others for the TTL.
  function releaseOnLeave() {
    if (!state.holdsLock || !core.hasHead() || !navigator.sendBeacon) {
      return;
    }
    const form = new FormData();
    form.append("draft_head_id", core.headId());
    form.append("lock_token", String(state.lockToken));
    form.append("csrfmiddlewaretoken", boot.csrf_token);
    navigator.sendBeacon(boot.urls.lock_release, form);
    state.holdsLock = false;
  }

  window.addEventListener("pagehide", releaseOnLeave);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      check();
    }
  });
  window.addEventListener("pageshow", (event) => {
    // Back from the back/forward cache: the lock was released on leave.
    if (event.persisted) {
      check();
    }
  });

  return { acquire, check, start, stop };
}
