/* notebuild: the self-quiz.
 *
 * Turns a quiz page (templates/quiz.html: `section.quiz > ol.quiz-cards > li.quiz-card`,
 * each card a `details.flashcard`) into a one-card-at-a-time review session with
 * spaced-repetition scheduling. Without this script the page stays a list of cards,
 * each answer revealed by a click.
 *
 * - Order: cards due today or earlier first (oldest due date first), then new cards
 *   (no history, no review comment), in page order. Cards scheduled later are left out
 *   unless the learner chooses to study ahead or to review everything.
 * - Keys: Space or Enter shows the answer, 1–4 grade it (Again, Hard, Good, Easy).
 * - The learner's history lives in localStorage under one versioned key (STORAGE_KEY);
 *   where the browser refuses storage (some do for pages opened from disk) the session
 *   still works and a notice says nothing will be kept. History can be exported as a
 *   JSON file and imported (merged) back.
 *
 * Self-contained: no other script, no network, works from file://.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "notebuild.quiz.v1";
  var EXPORT_FORMAT = "notebuild-quiz-history";
  var VERSION = 1;

  // Scheduling parameters: the defaults of the Obsidian Spaced Repetition plugin.
  var BASE_EASE = 250;
  var MIN_EASE = 130;
  var EASE_STEP = 20;
  var EASY_BONUS = 1.3;
  var LAPSES_INTERVAL_CHANGE = 0.5;
  var MAXIMUM_INTERVAL = 36525;
  // The plugin writes this date for a card of a multi-card note that was never reviewed.
  var PLACEHOLDER_DUE = "2000-01-01";
  // Entries kept in a card's review log.
  var LOG_LIMIT = 100;

  var GRADES = ["again", "hard", "good", "easy"];
  var GRADE_LABELS = { again: "Again", hard: "Hard", good: "Good", easy: "Easy" };
  var DAY_MS = 86400000;

  // ---------------------------------------------------------------------------------
  // Dates: `YYYY-MM-DD` strings, compared as day numbers (days since 1970-01-01).
  // ---------------------------------------------------------------------------------

  /** The day number of a `YYYY-MM-DD` date, or NaN when it is not a real date. */
  function dayNumber(text) {
    var m = typeof text === "string" ? /^(\d{4})-(\d{2})-(\d{2})$/.exec(text) : null;
    if (!m) {
      return NaN;
    }
    var y = +m[1];
    var mo = +m[2];
    var d = +m[3];
    var date = new Date(Date.UTC(y, mo - 1, d));
    if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
      return NaN;
    }
    return Math.round(date.getTime() / DAY_MS);
  }

  function pad(n, width) {
    var s = String(n);
    while (s.length < width) {
      s = "0" + s;
    }
    return s;
  }

  function dateOfDay(day) {
    var date = new Date(day * DAY_MS);
    return pad(date.getUTCFullYear(), 4) + "-" + pad(date.getUTCMonth() + 1, 2) + "-" +
      pad(date.getUTCDate(), 2);
  }

  function isDate(text) {
    return !isNaN(dayNumber(text));
  }

  /**
   * The `YYYY-MM-DD` day of a due date as a page may give it: a date, or a timestamp
   * that starts with one (`2024-08-05T10:00:00.000Z`, as FSRS review comments write it).
   * Empty when it is neither.
   */
  function dayOf(text) {
    var m = typeof text === "string" ? /^(\d{4}-\d{2}-\d{2})(?:[T ].*)?$/.exec(text.trim()) : null;
    return m && isDate(m[1]) ? m[1] : "";
  }

  /** Today in the learner's own time zone. */
  function localToday() {
    var now = new Date();
    return pad(now.getFullYear(), 4) + "-" + pad(now.getMonth() + 1, 2) + "-" + pad(now.getDate(), 2);
  }

  // ---------------------------------------------------------------------------------
  // Scheduling (pure)
  // ---------------------------------------------------------------------------------

  /**
   * The next schedule of a card after a grade: SM-2 as the Obsidian Spaced Repetition
   * plugin does it (its "OSR" algorithm, without its load balancing and link-based ease).
   *
   * `card` is the current schedule `{due, interval, ease}`, or null (or a `due` that is
   * empty) for a new card; `grade` is "again", "hard", "good" or "easy"; `today` is
   * `YYYY-MM-DD`. Returns `{due, interval, ease}` with `interval` in whole days.
   *
   * A new card starts at interval 1 and ease 250. For a card due on `due` and reviewed
   * `delay = max(0, today - due)` days late:
   *   Easy:  ease += 20;  interval = (interval + delay) * ease / 100 * 1.3
   *   Good:  interval = (interval + delay / 2) * ease / 100
   *   Hard:  ease = max(130, ease - 20);  interval = max(1, (interval + delay / 4) * 0.5)
   *   Again: ease = max(130, ease - 20);  interval = 1
   * then interval = min(interval, 36525) rounded to 0.1 day, and the card is due in
   * round(interval) days (at least 1).
   *
   * The plugin has three buttons (Hard, Good, Easy), and its Hard already plays the part
   * of a lapse: ease down 20, interval halved. This quiz has Anki's four; Again is the
   * full lapse the plugin lacks: the card starts over at a one-day interval, with the
   * same ease penalty (and floor) as Hard. Hard, Good and Easy are the plugin's own.
   */
  function schedule(card, grade, today) {
    var todayDay = dayNumber(today);
    if (isNaN(todayDay)) {
      throw new Error("schedule: today is not a YYYY-MM-DD date: " + today);
    }
    var isNew = !card || !card.due || card.due === PLACEHOLDER_DUE || !isDate(card.due);
    var interval = isNew ? 1 : positive(card.interval, 1);
    var ease = isNew ? BASE_EASE : positive(card.ease, BASE_EASE);
    var delay = isNew ? 0 : Math.max(0, todayDay - dayNumber(card.due));
    switch (grade) {
      case "again":
        ease = Math.max(MIN_EASE, ease - EASE_STEP);
        interval = 1;
        break;
      case "hard":
        ease = Math.max(MIN_EASE, ease - EASE_STEP);
        interval = Math.max(1, (interval + delay / 4) * LAPSES_INTERVAL_CHANGE);
        break;
      case "good":
        interval = ((interval + delay / 2) * ease) / 100;
        break;
      case "easy":
        ease += EASE_STEP;
        interval = (((interval + delay) * ease) / 100) * EASY_BONUS;
        break;
      default:
        throw new Error("schedule: unknown grade " + grade);
    }
    interval = Math.min(interval, MAXIMUM_INTERVAL);
    interval = Math.round(interval * 10) / 10;
    var days = Math.max(1, Math.round(interval));
    return { due: dateOfDay(todayDay + days), interval: days, ease: ease };
  }

  function positive(value, fallback) {
    var n = typeof value === "number" ? value : parseFloat(value);
    return isFinite(n) && n > 0 ? n : fallback;
  }

  /** "4d", "2.1mo", "1.5y": the plugin's way of showing an interval. */
  function formatInterval(days) {
    var months = Math.round(days / 3.04375) / 10;
    var years = Math.round(days / 36.525) / 10;
    if (months < 1) {
      return days + "d";
    }
    if (years < 1) {
      return months + "mo";
    }
    return years + "y";
  }

  // ---------------------------------------------------------------------------------
  // History: {version: 1, cards: {ID: {due, interval, ease, reps, lapses, last, log}}}
  // ---------------------------------------------------------------------------------

  function emptyHistory() {
    return { version: VERSION, cards: {} };
  }

  /** `obj[key]` when it is obj's own property (card ids are data, not property names). */
  function own(obj, key) {
    return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function isCount(value) {
    return typeof value === "number" && isFinite(value) && value >= 0 && Math.floor(value) === value;
  }

  /**
   * Checks one card's history entry. Returns `{entry}` (a clean copy) or `{error}`.
   */
  function validateEntry(value) {
    if (!isObject(value)) {
      return { error: "not an object" };
    }
    if (!isDate(value.due)) {
      return { error: "due is not a YYYY-MM-DD date" };
    }
    if (typeof value.interval !== "number" || !isFinite(value.interval) || value.interval < 0) {
      return { error: "interval is not a number of days" };
    }
    if (typeof value.ease !== "number" || !isFinite(value.ease) || value.ease <= 0) {
      return { error: "ease is not a positive number" };
    }
    var reps = value.reps === undefined ? 0 : value.reps;
    var lapses = value.lapses === undefined ? 0 : value.lapses;
    if (!isCount(reps) || !isCount(lapses)) {
      return { error: "reps and lapses must be whole numbers" };
    }
    var last = value.last === undefined ? null : value.last;
    if (last !== null && !isDate(last)) {
      return { error: "last is not a YYYY-MM-DD date" };
    }
    var log = value.log === undefined ? [] : value.log;
    if (!Array.isArray(log)) {
      return { error: "log is not a list" };
    }
    var cleanLog = [];
    for (var i = 0; i < log.length; i++) {
      var item = log[i];
      if (!isObject(item) || GRADES.indexOf(item.grade) < 0 || typeof item.at !== "string") {
        return { error: "log entry " + (i + 1) + " needs `at` and a grade (again, hard, good, easy)" };
      }
      cleanLog.push(item);
    }
    return {
      entry: {
        due: value.due,
        interval: value.interval,
        ease: value.ease,
        reps: reps,
        lapses: lapses,
        last: last,
        log: cleanLog.slice(-LOG_LIMIT),
      },
    };
  }

  /** Whether entry `a` holds a later review than entry `b`. */
  function newer(a, b) {
    var la = a.last ? dayNumber(a.last) : -Infinity;
    var lb = b.last ? dayNumber(b.last) : -Infinity;
    if (la !== lb) {
      return la > lb;
    }
    if (a.reps !== b.reps) {
      return a.reps > b.reps;
    }
    var ta = a.log.length ? String(a.log[a.log.length - 1].at) : "";
    var tb = b.log.length ? String(b.log[b.log.length - 1].at) : "";
    return ta > tb;
  }

  /** One card's two histories merged: the later schedule, the union of the logs. */
  function mergeEntry(mine, theirs) {
    var base = newer(theirs, mine) ? theirs : mine;
    var seen = {};
    var log = [];
    mine.log.concat(theirs.log).forEach(function (item) {
      var key = item.at + "|" + item.grade;
      if (!seen[key]) {
        seen[key] = true;
        log.push(item);
      }
    });
    log.sort(function (x, y) {
      return x.at < y.at ? -1 : x.at > y.at ? 1 : 0;
    });
    return {
      due: base.due,
      interval: base.interval,
      ease: base.ease,
      reps: base.reps,
      lapses: base.lapses,
      last: base.last,
      log: log.slice(-LOG_LIMIT),
    };
  }

  function sameEntry(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  /**
   * Merges the history in `text` (an exported file, or the stored object itself) into
   * `history`. Returns `{history, added, updated, unchanged, errors}`, or
   * `{fatal}` when the text is not a history at all.
   */
  function mergeHistoryText(history, text) {
    var data;
    try {
      data = JSON.parse(text);
    } catch (e) {
      return { fatal: "The file is not JSON (" + e.message + ")." };
    }
    if (!isObject(data)) {
      return { fatal: "The file is not a quiz history: expected a JSON object." };
    }
    if (data.format !== undefined && data.format !== EXPORT_FORMAT) {
      return { fatal: "The file is not a notebuild quiz history (format " + JSON.stringify(data.format) + ")." };
    }
    if (data.version !== undefined && data.version !== VERSION) {
      return { fatal: "The file has history format version " + JSON.stringify(data.version) +
        "; this page reads version " + VERSION + "." };
    }
    if (!isObject(data.cards)) {
      return { fatal: "The file has no `cards` object: it is not a quiz history." };
    }
    var result = { history: { version: VERSION, cards: {} }, added: 0, updated: 0, unchanged: 0, errors: [] };
    Object.keys(history.cards).forEach(function (id) {
      result.history.cards[id] = history.cards[id];
    });
    Object.keys(data.cards).forEach(function (id) {
      if (!id || id.length > 200 || id === "__proto__") {
        result.errors.push("card id " + JSON.stringify(id.slice(0, 40)) + ": not a card id");
        return;
      }
      var checked = validateEntry(data.cards[id]);
      if (checked.error) {
        result.errors.push("card " + id + ": " + checked.error);
        return;
      }
      var mine = own(result.history.cards, id);
      if (!mine) {
        result.history.cards[id] = checked.entry;
        result.added++;
        return;
      }
      var merged = mergeEntry(mine, checked.entry);
      if (sameEntry(merged, mine)) {
        result.unchanged++;
      } else {
        result.history.cards[id] = merged;
        result.updated++;
      }
    });
    return result;
  }

  /** The stored history, read back leniently: invalid entries are dropped. */
  function parseStored(text) {
    if (!text) {
      return emptyHistory();
    }
    var merged = mergeHistoryText(emptyHistory(), text);
    if (merged.fatal) {
      throw new Error(merged.fatal);
    }
    return merged.history;
  }

  // ---------------------------------------------------------------------------------
  // Storage: localStorage when the browser allows it, memory otherwise.
  // ---------------------------------------------------------------------------------

  var storage = null;
  try {
    storage = window.localStorage;
    // Some browsers hand out the object but throw on use (file://, privacy modes).
    storage.getItem(STORAGE_KEY);
  } catch (e) {
    storage = null;
  }

  var history = emptyHistory();
  var storageProblem = null;

  function loadHistory() {
    if (!storage) {
      storageProblem = "blocked";
      return;
    }
    var text;
    try {
      text = storage.getItem(STORAGE_KEY);
    } catch (e) {
      storageProblem = "blocked";
      return;
    }
    try {
      history = parseStored(text);
    } catch (e) {
      // Unreadable: keep it aside rather than overwrite it.
      try {
        storage.setItem(STORAGE_KEY + ".unreadable", text);
      } catch (ignored) {
        // nothing more to do
      }
      history = emptyHistory();
      storageProblem = "unreadable";
    }
  }

  /** Writes the history; re-reads first so that another open quiz page's grades stay. */
  function saveCards(entries) {
    if (storage && storageProblem !== "blocked") {
      try {
        var current;
        var stored = storage.getItem(STORAGE_KEY);
        try {
          current = parseStored(stored);
        } catch (unreadable) {
          // Set aside by loadHistory (or spoilt since): start from what this page holds.
          current = { version: VERSION, cards: {} };
          Object.keys(history.cards).forEach(function (id) {
            current.cards[id] = history.cards[id];
          });
        }
        Object.keys(entries).forEach(function (id) {
          current.cards[id] = entries[id];
        });
        storage.setItem(STORAGE_KEY, JSON.stringify(current));
        history = current;
        return true;
      } catch (e) {
        storageProblem = "blocked";
        showStorageNotice();
      }
    }
    Object.keys(entries).forEach(function (id) {
      history.cards[id] = entries[id];
    });
    return false;
  }

  // ---------------------------------------------------------------------------------
  // The page
  // ---------------------------------------------------------------------------------

  var section = document.querySelector("section.quiz");
  if (!section) {
    return;
  }
  var list = section.querySelector("ol.quiz-cards");
  var cards = [];
  if (list) {
    Array.prototype.forEach.call(list.querySelectorAll("li.quiz-card"), function (li, index) {
      var details = li.querySelector("details.flashcard");
      var id = li.getAttribute("data-card");
      if (!details || !id) {
        return;
      }
      cards.push({
        li: li,
        details: details,
        summary: details.querySelector("summary"),
        back: details.querySelector(".flashcard-back"),
        id: id,
        index: index,
        kind: li.getAttribute("data-kind") || "basic",
        note: {
          due: li.getAttribute("data-due") || "",
          interval: li.getAttribute("data-interval") || "",
          ease: li.getAttribute("data-ease") || "",
        },
      });
    });
  }

  /** A card's current schedule: the learner's history, else the note's review comment. */
  function scheduleOf(card) {
    var entry = own(history.cards, card.id);
    if (entry) {
      return { due: entry.due, interval: entry.interval, ease: entry.ease };
    }
    var due = dayOf(card.note.due);
    if (due && due !== PLACEHOLDER_DUE) {
      return {
        due: due,
        interval: positive(card.note.interval, 1),
        ease: positive(card.note.ease, BASE_EASE),
      };
    }
    return null;
  }

  /** "due", "new" or "later" on `today`. */
  function statusOf(card, today) {
    var s = scheduleOf(card);
    if (!s) {
      return "new";
    }
    return dayNumber(s.due) <= dayNumber(today) ? "due" : "later";
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") {
        node.textContent = attrs[name];
      } else {
        node.setAttribute(name, attrs[name]);
      }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // The session's controls, built once.
  var ui = {};

  function buildUi() {
    ui.notice = el("p", { class: "quiz-notice", role: "status", hidden: "" });
    ui.counts = el("p", { class: "quiz-counts", "aria-live": "polite", "aria-atomic": "true" });
    ui.bar = el("div", { class: "quiz-progress-bar" });
    ui.progress = el("div", {
      class: "quiz-progress",
      role: "progressbar",
      "aria-label": "Session progress",
      "aria-valuemin": "0",
    }, [ui.bar]);
    ui.status = el("div", { class: "quiz-status" }, [ui.counts, ui.progress]);

    ui.reveal = el("button", { type: "button", class: "quiz-button quiz-reveal", "aria-keyshortcuts": "Space Enter" }, [
      "Show answer ",
      el("kbd", { text: "Space" }),
    ]);
    ui.reveal.addEventListener("click", function () {
      reveal();
    });
    ui.grades = el("div", { class: "quiz-grades", role: "group", "aria-label": "How well did you know it?", hidden: "" });
    ui.gradeButtons = {};
    GRADES.forEach(function (grade, i) {
      var interval = el("span", { class: "quiz-grade-interval" });
      var button = el("button", {
        type: "button",
        class: "quiz-button quiz-grade quiz-grade-" + grade,
        "data-grade": grade,
        "aria-keyshortcuts": String(i + 1),
      }, [
        el("span", { class: "quiz-grade-name", text: GRADE_LABELS[grade] }),
        el("span", { class: "quiz-grade-sep", "aria-hidden": "true", text: " · " }),
        interval,
        el("kbd", { "aria-hidden": "true", text: String(i + 1) }),
      ]);
      button.addEventListener("click", function () {
        gradeCurrent(grade);
      });
      ui.gradeButtons[grade] = { button: button, interval: interval };
      ui.grades.appendChild(button);
    });
    // Why the intervals are long: the days a card waited past its due date count.
    ui.why = el("p", { class: "quiz-why", hidden: "" });
    ui.controls = el("div", { class: "quiz-controls" }, [ui.reveal, ui.why, ui.grades]);
    ui.help = el("p", { class: "quiz-help" }, [
      el("kbd", { text: "Space" }), " or ", el("kbd", { text: "Enter" }), " shows the answer; ",
      el("kbd", { text: "1" }), "–", el("kbd", { text: "4" }), " grade it: Again, Hard, Good, Easy.",
    ]);

    ui.finishedTitle = el("h2", { class: "quiz-finished-title", tabindex: "-1" });
    ui.finishedText = el("p", { class: "quiz-finished-text" });
    ui.ahead = el("button", { type: "button", class: "quiz-button quiz-ahead" });
    ui.ahead.addEventListener("click", function () {
      startSession("ahead", true);
    });
    ui.all = el("button", { type: "button", class: "quiz-button quiz-all" });
    ui.all.addEventListener("click", function () {
      startSession("all", true);
    });
    ui.finished = el("div", { class: "quiz-finished", hidden: "" }, [
      ui.finishedTitle,
      ui.finishedText,
      el("p", { class: "quiz-finished-actions" }, [ui.ahead, " ", ui.all]),
    ]);

    ui.exportButton = el("button", { type: "button", class: "quiz-button quiz-export", text: "Export history" });
    ui.exportButton.addEventListener("click", downloadHistory);
    ui.importInput = el("input", {
      type: "file",
      class: "quiz-import-input",
      id: "quiz-import",
      accept: ".json,application/json",
    });
    ui.importInput.addEventListener("change", function () {
      var file = ui.importInput.files && ui.importInput.files[0];
      if (file) {
        importFile(file);
      }
    });
    ui.message = el("div", { class: "quiz-message", role: "status", "aria-live": "polite" });
    ui.tools = el("details", { class: "quiz-tools" }, [
      el("summary", { text: "Your progress: export or import" }),
      el("p", {
        text: "Your grades are kept in this browser only. Export them to a file to keep a copy " +
          "or to move them to another browser; importing a file merges it with what is here.",
      }),
      el("p", { class: "quiz-tools-actions" }, [
        ui.exportButton,
        " ",
        el("label", { class: "quiz-import-label", for: "quiz-import", text: "Import history (JSON): " }),
        ui.importInput,
      ]),
      ui.message,
    ]);

    section.insertBefore(ui.status, section.firstChild);
    section.insertBefore(ui.notice, ui.status);
    list.parentNode.insertBefore(ui.controls, list.nextSibling);
    section.insertBefore(ui.finished, ui.controls.nextSibling);
    section.appendChild(ui.help);
    section.appendChild(ui.tools);
  }

  function showStorageNotice() {
    if (!ui.notice || !storageProblem) {
      return;
    }
    ui.notice.textContent = storageProblem === "unreadable"
      ? "The saved quiz history in this browser could not be read, so this page starts afresh " +
        "(the old data is kept aside under “" + STORAGE_KEY + ".unreadable”)."
      : "This browser does not let the page save your progress (some browsers block storage " +
        "for pages opened from disk). Your grades count for this visit only: export them " +
        "before you leave, and import them next time.";
    ui.notice.hidden = false;
  }

  // ---------------------------------------------------------------------------------
  // The session
  // ---------------------------------------------------------------------------------

  var session = { queue: [], done: 0, mode: "due", revealed: false, current: null };

  function byDueThenIndex(a, b) {
    var da = dayNumber(scheduleOf(a).due);
    var db = dayNumber(scheduleOf(b).due);
    return da !== db ? da - db : a.index - b.index;
  }

  /**
   * Starts a session. "due": due cards, then new ones. "ahead": the cards scheduled
   * later, soonest first. "all": every card, in page order.
   */
  function startSession(mode, focus) {
    var today = localToday();
    var due = [];
    var fresh = [];
    var later = [];
    cards.forEach(function (card) {
      var status = statusOf(card, today);
      (status === "due" ? due : status === "new" ? fresh : later).push(card);
    });
    due.sort(byDueThenIndex);
    later.sort(byDueThenIndex);
    var queue;
    if (mode === "ahead") {
      queue = later.map(function (card) {
        return { card: card, kind: "due" };
      });
    } else if (mode === "all") {
      queue = cards.map(function (card) {
        return { card: card, kind: statusOf(card, today) === "new" ? "new" : "due" };
      });
    } else {
      queue = due.map(function (card) {
        return { card: card, kind: "due" };
      }).concat(fresh.map(function (card) {
        return { card: card, kind: "new" };
      }));
    }
    session = { queue: queue, done: 0, seen: {}, cardsDone: 0, mode: mode, revealed: false, current: null };
    show(focus);
  }

  function counts() {
    var c = { due: 0, new: 0, done: session.done, later: 0 };
    session.queue.forEach(function (item) {
      c[item.kind === "new" ? "new" : "due"]++;
    });
    var today = localToday();
    cards.forEach(function (card) {
      if (statusOf(card, today) === "later") {
        c.later++;
      }
    });
    return c;
  }

  function updateStatus() {
    var c = counts();
    ui.counts.textContent = "";
    [["due", "Due"], ["new", "New"], ["done", "Done"]].forEach(function (pair, i) {
      if (i > 0) {
        ui.counts.appendChild(el("span", { class: "quiz-sep", "aria-hidden": "true", text: " · " }));
      }
      ui.counts.appendChild(el("span", { class: "quiz-count quiz-count-" + pair[0] }, [
        pair[1] + " ",
        el("strong", { text: String(c[pair[0]]) }),
      ]));
    });
    var total = session.done + session.queue.length;
    ui.progress.setAttribute("aria-valuemax", String(total));
    ui.progress.setAttribute("aria-valuenow", String(session.done));
    ui.progress.setAttribute("aria-valuetext", session.done + " of " + total + " reviewed");
    // Nothing to review (as after a reload once all is done): an empty bar, as the
    // counts say.
    ui.bar.style.width = total ? (100 * session.done) / total + "%" : "0%";
    return c;
  }

  /** Shows the first card of the queue, or the end of the session. */
  function show(focus) {
    cards.forEach(function (card) {
      card.li.hidden = true;
      card.li.classList.remove("quiz-current");
    });
    session.revealed = false;
    var item = session.queue[0];
    session.current = item ? item.card : null;
    var c = updateStatus();
    if (!item) {
      ui.controls.hidden = true;
      ui.help.hidden = true;
      showFinished(c, focus);
      return;
    }
    ui.finished.hidden = true;
    ui.controls.hidden = false;
    ui.help.hidden = false;
    ui.reveal.hidden = false;
    ui.grades.hidden = true;
    ui.why.hidden = true;
    var card = item.card;
    card.details.open = false;
    card.li.hidden = false;
    card.li.classList.add("quiz-current");
    if (focus && card.summary) {
      card.summary.focus();
    }
  }

  function showFinished(c, focus) {
    var reviewed = session.cardsDone;
    if (reviewed > 0) {
      ui.finishedTitle.textContent = "Session complete";
      ui.finishedText.textContent = "You reviewed " + reviewed + " card" + (reviewed === 1 ? "" : "s") +
        (session.done > reviewed ? " (" + session.done + " reviews: a card graded Again comes back)" : "") + ". ";
    } else {
      ui.finishedTitle.textContent = cards.length ? "Nothing due" : "No cards";
      ui.finishedText.textContent = cards.length ? "No card here is due today, and none is new. " : "";
    }
    if (c.later > 0) {
      var next = null;
      cards.forEach(function (card) {
        var s = scheduleOf(card);
        if (s && (next === null || dayNumber(s.due) < dayNumber(next))) {
          next = s.due;
        }
      });
      ui.finishedText.textContent += c.later + " card" + (c.later === 1 ? " is" : "s are") +
        " scheduled later" + (next ? "; the next is due on " + next : "") + ".";
    }
    ui.ahead.textContent = "Study ahead (" + c.later + ")";
    ui.ahead.hidden = c.later === 0;
    ui.all.textContent = "Review all " + cards.length + " card" + (cards.length === 1 ? "" : "s");
    ui.all.hidden = cards.length === 0;
    ui.finished.hidden = false;
    if (focus) {
      ui.finishedTitle.focus();
    }
  }

  function reveal() {
    var card = session.current;
    if (!card || session.revealed) {
      return;
    }
    session.revealed = true;
    card.details.open = true;
    var today = localToday();
    var current = scheduleOf(card);
    GRADES.forEach(function (grade) {
      var next = schedule(current, grade, today);
      var shown = formatInterval(next.interval);
      ui.gradeButtons[grade].interval.textContent = shown;
      ui.gradeButtons[grade].button.setAttribute(
        "aria-label",
        GRADE_LABELS[grade] + ", next review in " + next.interval + " day" + (next.interval === 1 ? "" : "s")
      );
    });
    var overdue = current ? dayNumber(today) - dayNumber(current.due) : 0;
    if (current && overdue > 0) {
      var interval = positive(current.interval, 1);
      ui.why.textContent = "Last interval " + interval + " d, overdue " + overdue + " d: " +
        "the days it waited count towards the next interval (as in the Spaced Repetition plugin).";
      ui.why.hidden = false;
    } else {
      ui.why.textContent = "";
      ui.why.hidden = true;
    }
    ui.reveal.hidden = true;
    ui.grades.hidden = false;
    // The answer gets the focus, so that a screen reader reads it; 1–4 or Tab to grade.
    if (card.back) {
      card.back.setAttribute("tabindex", "-1");
      card.back.focus();
    }
  }

  function gradeCurrent(grade) {
    var card = session.current;
    if (!card || !session.revealed || GRADES.indexOf(grade) < 0) {
      return;
    }
    var today = localToday();
    var next = schedule(scheduleOf(card), grade, today);
    var old = own(history.cards, card.id);
    var entry = {
      due: next.due,
      interval: next.interval,
      ease: next.ease,
      reps: (old ? old.reps : 0) + 1,
      lapses: (old ? old.lapses : 0) + (grade === "again" ? 1 : 0),
      last: today,
      log: (old ? old.log : []).concat([{
        at: new Date().toISOString(),
        grade: grade,
        due: next.due,
        interval: next.interval,
        ease: next.ease,
      }]).slice(-LOG_LIMIT),
    };
    var changes = {};
    changes[card.id] = entry;
    saveCards(changes);
    if (card.back) {
      card.back.removeAttribute("tabindex");
    }
    var item = session.queue.shift();
    session.done++;
    if (!own(session.seen, card.id)) {
      session.seen[card.id] = true;
      session.cardsDone++;
    }
    if (grade === "again") {
      // Seen again before the session ends (its stored schedule already says tomorrow).
      session.queue.push({ card: item.card, kind: "due" });
    }
    show(true);
  }

  // ---------------------------------------------------------------------------------
  // Export and import
  // ---------------------------------------------------------------------------------

  function exportData() {
    return {
      format: EXPORT_FORMAT,
      version: VERSION,
      exported: new Date().toISOString(),
      storageKey: STORAGE_KEY,
      cards: history.cards,
    };
  }

  function exportJson() {
    return JSON.stringify(exportData(), null, 2);
  }

  function downloadHistory() {
    var blob = new Blob([exportJson() + "\n"], { type: "application/json" });
    var url = URL.createObjectURL(blob);
    var a = el("a", { href: url, download: "notebuild-quiz-history-" + localToday() + ".json", hidden: "" });
    document.body.appendChild(a);
    a.click();
    document.body.removeChild(a);
    setTimeout(function () {
      URL.revokeObjectURL(url);
    }, 10000);
    var n = Object.keys(history.cards).length;
    setMessage("Exported the history of " + n + " card" + (n === 1 ? "" : "s") + ".", false);
  }

  function setMessage(text, isError, details) {
    ui.tools.open = true;
    ui.message.textContent = "";
    ui.message.classList.toggle("quiz-message-error", !!isError);
    ui.message.setAttribute("role", isError ? "alert" : "status");
    ui.message.appendChild(el("p", { text: text }));
    if (details && details.length) {
      var shown = details.slice(0, 8);
      var ul = el("ul", {}, shown.map(function (d) {
        return el("li", { text: d });
      }));
      if (details.length > shown.length) {
        ul.appendChild(el("li", { text: "and " + (details.length - shown.length) + " more" }));
      }
      ui.message.appendChild(ul);
    }
  }

  /** Merges an exported history (its JSON text) into this browser's. Returns a report. */
  function importText(text) {
    var result = mergeHistoryText(history, text);
    if (result.fatal) {
      setMessage("Nothing imported: " + result.fatal, true);
      return { ok: false, error: result.fatal };
    }
    var changed = {};
    Object.keys(result.history.cards).forEach(function (id) {
      if (own(history.cards, id) !== result.history.cards[id]) {
        changed[id] = result.history.cards[id];
      }
    });
    var saved = saveCards(changed);
    var summary = "Imported: " + result.added + " card" + (result.added === 1 ? "" : "s") + " added, " +
      result.updated + " updated, " + result.unchanged + " unchanged" +
      (saved || !Object.keys(changed).length ? "." : " (for this visit only: storage is blocked).");
    if (result.errors.length) {
      summary += " " + result.errors.length + " entr" + (result.errors.length === 1 ? "y was" : "ies were") +
        " skipped:";
    }
    setMessage(summary, result.errors.length > 0, result.errors);
    startSession("due", false);
    return {
      ok: true,
      added: result.added,
      updated: result.updated,
      unchanged: result.unchanged,
      errors: result.errors,
    };
  }

  function importFile(file) {
    var reader = new FileReader();
    reader.onload = function () {
      importText(String(reader.result));
      ui.importInput.value = "";
    };
    reader.onerror = function () {
      setMessage("Nothing imported: the file could not be read.", true);
      ui.importInput.value = "";
    };
    reader.readAsText(file);
  }

  // ---------------------------------------------------------------------------------
  // Keyboard
  // ---------------------------------------------------------------------------------

  function isTextEntry(node) {
    if (!node || node.nodeType !== 1) {
      return false;
    }
    var tag = node.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || node.isContentEditable;
  }

  function isInteractive(node) {
    if (!node || node.nodeType !== 1) {
      return false;
    }
    return isTextEntry(node) || !!node.closest("a[href], button, summary, label");
  }

  function onKeyDown(event) {
    if (!session.current || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var target = event.target;
    if (isTextEntry(target)) {
      return;
    }
    var key = event.key;
    if (key === " " || key === "Spacebar" || key === "Enter") {
      if (session.revealed) {
        return;
      }
      // On a link or button the key does what it always does. On the card's own
      // question it reveals here, at once (preventing the default also keeps the
      // <details> from toggling a second time).
      var onQuestion = session.current.summary && session.current.summary.contains(target);
      if (!onQuestion && isInteractive(target)) {
        return;
      }
      event.preventDefault();
      reveal();
      return;
    }
    var n = ["1", "2", "3", "4"].indexOf(key);
    if (n >= 0 && !event.shiftKey && session.revealed) {
      event.preventDefault();
      gradeCurrent(GRADES[n]);
    }
  }

  // ---------------------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------------------

  // A tiny API, for the browser test and the curious.
  window.notebuildQuiz = {
    storageKey: STORAGE_KEY,
    schedule: schedule,
    formatInterval: formatInterval,
    exportData: exportData,
    exportJson: exportJson,
    importText: importText,
    counts: function () {
      return cards.length && list ? counts() : { due: 0, new: 0, done: 0, later: 0 };
    },
    current: function () {
      return session.current ? session.current.id : null;
    },
    revealed: function () {
      return session.revealed;
    },
    storageAvailable: function () {
      return storage !== null && storageProblem !== "blocked";
    },
  };

  loadHistory();
  if (!list || !cards.length) {
    section.setAttribute("data-quiz-ready", "");
    return;
  }
  buildUi();
  showStorageNotice();
  cards.forEach(function (card) {
    card.details.addEventListener("toggle", function () {
      if (card === session.current && card.details.open && !session.revealed) {
        reveal();
      }
    });
  });
  document.addEventListener("keydown", onKeyDown);
  section.classList.add("quiz-active");
  startSession("due", false);
  section.setAttribute("data-quiz-ready", "");
})();
