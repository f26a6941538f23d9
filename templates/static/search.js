/* notebuild: search the notes.
 *
 * Shows the search box of the header (`form.site-search`, hidden without JavaScript)
 * and searches the notes' titles, headings, tags and text. The index,
 * static/search-index.js, is a script that sets `window.notebuildSearchIndex`; it is
 * loaded the first time the reader searches, with a <script> element rather than
 * fetch(), which browsers refuse for local files: the search works from file:// too.
 *
 * - Every word of the query must appear in the note (anywhere, as a prefix of a word or
 *   inside one); a note ranks higher when the words are in its title, then its
 *   headings and tags, then its text. Case and accents are ignored.
 * - A result goes to the note, or to the heading that matched.
 * - Keys: "/" focuses the box; Arrow Up/Down choose a result; Enter opens it; Escape
 *   closes the list (and a second Escape clears the box).
 *
 * Self-contained: no other script, no network.
 */
(function () {
  "use strict";

  var MAX_RESULTS = 10;
  var SNIPPET = 160;

  var form = document.querySelector("form.site-search");
  if (!form) {
    return;
  }
  var input = form.querySelector("input");
  var list = form.querySelector(".site-search-results");
  if (!input || !list) {
    return;
  }
  var root = form.getAttribute("data-root") || "";
  form.hidden = false;

  var index = null;
  var loading = false;
  var failed = false;
  var results = [];
  var selected = -1;

  // ---------------------------------------------------------------------------------
  // The index
  // ---------------------------------------------------------------------------------

  function fold(text) {
    var s = String(text || "").toLowerCase();
    if (s.normalize) {
      // accents off, then composed again, so that Hangul and kana keep their length
      s = s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").normalize("NFC");
    }
    return s;
  }

  function prepare(raw) {
    return (Array.isArray(raw) ? raw : []).map(function (e) {
      var headings = Array.isArray(e.h) ? e.h : [];
      var tags = Array.isArray(e.g) ? e.g : [];
      return {
        title: String(e.t || ""),
        url: String(e.u || ""),
        path: String(e.p || ""),
        text: String(e.x || ""),
        headings: headings,
        tags: tags,
        fTitle: fold(e.t),
        fText: fold(e.x),
        fTags: tags.map(fold),
        fHeadings: headings.map(function (h) {
          return fold(h[0]);
        }),
      };
    });
  }

  function load(then) {
    if (index) {
      then();
      return;
    }
    if (loading || failed) {
      return;
    }
    loading = true;
    var script = document.createElement("script");
    script.src = root + "static/search-index.js";
    script.onload = function () {
      loading = false;
      index = prepare(window.notebuildSearchIndex);
      then();
    };
    script.onerror = function () {
      loading = false;
      failed = true;
      showMessage("The search index (static/search-index.js) could not be loaded.");
    };
    document.head.appendChild(script);
  }

  // ---------------------------------------------------------------------------------
  // Matching
  // ---------------------------------------------------------------------------------

  /** Where `word` starts a word of `text` (or -1), else where it occurs at all. */
  function findWord(text, word) {
    var at = text.indexOf(word);
    var first = at;
    while (at >= 0) {
      if (at === 0 || !/[0-9a-z]/.test(text.charAt(at - 1))) {
        return { at: at, start: true };
      }
      at = text.indexOf(word, at + 1);
    }
    return { at: first, start: false };
  }

  /**
   * A note's score for the query's words (null when a word is missing), and the
   * heading to link to: the one matching the most of the words that the title lacks.
   */
  function score(entry, words) {
    var total = 0;
    var hits = entry.fHeadings.map(function () {
      return 0;
    });
    for (var i = 0; i < words.length; i++) {
      var w = words[i];
      var best = 0;
      var t = findWord(entry.fTitle, w);
      if (t.at >= 0) {
        best = t.start ? 40 : 20;
      }
      for (var h = 0; h < entry.fHeadings.length; h++) {
        var hm = findWord(entry.fHeadings[h], w);
        if (hm.at >= 0) {
          // a heading is worth linking to for the words the title lacks
          if (t.at < 0) {
            hits[h] += 1;
          }
          best = Math.max(best, hm.start ? 12 : 6);
        }
      }
      for (var g = 0; g < entry.fTags.length; g++) {
        if (entry.fTags[g].indexOf(w) >= 0) {
          best = Math.max(best, 10);
        }
      }
      var x = findWord(entry.fText, w);
      if (x.at >= 0) {
        best = Math.max(best, x.start ? 3 : 1);
      }
      if (best === 0) {
        return null;
      }
      total += best;
    }
    var heading = -1;
    var most = 0;
    hits.forEach(function (n, h) {
      if (n > most) {
        most = n;
        heading = h;
      }
    });
    return { score: total, heading: heading };
  }

  function search(query) {
    var words = fold(query)
      .split(/\s+/)
      .filter(function (w) {
        return w.length > 0;
      });
    if (!words.length || !index) {
      return [];
    }
    var found = [];
    index.forEach(function (entry) {
      var s = score(entry, words);
      if (s) {
        found.push({ entry: entry, score: s.score, heading: s.heading, words: words });
      }
    });
    found.sort(function (a, b) {
      return b.score - a.score || a.entry.title.localeCompare(b.entry.title);
    });
    return found.slice(0, MAX_RESULTS);
  }

  // ---------------------------------------------------------------------------------
  // Showing results
  // ---------------------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  /** `text` with the query's words marked, as DOM nodes (never as HTML). */
  function marked(text, words) {
    var frag = document.createDocumentFragment();
    var folded = fold(text);
    // folding may change lengths (rarely); then show the text unmarked
    if (folded.length !== text.length) {
      frag.appendChild(document.createTextNode(text));
      return frag;
    }
    var pos = 0;
    while (pos < text.length) {
      var next = -1;
      var len = 0;
      words.forEach(function (w) {
        var at = folded.indexOf(w, pos);
        if (at >= 0 && (next < 0 || at < next || (at === next && w.length > len))) {
          next = at;
          len = w.length;
        }
      });
      if (next < 0) {
        frag.appendChild(document.createTextNode(text.slice(pos)));
        break;
      }
      if (next > pos) {
        frag.appendChild(document.createTextNode(text.slice(pos, next)));
      }
      frag.appendChild(el("mark", "", text.slice(next, next + len)));
      pos = next + len;
    }
    return frag;
  }

  function snippet(entry, words) {
    var text = entry.text;
    var folded = entry.fText;
    var at = -1;
    words.forEach(function (w) {
      var i = folded.indexOf(w);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
      }
    });
    if (at < 0) {
      return text.length > SNIPPET ? text.slice(0, SNIPPET) + "…" : text;
    }
    var start = Math.max(0, at - 50);
    if (start > 0) {
      var space = text.indexOf(" ", start);
      if (space >= 0 && space < at) {
        start = space + 1;
      }
    }
    var end = Math.min(text.length, start + SNIPPET);
    return (start > 0 ? "…" : "") + text.slice(start, end) + (end < text.length ? "…" : "");
  }

  function showMessage(message) {
    list.textContent = "";
    list.appendChild(el("p", "site-search-empty", message));
    open(true);
  }

  function open(yes) {
    list.hidden = !yes;
    input.setAttribute("aria-expanded", yes ? "true" : "false");
  }

  function render(query) {
    results = search(query);
    selected = results.length ? 0 : -1;
    list.textContent = "";
    if (!query.trim()) {
      open(false);
      return;
    }
    if (!results.length) {
      showMessage("No note matches “" + query.trim() + "”.");
      return;
    }
    results.forEach(function (r, i) {
      var entry = r.entry;
      var link = el("a", "site-search-result");
      link.id = "nb-search-result-" + i;
      link.setAttribute("role", "option");
      var href = root + entry.url;
      var heading = r.heading >= 0 ? entry.headings[r.heading] : null;
      if (heading && heading[1]) {
        href += "#" + encodeURIComponent(heading[1]);
      }
      link.href = href;
      var title = el("span", "site-search-title");
      title.appendChild(marked(entry.title, r.words));
      if (heading) {
        title.appendChild(el("span", "site-search-heading", " › "));
        title.lastChild.appendChild(marked(String(heading[0]), r.words));
      }
      link.appendChild(title);
      link.appendChild(el("span", "site-search-path", entry.path));
      var text = snippet(entry, r.words);
      if (text) {
        var p = el("span", "site-search-snippet");
        p.appendChild(marked(text, r.words));
        link.appendChild(p);
      }
      list.appendChild(link);
    });
    highlight();
    open(true);
  }

  function highlight() {
    var links = list.querySelectorAll(".site-search-result");
    Array.prototype.forEach.call(links, function (link, i) {
      var on = i === selected;
      link.setAttribute("aria-selected", on ? "true" : "false");
      if (on) {
        input.setAttribute("aria-activedescendant", link.id);
        if (link.scrollIntoView) {
          link.scrollIntoView({ block: "nearest" });
        }
      }
    });
    if (selected < 0) {
      input.removeAttribute("aria-activedescendant");
    }
  }

  // ---------------------------------------------------------------------------------
  // Events
  // ---------------------------------------------------------------------------------

  function update() {
    var query = input.value;
    load(function () {
      // the box may have changed while the index loaded
      render(input.value || query);
    });
  }

  input.addEventListener("input", update);
  input.addEventListener("focus", function () {
    load(function () {
      if (input.value.trim()) {
        render(input.value);
      }
    });
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!results.length) {
        return;
      }
      event.preventDefault();
      if (list.hidden) {
        open(true);
        return;
      }
      var step = event.key === "ArrowDown" ? 1 : -1;
      selected = (selected + step + results.length) % results.length;
      highlight();
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (!list.hidden) {
        open(false);
      } else {
        input.value = "";
        results = [];
        selected = -1;
        list.textContent = "";
        highlight();
        input.blur();
      }
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (list.hidden || !input.value.trim()) {
      return;
    }
    var links = list.querySelectorAll(".site-search-result");
    var target = links[selected >= 0 ? selected : 0];
    if (target) {
      window.location.href = target.href;
    }
  });

  // "/" anywhere (outside a text field) goes to the box.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var t = event.target;
    var tag = t && t.tagName ? t.tagName.toLowerCase() : "";
    if (tag === "input" || tag === "textarea" || tag === "select" || (t && t.isContentEditable)) {
      return;
    }
    event.preventDefault();
    input.focus();
    input.select();
  });

  // A click outside closes the list.
  document.addEventListener("click", function (event) {
    if (!form.contains(event.target)) {
      open(false);
    }
  });

  window.notebuildSearch = { search: search };
})();
