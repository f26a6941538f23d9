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
 *   headings and tags, then its text. Case and accents are ignored. A word of five
 *   letters or more that appears nowhere may be misspelt: one edit (a letter added,
 *   dropped, changed, or two swapped) is forgiven, two from eight letters on.
 * - A query that looks like a formula (`x^T A x`, `\frac{\partial f}{\partial x}`) is
 *   also matched against the notes' formulas, both sides normalised: fonts
 *   (`\mathbf{x}` is `x`), braces, spacing and `\top`/`T` do not matter.
 * - Snippets show formulas as readable text (`xᵀAx`, `∂f/∂x`), without flashcard
 *   markup.
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

  // ---------------------------------------------------------------------------------
  // TeX as readable text, and normalised for formula queries
  // ---------------------------------------------------------------------------------

  var SYMBOLS = {
    alpha: "α", beta: "β", gamma: "γ", delta: "δ", epsilon: "ε", varepsilon: "ε",
    zeta: "ζ", eta: "η", theta: "θ", vartheta: "θ", iota: "ι", kappa: "κ", lambda: "λ",
    mu: "μ", nu: "ν", xi: "ξ", pi: "π", rho: "ρ", sigma: "σ", tau: "τ", upsilon: "υ",
    phi: "φ", varphi: "φ", chi: "χ", psi: "ψ", omega: "ω", Gamma: "Γ", Delta: "Δ",
    Theta: "Θ", Lambda: "Λ", Xi: "Ξ", Pi: "Π", Sigma: "Σ", Phi: "Φ", Psi: "Ψ",
    Omega: "Ω", partial: "∂", nabla: "∇", sum: "∑", prod: "∏", int: "∫", infty: "∞",
    cdot: "·", times: "×", otimes: "⊗", odot: "⊙", circ: "∘", in: "∈", to: "→",
    rightarrow: "→", mapsto: "↦", le: "≤", leq: "≤", ge: "≥", geq: "≥", ne: "≠",
    neq: "≠", approx: "≈", top: "ᵀ", intercal: "ᵀ", pm: "±", ldots: "…", cdots: "⋯",
    dots: "…", lVert: "‖", rVert: "‖", Vert: "‖", "|": "‖", langle: "⟨", rangle: "⟩",
    sqrt: "√", mid: "|", oslash: "⊘", operatorname: "", diag: "diag", tr: "tr", forall: "∀", exists: "∃", ell: "ℓ",
  };
  var FONTS = /\\(?:mathbf|boldsymbol|bm|pmb|mathrm|mathit|mathsf|mathtt|mathcal|mathscr|vec|hat|bar|tilde|text|textbf|textrm|operatorname\*?|mbox)\s*/g;
  var FONT_ARG = /\\(?:mathbf|boldsymbol|bm|pmb|mathrm|mathit|mathsf|mathtt|mathcal|mathscr|vec|hat|bar|tilde|text|textbf|textrm|operatorname\*?|mbox)\s*\{([^{}]*)\}/g;
  var SUPER = { T: "ᵀ", "-1": "⁻¹", "2": "²", "3": "³", n: "ⁿ", "*": "*", "\\top": "ᵀ" };

  /** A formula's TeX as readable text. */
  function readableTex(tex) {
    var s = String(tex);
    s = s.replace(/\\begin\{[a-z]*matrix\*?\}([\s\S]*?)\\end\{[a-z]*matrix\*?\}/g, function (_, body) {
      return "[" + body.replace(/\\\\/g, ";").replace(/&/g, " ") + "]";
    });
    s = s.replace(/\\(?:begin|end)\{[^}]*\}/g, " ");
    s = s.replace(/\\mathbb\s*\{?R\}?/g, "ℝ");
    for (var f = 0; f < 2; f++) {
      s = s.replace(FONT_ARG, "$1");
    }
    s = s.replace(FONTS, "").replace(/&/g, "");
    s = s.replace(/\\(?:left|right|big|Big|bigg|Bigg)\b/g, "");
    for (var k = 0; k < 3; k++) {
      s = s.replace(/\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}/g, function (m, a, b) {
        var wrap = function (t) {
          return /^\s*[\w∂]*\s*$/.test(t) ? t.trim() : "(" + t.trim() + ")";
        };
        return wrap(a) + "/" + wrap(b);
      });
      s = s.replace(/([\^_])\{([^{}]*)\}/g, function (m, op, t) {
        return t.length === 1 ? op + t : op + "(" + t + ")";
      });
    }
    s = s.replace(/\^\s*(?:\{\s*(T|-1|2|3|n|\*|\\top)\s*\}|(T|2|3|n|\*)(?![A-Za-z0-9]))/g, function (m, a, b) {
      return SUPER[a || b];
    });
    s = s.replace(/\\([A-Za-z]+|\|)/g, function (m, name) {
      return SYMBOLS[name] !== undefined ? SYMBOLS[name] : name;
    });
    s = s.replace(/\\[,;:! ]|\\quad|\\qquad|~/g, " ");
    s = s.replace(/[{}]/g, "").replace(/\\/g, "").replace(/\s+/g, " ");
    return s.trim();
  }

  /** Text without flashcard markup: `front::back`, `front ? back`, `==cloze==`. */
  function withoutCards(text) {
    var s = text.replace(/\{\{c\d+::([^}]*)\}\}/g, "$1");
    s = s.replace(/\s:{2,3}\s|:{2,3}/g, " → ");
    s = s.replace(/(^|\s)\?{1,2}(?=\s|$)/g, "$1→");
    // a question callout's icon before its title
    s = s.replace(/(^|\s)\?(?=\S)/g, "$1");
    return s.replace(/==([^=]+)==/g, "$1");
  }

  /** The index's text with its formulas readable and its flashcard markup gone. */
  function readable(text) {
    var s = String(text || "");
    var re = /\$\$([\s\S]*?)\$\$|\$([^$]+)\$/g;
    var out = "";
    var last = 0;
    var m;
    while ((m = re.exec(s))) {
      out += withoutCards(s.slice(last, m.index));
      out += readableTex(m[1] !== undefined ? m[1] : m[2]);
      last = re.lastIndex;
    }
    out += withoutCards(s.slice(last));
    return out.replace(/\s+/g, " ").trim();
  }

  /** TeX normalised for comparison: no fonts, braces, spacing; `\top` is `T`. */
  function normTex(tex) {
    var s = String(tex);
    s = s.replace(FONTS, "");
    s = s.replace(/\\(?:left|right|big|Big|bigg|Bigg)\b/g, "");
    s = s.replace(/\\(?:top|intercal|mathsf\{T\})/g, "T");
    s = s.replace(/\\[,;:! ]|\\quad|\\qquad|~/g, "");
    s = s.replace(/[{}\s$]/g, "");
    return s;
  }

  /** The normalised formulas of a note's text, joined. */
  function formulas(text) {
    var out = [];
    String(text || "").replace(/\$\$([\s\S]*?)\$\$|\$([^$]+)\$/g, function (m, a, b) {
      out.push(normTex(a !== undefined ? a : b));
      return m;
    });
    return out.join("\u0000");
  }

  /** Whether a query is a formula rather than words. */
  function isFormula(query) {
    return /[\\^_{}=]/.test(query) || /\b[A-Za-z]\b.*\b[A-Za-z]\b/.test(query) && /[()^*+\/]/.test(query);
  }

  // ---------------------------------------------------------------------------------
  // Typos
  // ---------------------------------------------------------------------------------

  /** Edit distance (with swaps of neighbours) of a and b, or max + 1 when larger. */
  function distance(a, b, max) {
    if (Math.abs(a.length - b.length) > max) return max + 1;
    var prev2 = null;
    var prev = [];
    for (var j = 0; j <= b.length; j++) prev.push(j);
    for (var i = 1; i <= a.length; i++) {
      var row = [i];
      var best = i;
      for (j = 1; j <= b.length; j++) {
        var cost = a.charAt(i - 1) === b.charAt(j - 1) ? 0 : 1;
        var d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
        if (
          prev2 &&
          i > 1 &&
          j > 1 &&
          a.charAt(i - 1) === b.charAt(j - 2) &&
          a.charAt(i - 2) === b.charAt(j - 1)
        ) {
          d = Math.min(d, prev2[j - 2] + 1);
        }
        row.push(d);
        if (d < best) best = d;
      }
      if (best > max) return max + 1;
      prev2 = prev;
      prev = row;
    }
    return prev[b.length];
  }

  /** The edits forgiven in a word of the query. */
  function allowedEdits(word) {
    return word.length >= 8 ? 2 : word.length >= 5 ? 1 : 0;
  }

  /** The word of `tokens` closest to `word` within its allowed edits, or null. */
  function nearWord(tokens, word) {
    var max = allowedEdits(word);
    if (!max) return null;
    var found = null;
    var best = max + 1;
    for (var t in tokens) {
      // whole words, and the start of longer ones ("jacobain" finds "jacobians")
      var cands = [t];
      if (t.length > word.length) cands.push(t.slice(0, word.length));
      for (var c = 0; c < cands.length; c++) {
        var d = distance(word, cands[c], Math.min(max, best - 1));
        if (d < best) {
          best = d;
          found = cands[c];
        }
      }
      if (best === 1 && max === 1) break;
    }
    return found;
  }

  function tokensOf(parts) {
    var tokens = {};
    parts.forEach(function (p) {
      String(p)
        .split(/[^0-9a-z\u00c0-\uffff]+/)
        .forEach(function (w) {
          if (w.length >= 3) tokens[w] = true;
        });
    });
    return tokens;
  }

  function prepare(raw) {
    return (Array.isArray(raw) ? raw : []).map(function (e) {
      var headings = Array.isArray(e.h) ? e.h : [];
      var tags = Array.isArray(e.g) ? e.g : [];
      var text = readable(e.x);
      return {
        title: String(e.t || ""),
        url: String(e.u || ""),
        path: String(e.p || ""),
        text: text,
        headings: headings,
        tags: tags,
        fMath: formulas(e.x),
        tokens: null,
        fTitle: fold(e.t),
        fText: fold(text),
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

  /** The query's words, each misspelt one replaced by the note's nearest word. */
  function corrected(entry, words) {
    var out = [];
    for (var i = 0; i < words.length; i++) {
      var w = words[i];
      if (
        entry.fTitle.indexOf(w) >= 0 ||
        entry.fText.indexOf(w) >= 0 ||
        entry.fHeadings.some(function (h) {
          return h.indexOf(w) >= 0;
        }) ||
        entry.fTags.some(function (t) {
          return t.indexOf(w) >= 0;
        })
      ) {
        out.push(w);
        continue;
      }
      if (!allowedEdits(w)) return null;
      if (!entry.tokens) {
        entry.tokens = tokensOf([entry.fTitle, entry.fText].concat(entry.fHeadings, entry.fTags));
      }
      var near = nearWord(entry.tokens, w);
      if (!near) return null;
      out.push(near);
    }
    return out;
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
    if (isFormula(query)) {
      var wanted = normTex(query);
      if (wanted.length >= 2) {
        index.forEach(function (entry) {
          if (entry.fMath.indexOf(wanted) >= 0) {
            var shown = readableTex(query).toLowerCase();
            found.push({ entry: entry, score: 100, heading: -1, words: [shown] });
          }
        });
      }
      if (found.length) {
        found.sort(function (a, b) {
          return a.entry.title.localeCompare(b.entry.title);
        });
        return found.slice(0, MAX_RESULTS);
      }
    }
    index.forEach(function (entry) {
      var s = score(entry, words);
      if (s) {
        found.push({ entry: entry, score: s.score, heading: s.heading, words: words });
        return;
      }
      var fixed = corrected(entry, words);
      s = fixed && score(entry, fixed);
      if (s) {
        // a misspelt match ranks below every exact one
        found.push({ entry: entry, score: s.score / 4, heading: s.heading, words: fixed });
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
