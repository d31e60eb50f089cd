// The moderator console: signs in with a token (kept for this tab only),
// lists the queue in priority order, shows each comment with its author,
// context, reasons and the words that drove the model, and approves or
// rejects one or many items (buttons or keys).
"use strict";

// `busy` is set while a resolve is on its way: the approve and reject keys
// and buttons are ignored meanwhile, so that one press never sends the same
// items twice. `queueLoads` counts the queue's loads, so that an answer to
// a load that a later one replaced (another site, a refresh) is dropped;
// `listSite` is the site of the list shown, which "More" continues, and
// `listPending` is set while a new list is on its way (with nothing yet
// to continue, "More" waits for it).
// `recent` holds this tab's last decisions, newest first (see
// `remember`), so that a wrong key is put right in one click: the settled
// lists are ordered by priority and age, not by when people decided.
// `signIns` counts the sign-outs, so that an answer that comes back after
// one (a decision still on its way) is dropped, not shown to the next key.
const state = { token: sessionStorage.getItem("moderato-token") || "", items: [], current: 0, selected: new Set(), next: "", total: 0, busy: false, queueLoads: 0, listSite: "", listStatus: "pending", listPending: false, status: "pending", loadFailed: false, recent: [], signIns: 0 };
const $ = (id) => document.getElementById(id);

// How many times a call the service shed (429: over the key's rate of
// calls, or too busy) is tried again, a second more apart each time, before
// its error is shown. Signing in makes three calls in a row, which a key
// held to one call a second would otherwise never get through.
const RETRIES_WHEN_SHED = 3;

// How long a call may take before it counts as unanswered: a connection
// that died (a network change, a laptop waking) may otherwise hold a
// decision's call, and with it every next decision, for minutes.
const CALL_TIMEOUT_MS = 25000;

// Errors come back in words a moderator can act on: a service that cannot
// be reached, and a key that is no longer valid (401), which also signs
// the console out (see `signedOut`).
async function api(path, options = {}) {
  let response;
  let body;
  for (let attempt = 0; ; attempt++) {
    // The time limit covers the answer's body too: a connection can die
    // between the headers and the body.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), CALL_TIMEOUT_MS);
    try {
      response = await fetch(path, {
        ...options,
        signal: abort.signal,
        headers: { "authorization": "Bearer " + state.token, "content-type": "application/json" },
      });
      body = await response.json().catch((error) => {
        if (abort.signal.aborted) throw error;
        return {};
      });
    } catch (error) {
      const unreachable = new Error(abort.signal.aborted
        ? "no answer within " + CALL_TIMEOUT_MS / 1000 + " s"
        : "the service cannot be reached (it may be restarting, or the network is down)");
      unreachable.status = 0;
      throw unreachable;
    } finally {
      clearTimeout(timer);
    }
    if (response.status !== 429 || attempt >= RETRIES_WHEN_SHED) break;
    // A shed call was not carried out, so sending it again is safe.
    await new Promise((resume) => setTimeout(resume, 1000 * (attempt + 1)));
  }
  if (!response.ok) {
    const message = response.status === 401 ? "this token is not a valid key (it may have been removed)" : body.error || response.statusText;
    const error = new Error(message);
    error.status = response.status;
    if (response.status === 401 && !$("console").hidden) signedOut();
    throw error;
  }
  return body;
}

// The key was refused while the console was in use (removed or replaced
// by a reload of the keys): back to the sign-in form, saying why, since
// no call can succeed with it.
function signedOut() {
  sessionStorage.removeItem("moderato-token");
  state.token = "";
  // Nothing the old key was shown stays in the page: another key signing
  // in on this tab sees only what its own loads bring (an answer still on
  // its way is dropped, as a replaced load's is).
  state.queueLoads++;
  state.signIns++;
  state.items = [];
  state.selected.clear();
  state.current = 0;
  state.next = "";
  state.total = 0;
  state.listPending = false;
  state.recent = [];
  renderRecent();
  itemElements.clear();
  $("queue").replaceChildren();
  $("total").textContent = "";
  $("stats").querySelector("tbody").replaceChildren();
  $("site").replaceChildren(new Option("All my sites", ""));
  say("");
  $("console").hidden = true;
  $("sign-in").hidden = false;
  $("who").textContent = "";
  $("sign-in-error").textContent = "Your key is no longer valid; sign in again.";
}

function say(message) {
  $("status").textContent = message;
  delete $("status").dataset.error;
}

function text(tag, content, className) {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}

// A word as the server compares words: NFKC, lower case, one sigma.
function fold(word) { return word.normalize("NFKC").toLowerCase().replace(/ς/g, "σ"); }

// The content as the server reads its words: without the characters that
// render as nothing (Unicode's default-ignorable code points: zero-width
// spaces and joiners, soft hyphens, direction marks, variation selectors,
// fillers), which the server's normalisation drops too, so that "f\u200bree"
// is read, and marked, as the word "free"; and each letter with the marks
// that follow it in NFKC, so that "ＦＲＥＥ" (full-width letters) or "ﬁne"
// (a ligature) is read as "free" or "fine". For each code unit of that
// view, `starts` and `ends` say where the characters it came from begin
// and end in the content, so that a mark covers the word as written.
function readAsTheServerDoes(content) {
  let view = "";
  const starts = [];
  const ends = [];
  let cluster = "";
  let clusterStart = 0;
  let clusterEnd = 0;
  const flush = () => {
    const folded = cluster.normalize("NFKC");
    view += folded;
    for (let unit = 0; unit < folded.length; unit++) { starts.push(clusterStart); ends.push(clusterEnd); }
    cluster = "";
  };
  for (let index = 0; index < content.length;) {
    const character = String.fromCodePoint(content.codePointAt(index));
    const next = index + character.length;
    if (/\p{Default_Ignorable_Code_Point}/u.test(character)) { index = next; continue; }
    // A combining mark joins the letter before it, so that NFKC composes
    // them as the server does ("e" and an acute accent read as "é").
    if (cluster !== "" && /\p{M}/u.test(character)) {
      cluster += character;
      clusterEnd = next;
    } else {
      if (cluster !== "") flush();
      cluster = character;
      clusterStart = index;
      clusterEnd = next;
    }
    index = next;
  }
  if (cluster !== "") flush();
  return { view, starts, ends };
}

// The comment with the model's words marked: red where they pushed towards
// spam, green towards a legitimate comment; the weight is in the title. The
// marks are found by the model in force, which online learning moves, so
// the title says so: a reason stored with the decision may give the same
// word another weight.
function highlighted(content, highlights) {
  const container = text("p", "", "content");
  const words = highlights.filter((h) => h.text.length > 0);
  if (words.length === 0) { container.textContent = content; return container; }
  const escaped = words.map((h) => h.text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  // Whole words only: "i" must not light up inside "this".
  const pattern = new RegExp("(?<![\\p{L}\\p{N}])(" + escaped.join("|") + ")(?![\\p{L}\\p{N}])", "giu");
  const { view, starts, ends } = readAsTheServerDoes(content);
  let last = 0;
  for (const match of view.matchAll(pattern)) {
    // The server's words are NFKC-normalised and lower-cased character by
    // character, which the browser's case folding does not always agree
    // with (a long s, a final sigma): a match that finds no word is left
    // unmarked rather than breaking the page.
    const found = words.find((h) => fold(h.text) === fold(match[0]));
    if (!found) continue;
    // The word as written, with any format characters inside it.
    const start = starts[match.index];
    const end = ends[match.index + match[0].length - 1];
    // A match that begins or ends inside what one character became (a
    // ligature's "f" of "ﬁ") cannot be marked as written: left unmarked.
    if (start < last || (match.index > 0 && starts[match.index - 1] === start)) continue;
    if (match.index + match[0].length < view.length && ends[match.index + match[0].length] === end) continue;
    container.append(content.slice(last, start));
    const mark = text("mark", content.slice(start, end), found.weight > 0 ? "spammy" : "hammy");
    mark.title = found.description + " (" + (found.weight > 0 ? "+" : "") + found.weight.toFixed(2) + " in the model now)";
    container.append(mark);
    last = end;
  }
  container.append(content.slice(last));
  return container;
}

// Text from the comment's author, isolated so that a direction override in
// it ("\u202e") cannot reorder what surrounds it.
function isolated(content) { return text("bdi", content); }

// Each item's element, built once per item shown: moving the cursor or
// selecting only changes classes, so that a page of long comments does not
// run the highlighting again at every key press.
const itemElements = new Map();

function render() {
  const shown = new Set(state.items.map((item) => item.decision_id));
  for (const id of itemElements.keys()) if (!shown.has(id)) itemElements.delete(id);
  $("queue").replaceChildren(...state.items.map((item, index) => {
    let li = itemElements.get(item.decision_id);
    if (!li) { li = itemElement(item); itemElements.set(item.decision_id, li); }
    li.className = [item.priority, index === state.current ? "current" : "", state.selected.has(item.decision_id) ? "selected" : ""].join(" ");
    li.querySelector("input").checked = state.selected.has(item.decision_id);
    return li;
  }));
  $("more").hidden = !state.next;
  // The toolbar's buttons act on the ticked items only, and say how many.
  const count = state.selected.size;
  for (const [id, verb] of [["approve-selected", "Approve"], ["reject-selected", "Reject"]]) {
    $(id).textContent = verb + " " + count + " selected";
    $(id).disabled = count === 0;
  }
  // An empty list says so only when it was loaded: after a failed load
  // the status line says what went wrong instead.
  $("empty").hidden = state.items.length > 0 || state.listPending || state.loadFailed;
  $("empty").textContent = state.next
    ? "Every item of this page is done; loading the next…"
    : state.status === "pending" ? "Nothing is waiting for review." : "Nothing here.";
}

function itemElement(item) {
    const li = document.createElement("li");
    li.id = "item-" + item.decision_id;
    li.dataset.decisionId = item.decision_id;
    li.tabIndex = -1;
    // A click on an item (not on its buttons or checkbox) makes it the
    // current one, so that the keys act on the item the moderator chose.
    li.addEventListener("click", (event) => {
      if (event.target.closest("button, input, a")) return;
      makeCurrent(item.decision_id);
    });
    const head = document.createElement("div");
    head.className = "item-head";
    const check = document.createElement("input");
    check.type = "checkbox";
    check.setAttribute("aria-label", "Select this comment");
    check.addEventListener("change", () => { toggle(item.decision_id); });
    // A checkbox reached with Tab makes its item the current one, so that
    // a key pressed there acts on the item the moderator is looking at.
    // (Drawing the list again takes the focus away; it is given back.)
    check.addEventListener("focus", () => {
      if (makeCurrent(item.decision_id)) check.focus();
    });
    head.append(check,
      text("span", item.priority + " priority", "badge " + item.priority),
      text("span", item.verdict, "badge " + item.verdict),
      text("span", "score " + item.score.toFixed(3), "score"),
      text("span", item.site_id, "meta"),
      // When the service first checked the comment, in the moderator's
      // own time zone, named.
      text("span", "checked " + new Date(item.created_at_ms).toLocaleString(undefined, { timeZoneName: "short" }), "meta"));
    const meta = text("p", "By ", "meta");
    [item.author_name || "anonymous", item.author_email, item.author_url, item.author_ip].filter(Boolean)
      .forEach((part, index) => meta.append(index > 0 ? " · " : "", isolated(part)));
    if (item.post_title || item.permalink) {
      meta.append(" on ");
      // The article opens in a new tab; only web addresses become links.
      const title = isolated(item.post_title ? "“" + item.post_title + "”" : item.permalink);
      if (/^https?:\/\//i.test(item.permalink)) {
        const link = document.createElement("a");
        link.href = item.permalink;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        link.append(title);
        meta.append(link);
      } else {
        meta.append(title);
      }
    }
    meta.append(" · comment ", isolated(item.comment_id));
    const reasons = document.createElement("ul");
    reasons.className = "reasons";
    for (const reason of item.reasons) {
      // The model's sentences state their weight already; the rules' do
      // not. A held rejection weighs nothing and says what it is.
      const entry = text("li", reason.message + " ");
      if (reason.source === "rule" && reason.weight !== 0) {
        entry.append(text("span", "(" + (reason.weight > 0 ? "+" : "") + reason.weight.toFixed(2) + ")", "weight"));
      }
      reasons.append(entry);
    }
    const actions = document.createElement("div");
    actions.className = "actions";
    const approve = text("button", "Approve", "approve");
    approve.type = "button";
    approve.addEventListener("click", () => resolve([item.decision_id], "ham"));
    const reject = text("button", "Reject", "reject");
    reject.type = "button";
    reject.addEventListener("click", () => resolve([item.decision_id], "spam"));
    actions.append(approve, reject);
    const content = highlighted(item.content, item.highlights);
    li.append(head, meta, content);
    // A very long comment is shown folded, so that its buttons and the
    // next comment stay in reach; one click unfolds it. So is one of many
    // lines, however few its characters: a thousand blank lines would
    // push its text, reasons and buttons out of sight.
    const lines = item.content.split(/\r\n|[\n\r\v\f\x85\u2028\u2029]/).length;
    // Characters as code points: JavaScript's `length` counts an emoji
    // twice (UTF-16 code units). A flag or a joined emoji still counts as
    // several: folding is about room on the screen, and that is near enough.
    const characters = Array.from(item.content).length;
    if (characters > LONG_COMMENT || lines > LONG_COMMENT_LINES) {
      content.classList.add("folded");
      const unfold = text("button", "Show the whole comment (" + characters.toLocaleString() + " characters, " + lines.toLocaleString() + (lines === 1 ? " line)" : " lines)"), "unfold");
      unfold.type = "button";
      unfold.addEventListener("click", () => { content.classList.remove("folded"); unfold.remove(); });
      li.append(unfold);
    }
    li.append(reasons, actions);
    return li;
}

// Characters, and lines, beyond which a comment is shown folded (folded,
// it shows about eleven lines).
const LONG_COMMENT = 1500;
const LONG_COMMENT_LINES = 12;

// Makes the item with this id the current one; true if it was not.
function makeCurrent(decisionId) {
  const index = state.items.findIndex((other) => other.decision_id === decisionId);
  if (index < 0 || index === state.current) return false;
  state.current = index;
  render();
  return true;
}

function toggle(decisionId) {
  if (state.selected.has(decisionId)) state.selected.delete(decisionId); else state.selected.add(decisionId);
  render();
}

// The figures count every decision of the sites, which on a large
// database is a scan: after resolutions they are refreshed once the
// moderator pauses (5 s), not after every key press.
let statsTimer = null;
function refreshStatsSoon() {
  clearTimeout(statsTimer);
  statsTimer = setTimeout(() => { loadStats().catch(() => {}); }, 5000);
}

async function loadStats() {
  const stats = await api("/api/stats");
  const body = $("stats").querySelector("tbody");
  body.replaceChildren();
  const select = $("site");
  const chosen = select.value;
  select.replaceChildren(new Option("All my sites", ""));
  for (const site of stats.sites) {
    const row = document.createElement("tr");
    // Precision and recall are null while nothing gives them a
    // denominator (no flagged comment, no known spam): unknown, not 0%.
    const percent = (value) => value === null ? "–" : (value * 100).toFixed(0) + "%";
    for (const value of [site.site_id, site.pending, site.total, site.allowed, site.reviewed, site.rejected,
      percent(site.precision), percent(site.recall)]) {
      row.append(text("td", String(value)));
    }
    body.append(row);
    select.append(new Option(site.site_id, site.site_id));
  }
  select.value = chosen;
}

// Loads the queue (or, with `more`, its next page); false when nothing was
// loaded (a load that replaced this one, or a new list still on its way).
async function loadQueue(more = false) {
  if (more && state.listPending) return false;
  const load = ++state.queueLoads;
  const site = more ? state.listSite : $("site").value;
  const status = more ? state.listStatus : $("show").value;
  if (!more) state.listPending = true;
  const token = more ? encodeURIComponent(state.next) : "";
  let page;
  try {
    page = await api("/api/queue?site=" + encodeURIComponent(site) + "&status=" + status + "&page_token=" + token);
  } catch (error) {
    if (load !== state.queueLoads) return false;
    if (!more) state.listPending = false;
    throw error;
  }
  // A later load started meanwhile: its answer, not this one, is shown.
  if (load !== state.queueLoads) return false;
  if (!more) {
    state.listPending = false;
    state.listSite = site;
    state.listStatus = status;
    state.status = status;
    state.loadFailed = false;
  }
  // A new list may hold items shown before with other figures: built anew.
  if (!more) itemElements.clear();
  if (more) {
    // A comment rechecked since its page was loaded comes again at its new
    // place, perhaps with new text: its earlier entry goes, and its element
    // is built anew, so that the text shown is the one a label is sent for.
    // The cursor stays on the comment it was on. A ticked comment that
    // comes back edited loses its tick: the toolbar would otherwise label
    // the new text, which the moderator never saw ticked.
    const incoming = new Set(page.items.map((item) => item.decision_id));
    const currentId = state.items[state.current]?.decision_id;
    const revisions = new Map(state.items.map((item) => [item.decision_id, item.revision]));
    const edited = page.items.filter((item) => state.selected.has(item.decision_id) && revisions.has(item.decision_id) && revisions.get(item.decision_id) !== item.revision);
    for (const item of edited) state.selected.delete(item.decision_id);
    if (edited.length > 0) {
      const names = edited.map((item) => "comment " + isolatedId(item.comment_id)).join(", ");
      say(names + (edited.length === 1 ? " was" : " were") + " edited since ticked, so the tick was removed: read it again before deciding.");
    }
    for (const id of incoming) itemElements.delete(id);
    state.items = state.items.filter((item) => !incoming.has(item.decision_id)).concat(page.items);
    const index = state.items.findIndex((item) => item.decision_id === currentId);
    state.current = index >= 0 ? index : Math.min(state.current, Math.max(0, state.items.length - 1));
  } else {
    state.items = page.items;
  }
  state.next = page.next_page_token;
  if (!more) { state.current = 0; state.selected.clear(); }
  state.total = page.total;
  showTotal();
  render();
}

function showTotal() {
  const what = { pending: "waiting", approved: "approved", rejected: "rejected" }[state.status];
  $("total").textContent = "(" + state.total + " " + what + ")";
  $("queue-title-text").textContent = { pending: "Queue", approved: "Approved", rejected: "Rejected" }[state.status];
}

// Runs a toolbar action, saying why when it fails. When a site's queue
// cannot be loaded the list is emptied, so that no item of the site shown
// before can be resolved under the new site's name.
async function attempt(action, what) {
  try {
    // An action that loaded nothing (a later load replaced it) settles
    // nothing either.
    if ((await action()) === false) return;
    // An error this action left on the status line earlier is over; and a
    // queue loaded anew shows it as it is, which settles what a failed
    // resolve or "More" could not say.
    const error = $("status").dataset.error;
    const settled = error === what ||
      (what === "load the queue" && (error === "resolve" || error === "load more items"));
    if (settled) say("");
  } catch (error) {
    if (what === "load the queue") {
      state.items = [];
      state.next = "";
      state.selected.clear();
      state.loadFailed = true;
      $("total").textContent = "";
      render();
    }
    if (error.status === 401) return;
    say("Cannot " + what + ": " + error.message + " (Refresh to try again).");
    $("status").dataset.error = what;
  }
}

// `fromRecent`: the change was asked from "Your last decisions", where
// the comments are shown as they were decided.
async function resolve(decisionIds, label, fromRecent = false) {
  if (decisionIds.length === 0) return;
  if (state.busy) { say("Still saving the last decision…"); return; }
  state.busy = true;
  const signIn = state.signIns;
  try {
    // Each comment as it is shown: the service labels none of them if one
    // was edited since the list was loaded (or since it was decided, for
    // one changed from "Your last decisions").
    const shown = {};
    for (const item of fromRecent ? state.recent : state.items) if (decisionIds.includes(item.decision_id)) shown[item.decision_id] = item.revision;
    // One comment decided is named in the status line, so that a wrong
    // key is seen at once (the settled lists hold it among many).
    const known = (id) => state.items.find((item) => item.decision_id === id) || state.recent.find((item) => item.decision_id === id);
    const one = decisionIds.length === 1 ? known(decisionIds[0]) : undefined;
    const commentIds = new Map(state.items.map((item) => [item.decision_id, "comment " + isolatedId(item.comment_id)]));
    const decided = decisionIds.map(known).filter(Boolean);
    // A change asked from "Your last decisions" changes this tab's own
    // decision on purpose: not an overruling.
    const onPurpose = new Set(fromRecent ? decisionIds : []);
    const result = await api("/api/resolve", { method: "POST", body: JSON.stringify({ decision_ids: decisionIds, label, shown }) });
    // Signed out meanwhile: the next key sees nothing of this one's work.
    if (state.signIns !== signIn) return;
    // In the approved (rejected) list, approving (rejecting) again leaves
    // an item where it is; any other label moves it out of the list shown.
    const stays = (state.status === "approved" && label === "ham") || (state.status === "rejected" && label === "spam");
    const done = new Set(stays ? [] : decisionIds);
    // The cursor stays on the item it was on, or moves to the first one
    // after it that is left: the items before it that left the list are
    // not counted, so no item is skipped unread.
    const before = state.items.slice(0, state.current).filter((item) => !done.has(item.decision_id)).length;
    const left = state.items.filter((item) => !done.has(item.decision_id));
    state.total = Math.max(0, state.total - (state.items.length - left.length));
    state.items = left;
    decisionIds.forEach((id) => state.selected.delete(id));
    state.current = Math.min(before, Math.max(0, state.items.length - 1));
    const plural = (count) => count + " comment" + (count === 1 ? "" : "s");
    const unchanged = result.resolved - result.changed;
    // Only in the queue of waiting items: there, an item already settled
    // the other way was settled by someone else since the list was loaded.
    // Named by their comment ids, so that the colleague can be asked.
    const overruledIds = (result.overruled_ids || []).filter((id) => !onPurpose.has(id)).map((id) => commentIds.get(id) || id);
    const overruledNamed = overruledIds.length > 5
      ? overruledIds.slice(0, 5).join(", ") + " and " + (overruledIds.length - 5) + " more"
      : overruledIds.join(", ");
    const overruled = overruledIds.length > 0 && state.status === "pending"
      ? " " + plural(overruledIds.length) + " (" + overruledNamed + ") had been " + (label === "spam" ? "approved" : "rejected") +
        " since the list was loaded (by a colleague, a site's report or a recheck); your label replaced that."
      : "";
    const named = one ? " (comment " + isolatedId(one.comment_id) + ": “" + excerpt(one.content) + "”)" : "";
    remember(decided, label);
    say((label === "spam" ? "Rejected " : "Approved ") + plural(result.resolved) + named + "." +
      (unchanged > 0 ? " " + plural(unchanged) + " already had this label." : "") + overruled);
    showTotal();
    render();
    refreshStatsSoon();
    // The page is done and another follows: it comes without a click.
    if (state.items.length === 0 && state.next) attempt(() => loadQueue(true), "load more items");
    // A change from "Your last decisions" may move a comment into the
    // approved or rejected list shown, which is loaded again to show it.
    else if (fromRecent && stays) attempt(() => loadQueue(), "load the queue");
  } catch (error) {
    if (error.status === 401 || state.signIns !== signIn) return;
    // A 409 is an edit since the comment was shown, or a refusal of
    // another kind (a comment labelled as often as one may be), whose
    // own words are shown as they are.
    const edited = error.status === 409 && /was edited since it was shown/.test(error.message);
    if (error.status === 409 && !edited) {
      say("Nothing was labelled: " + error.message);
      $("status").dataset.error = "resolve";
      return;
    }
    if (fromRecent && (error.status === 409 || error.status === 404)) {
      // Edited or deleted since it was decided: it leaves "Your last
      // decisions", whose text would be out of date or of nothing.
      state.recent = state.recent.filter((entry) => !decisionIds.includes(entry.decision_id));
      renderRecent();
      say("Nothing was labelled: the comment was " + (error.status === 409 ? "edited by its author" : "deleted (by its site, or past the retention period)") +
        " after you decided it" + (error.status === 409 ? "; find it in the lists to see it as it is now." : "."));
      return;
    }
    if (error.status === 409) {
      // A comment was edited after it was listed: the list is loaded
      // again, so that the moderator labels what the comment says now.
      await attempt(() => loadQueue(), "load the queue");
      say("Nothing was labelled: a comment changed after the list was loaded (its author edited it). " +
        "The list shows the comments as they are now; look again before you decide.");
      return;
    }
    if (error.status === 404) {
      // A comment listed was deleted since (its site deleted it, or it
      // passed the retention period): the list is loaded again without it,
      // or every try of the same selection would fail the same way.
      await attempt(() => loadQueue(), "load the queue");
      say("Nothing was labelled: a comment in your selection was deleted after the list was loaded " +
        "(by its site, or past the retention period). The list shows what is left; decide again.");
      return;
    }
    // No answer, none in time (503, or 504 from the service or a proxy
    // in front of it), or a fault of the service's or a proxy's (500,
    // 502, which may come after the labels were written): they may have
    // been saved all the same.
    const unknown = error.status === 0 || error.status >= 500;
    say("Not resolved: " + error.message + (unknown ? "; your last action may have been saved all the same: Refresh to see the queue as it is." : ""));
    $("status").dataset.error = "resolve";
  } finally {
    state.busy = false;
  }
}

// How many of this tab's decisions "Your last decisions" keeps.
const RECENT_DECISIONS = 10;

// Puts decided comments first among this tab's last decisions, with the
// label they have now (a comment decided again moves up, once).
function remember(items, label) {
  const ids = new Set(items.map((item) => item.decision_id));
  const entries = items.map((item) => ({ decision_id: item.decision_id, comment_id: item.comment_id, content: item.content, revision: item.revision, label }));
  state.recent = entries.concat(state.recent.filter((entry) => !ids.has(entry.decision_id))).slice(0, RECENT_DECISIONS);
  renderRecent();
}

// "Your last decisions": each with the other label one click away.
function renderRecent() {
  $("recent").hidden = state.recent.length === 0;
  $("recent-count").textContent = state.recent.length;
  $("recent-list").replaceChildren(...state.recent.map((entry) => {
    const li = text("li", entry.label === "spam" ? "Rejected " : "Approved ");
    li.dataset.decisionId = entry.decision_id;
    li.append("comment ", isolated(entry.comment_id), ": “" + excerpt(entry.content) + "”");
    const other = entry.label === "spam" ? "ham" : "spam";
    const change = text("button", other === "spam" ? "Reject instead" : "Approve instead", other === "spam" ? "reject" : "approve");
    change.type = "button";
    change.addEventListener("click", () => resolve([entry.decision_id], other, true));
    li.append(change);
    return li;
  }));
}

// A comment id in the status line, isolated, so that its direction cannot
// reorder the rest of the line.
function isolatedId(commentId) {
  return "\u2068" + commentId.replace(/[\u202a-\u202e\u2066-\u2069]/g, "") + "\u2069";
}

// The first words of a comment, on one line, for the status line: without
// invisible characters, cut between characters, and isolated, so that its
// direction cannot reorder the rest of the line.
function excerpt(content) {
  const characters = Array.from(content.replace(/\p{Default_Ignorable_Code_Point}|[\u202a-\u202e\u2066-\u2069]/gu, "").replace(/\s+/g, " ").trim());
  const cut = characters.length > 60 ? characters.slice(0, 60).join("") + "…" : characters.join("");
  return "\u2068" + cut + "\u2069";
}

// Whether any of an item's text is within the window, below the status
// line that stays at its top (its buttons or a sliver of padding alone do
// not count: its words must be there to be read).
function inView(element) {
  const words = element.querySelector(".content") || element;
  const box = words.getBoundingClientRect();
  const top = Math.max(0, $("status").getBoundingClientRect().bottom);
  return box.bottom > top && box.top < window.innerHeight;
}

// The selected items, or the current one when none is selected.
function targets() {
  if (state.selected.size > 0) return [...state.selected];
  const item = state.items[state.current];
  return item ? [item.decision_id] : [];
}

document.addEventListener("keydown", (event) => {
  // Keys typed into a text field are text; on an item's checkbox (reached
  // with Tab) they are shortcuts for its item.
  const typing = (event.target.tagName === "INPUT" && event.target.type !== "checkbox") || event.target.tagName === "SELECT" || event.target.tagName === "TEXTAREA";
  if ($("console").hidden || typing || event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key.toLowerCase();
  // A key held down repeats: moving (and the browser's own keys) may,
  // deciding and selecting may not, or one long press would decide a run
  // of comments nobody read.
  if (event.repeat && (key === "x" || key === "a" || key === "r")) { event.preventDefault(); return; }
  if (key === "j" || key === "k") {
    state.current = Math.max(0, Math.min(state.items.length - 1, state.current + (key === "j" ? 1 : -1)));
    render();
    const item = state.items[state.current];
    if (item) $("item-" + item.decision_id).focus();
  } else if (key === "x") {
    const item = state.items[state.current];
    if (item) toggle(item.decision_id);
  } else if (key === "a" || key === "r") {
    // A key acts on the current item only when the moderator can see it:
    // scrolled away with the mouse, a key would decide an item nobody is
    // reading. It is brought into view instead, for the next press.
    const item = state.items[state.current];
    const element = item && $("item-" + item.decision_id);
    if (state.selected.size === 0 && element && !inView(element)) {
      element.scrollIntoView({ block: "start" });
      element.focus();
      say("The current comment was out of view, so nothing was decided; it is shown now (or click the one you are reading). Press " + key + " again to " + (key === "a" ? "approve" : "reject") + " it.");
    } else {
      resolve(targets(), key === "a" ? "ham" : "spam");
    }
  } else {
    return;
  }
  event.preventDefault();
});

async function start() {
  let me;
  try {
    me = await api("/api/me");
  } catch (error) {
    // Only a refused token is forgotten; a busy or unreachable service
    // (429, 503, no answer) keeps it, so signing in again is one click.
    const refused = error.status === 401 || error.status === 403;
    if (refused) sessionStorage.removeItem("moderato-token");
    $("sign-in").hidden = false;
    $("console").hidden = true;
    if (!refused) $("token").value = state.token;
    $("sign-in-error").textContent = !state.token ? "" : refused
      ? "Sign-in refused: " + error.message + "."
      : "Signing in failed: " + error.message + "; try again.";
    return;
  }
  $("who").textContent = "Signed in as " + me.name + " (" + me.role + (me.sites.length ? ", " + me.sites.join(", ") : "") + ")";
  $("sign-in").hidden = true;
  $("console").hidden = false;
  try {
    await loadStats();
    await loadQueue();
  } catch (error) {
    if (error.status === 401) return;
    say("Cannot load the queue: " + error.message + " (Refresh to try again).");
    $("status").dataset.error = "load the queue";
  }
}

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  // A token copied from a chat or a document may bring invisible
  // characters along; a key's token never holds them, nor spaces.
  const token = $("token").value.replace(/\p{Default_Ignorable_Code_Point}/gu, "").trim();
  if (!/^[\x20-\x7e]+$/.test(token)) {
    $("sign-in-error").textContent = token
      ? "This is not a key's token: a token is letters, digits, signs and spaces only. Paste it again."
      : "Paste your key's token first.";
    return;
  }
  state.token = token;
  sessionStorage.setItem("moderato-token", state.token);
  start();
});
$("sign-out").addEventListener("click", () => { sessionStorage.removeItem("moderato-token"); state.token = ""; location.reload(); });
// The figures first: they rebuild the site list, whose choice the queue
// then follows.
$("refresh").addEventListener("click", async () => {
  say("");
  await attempt(loadStats, "load the figures");
  await attempt(() => loadQueue(), "load the queue");
});
// After a choice, the keys go back to the queue (a focused list would
// take j, k, a and r for itself).
for (const id of ["site", "show"]) {
  $(id).addEventListener("change", () => {
    $(id).blur();
    attempt(() => loadQueue(), "load the queue");
  });
}
$("more").addEventListener("click", () => attempt(() => loadQueue(true), "load more items"));
$("approve-selected").addEventListener("click", () => resolve([...state.selected], "ham"));
$("reject-selected").addEventListener("click", () => resolve([...state.selected], "spam"));
if (state.token) start();
