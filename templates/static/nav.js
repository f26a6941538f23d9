/* notebuild: reading aids on every page.
 *
 * - The theme toggle (automatic → light → dark), remembered in localStorage across
 *   pages (base.html applies the choice before the first paint).
 * - Verdict badges: a click, Enter or Space opens a badge's details in place — a
 *   popover kept inside the viewport, or on a narrow screen a panel under the formula —
 *   with a link to the identity's entry in checks.html. A link to a badge (the note's
 *   header links to each) opens it too.
 * - On note pages: the explorer (the folder tree, the current note marked, folders
 *   collapsible), the graph of the note's neighbours, and the table of contents
 *   marking the section in view. On graph.html: the graph of every note.
 * - Hover previews of links to other notes.
 *
 * The data comes from scripts, not fetch() (which browsers refuse for local files):
 * static/nav-data.js (`window.notebuildNav`: the notes in reading order, their folder,
 * the links) and static/previews.js (`window.notebuildPreviews`), loaded on demand.
 * Self-contained: no other script, no network.
 */
(function () {
  "use strict";

  var THEME_KEY = "notebuild.theme";
  var EXPLORER_KEY = "notebuild.explorer";
  var NARROW = 640;
  var SVG = "http://www.w3.org/2000/svg";
  var root = (document.body && document.body.getAttribute("data-root")) || "";
  document.documentElement.classList.add("js");

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      node.setAttribute(k, attrs[k]);
    });
    return node;
  }

  var loaded = {};
  /** Loads a data script once; `then` runs when it is there (or failed). */
  function loadScript(path, variable, then) {
    if (window[variable] !== undefined) {
      then(window[variable]);
      return;
    }
    var waiting = loaded[path];
    if (waiting) {
      waiting.push(then);
      return;
    }
    loaded[path] = [then];
    var script = document.createElement("script");
    script.src = root + path;
    function done() {
      var queue = loaded[path] || [];
      loaded[path] = null;
      queue.forEach(function (f) {
        f(window[variable]);
      });
    }
    script.onload = done;
    script.onerror = done;
    document.head.appendChild(script);
  }

  /** The site-relative path of an absolute URL of this site, or null. */
  function sitePath(href) {
    try {
      var base = new URL(root || "./", location.href);
      var url = new URL(href, location.href);
      if (url.protocol !== base.protocol || url.host !== base.host) return null;
      if (url.pathname.indexOf(base.pathname) !== 0) return null;
      return decodeURIComponent(url.pathname.slice(base.pathname.length));
    } catch (e) {
      return null;
    }
  }

  /** Places `box` (position: absolute in the page) next to `anchor`, inside the viewport. */
  function placeNear(box, anchor) {
    var margin = 8;
    var r = anchor.getBoundingClientRect();
    var vw = document.documentElement.clientWidth;
    var vh = window.innerHeight;
    box.style.maxWidth = Math.max(160, vw - 2 * margin) + "px";
    var w = box.offsetWidth;
    var h = box.offsetHeight;
    var left = Math.min(Math.max(margin, r.left + r.width / 2 - w / 2), vw - w - margin);
    var top = r.bottom + 6;
    if (top + h > vh - margin && r.top - h - 6 > margin) top = r.top - h - 6;
    box.style.left = Math.max(margin, left) + window.scrollX + "px";
    box.style.top = top + window.scrollY + "px";
  }

  // ---------------------------------------------------------------------------------
  // Theme
  // ---------------------------------------------------------------------------------

  function initTheme() {
    var button = document.querySelector(".theme-toggle");
    if (!button) return;
    var names = { auto: "automatic (follows the system)", light: "light", dark: "dark" };
    var icons = { auto: "◐", light: "☀", dark: "☾" };
    function current() {
      var t = document.documentElement.getAttribute("data-theme");
      return t === "light" || t === "dark" ? t : "auto";
    }
    function show() {
      var t = current();
      button.setAttribute("aria-label", "Theme: " + names[t]);
      button.title = "Theme: " + names[t] + ". Click to change.";
      var icon = button.querySelector(".theme-icon");
      if (icon) icon.textContent = icons[t];
    }
    button.hidden = false;
    show();
    button.addEventListener("click", function () {
      var next = { auto: "light", light: "dark", dark: "auto" }[current()];
      if (next === "auto") {
        document.documentElement.removeAttribute("data-theme");
      } else {
        document.documentElement.setAttribute("data-theme", next);
      }
      try {
        if (next === "auto") localStorage.removeItem(THEME_KEY);
        else localStorage.setItem(THEME_KEY, next);
      } catch (e) {
        /* private mode: the choice lasts for this page */
      }
      show();
    });
  }

  // ---------------------------------------------------------------------------------
  // Badge details
  // ---------------------------------------------------------------------------------

  var openBadge = null;
  var openPanel = null;

  function closeBadge(returnFocus) {
    if (!openBadge) return;
    var badge = openBadge;
    openBadge.setAttribute("aria-expanded", "false");
    openBadge.classList.remove("badge-open");
    if (openPanel && openPanel.parentNode) openPanel.parentNode.removeChild(openPanel);
    openBadge = null;
    openPanel = null;
    if (returnFocus && badge.getAttribute("tabindex") === "0") badge.focus();
  }

  function openBadgeDetails(badge) {
    if (openBadge === badge) return;
    closeBadge(false);
    var detail = badge.querySelector(".badge-detail");
    if (!detail) return;
    var narrow = document.documentElement.clientWidth < NARROW;
    var panel = el("div", narrow ? "badge-panel" : "badge-pop");
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", badge.getAttribute("aria-label") || "Check");
    var body = el("div", "badge-pop-body");
    body.innerHTML = detail.innerHTML;
    panel.appendChild(body);
    var foot = el("div", "badge-pop-foot");
    var report = badge.getAttribute("data-report");
    if (report) {
      var link = el("a", "badge-pop-report", "See it in the report →");
      link.href = root + "checks.html#" + report;
      foot.appendChild(link);
    }
    var close = el("button", "badge-pop-close", "Close");
    close.type = "button";
    close.addEventListener("click", function () {
      closeBadge(true);
    });
    foot.appendChild(close);
    panel.appendChild(foot);
    badge.classList.add("badge-open");
    badge.setAttribute("aria-expanded", "true");
    if (narrow) {
      // under the formula (or the paragraph or list item holding the badge)
      var block =
        badge.closest(".math-row, .quiz-badges, .flashcard-badges, p, li, td, .callout-content") ||
        badge.parentNode;
      block.parentNode.insertBefore(panel, block.nextSibling);
    } else {
      document.body.appendChild(panel);
      placeNear(panel, badge);
    }
    openBadge = badge;
    openPanel = panel;
  }

  function initBadges() {
    var badges = document.querySelectorAll(".badge[data-report]");
    if (!badges.length) return;
    document.addEventListener("click", function (e) {
      var badge = e.target.closest && e.target.closest(".badge[data-report]");
      if (badge) {
        e.preventDefault();
        if (openBadge === badge) closeBadge(false);
        else openBadgeDetails(badge);
        return;
      }
      if (openPanel && !openPanel.contains(e.target)) closeBadge(false);
    });
    document.addEventListener("keydown", function (e) {
      var badge = e.target.closest && e.target.closest(".badge[data-report]");
      if (badge && (e.key === "Enter" || e.key === " ")) {
        e.preventDefault();
        if (openBadge === badge) {
          closeBadge(true);
        } else {
          openBadgeDetails(badge);
          // from the keyboard, the details come next: their link, then Close
          var first = openPanel && openPanel.querySelector("a, button");
          if (first) first.focus();
        }
      } else if (e.key === "Escape" && openBadge) {
        closeBadge(true);
      }
    });
    window.addEventListener("resize", function () {
      if (openPanel && openPanel.className === "badge-pop") placeNear(openPanel, openBadge);
    });
    function fromHash() {
      var id = decodeURIComponent(location.hash.slice(1));
      var target = id && document.getElementById(id);
      if (target && target.matches(".badge[data-report]")) {
        openBadgeDetails(target);
        if (target.getAttribute("tabindex") === "0") target.focus({ preventScroll: true });
      }
    }
    window.addEventListener("hashchange", fromHash);
    fromHash();
  }

  // ---------------------------------------------------------------------------------
  // Explorer
  // ---------------------------------------------------------------------------------

  function initExplorer(nav, current) {
    var box = document.querySelector(".explorer");
    var tree = box && box.querySelector(".explorer-tree");
    if (!box || !tree || !nav || !Array.isArray(nav.p)) return;
    var folders = {};
    var top = { list: el("ul", "explorer-list"), path: "", notes: [], subs: [] };
    folders[""] = top;
    function folder(path) {
      if (folders[path]) return folders[path];
      var cut = path.lastIndexOf("/");
      var parent = folder(cut < 0 ? "" : path.slice(0, cut));
      var f = { name: path.slice(cut + 1), path: path, notes: [], subs: [] };
      folders[path] = f;
      parent.subs.push(f);
      return f;
    }
    nav.p.forEach(function (p, k) {
      folder(String(p.f || "")).notes.push(k);
    });
    var currentFolder = null;
    function build(f, list) {
      f.notes.forEach(function (k) {
        var p = nav.p[k];
        var li = el("li", "explorer-note");
        var a = el("a", null, String(p.t));
        a.href = root + p.u;
        if (k === current) {
          a.setAttribute("aria-current", "page");
          currentFolder = f.path;
        }
        li.appendChild(a);
        list.appendChild(li);
      });
      f.subs.forEach(function (s) {
        var li = el("li", "explorer-folder");
        var details = el("details");
        details.setAttribute("data-folder", s.path);
        var summary = el("summary", null, s.name);
        details.appendChild(summary);
        var sub = el("ul", "explorer-list");
        build(s, sub);
        details.appendChild(sub);
        li.appendChild(details);
        list.appendChild(li);
      });
    }
    build(top, top.list);
    tree.appendChild(top.list);
    // The folders the reader opened or closed stay so on every page; the others are
    // open when they hold the current note (all of them in a small vault).
    var saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(EXPLORER_KEY) || "{}") || {};
    } catch (e) {
      saved = {};
    }
    var small = nav.p.length <= 40;
    Array.prototype.forEach.call(tree.querySelectorAll("details[data-folder]"), function (d) {
      var path = d.getAttribute("data-folder");
      var holdsCurrent =
        currentFolder !== null && (currentFolder === path || currentFolder.indexOf(path + "/") === 0);
      if (holdsCurrent || (Object.prototype.hasOwnProperty.call(saved, path) ? saved[path] === true : small)) {
        d.open = true;
      }
      // the reader's own clicks (Enter and Space on the summary click it too), not the
      // opening above
      d.firstChild.addEventListener("click", function () {
        saved[path] = !d.open;
        try {
          localStorage.setItem(EXPLORER_KEY, JSON.stringify(saved));
        } catch (e) {
          /* not kept: the choice lasts for this page */
        }
      });
    });
    box.hidden = false;
    var mark = tree.querySelector('[aria-current="page"]');
    if (mark && mark.scrollIntoView && tree.scrollHeight > tree.clientHeight) {
      mark.scrollIntoView({ block: "nearest" });
    }
  }

  // ---------------------------------------------------------------------------------
  // Graphs
  // ---------------------------------------------------------------------------------

  /** Lays out nodes with a small force simulation (grid-bounded repulsion, springs). */
  function layout(nodes, edges, iterations, spring) {
    var n = nodes.length;
    var i;
    for (i = 0; i < n; i++) {
      var a = (i / Math.max(1, n)) * Math.PI * 2 * 7.1;
      var r = 30 * Math.sqrt(i + 1);
      nodes[i].x = nodes[i].x !== undefined ? nodes[i].x : Math.cos(a) * r;
      nodes[i].y = nodes[i].y !== undefined ? nodes[i].y : Math.sin(a) * r;
      nodes[i].vx = 0;
      nodes[i].vy = 0;
    }
    var cut = 180;
    for (var it = 0; it < iterations; it++) {
      var alpha = 1 - it / iterations;
      var grid = {};
      for (i = 0; i < n; i++) {
        var key = Math.floor(nodes[i].x / cut) + "," + Math.floor(nodes[i].y / cut);
        (grid[key] = grid[key] || []).push(i);
      }
      for (i = 0; i < n; i++) {
        var p = nodes[i];
        var gx = Math.floor(p.x / cut);
        var gy = Math.floor(p.y / cut);
        for (var dx = -1; dx <= 1; dx++) {
          for (var dy = -1; dy <= 1; dy++) {
            var cell = grid[gx + dx + "," + (gy + dy)];
            if (!cell) continue;
            for (var c = 0; c < cell.length; c++) {
              var j = cell[c];
              if (j <= i) continue;
              var q = nodes[j];
              var ddx = p.x - q.x;
              var ddy = p.y - q.y;
              var d2 = ddx * ddx + ddy * ddy;
              if (d2 > cut * cut) continue;
              if (d2 < 0.01) {
                ddx = Math.random() - 0.5;
                ddy = Math.random() - 0.5;
                d2 = 0.5;
              }
              var f = (1600 * alpha) / d2;
              p.vx += ddx * f;
              p.vy += ddy * f;
              q.vx -= ddx * f;
              q.vy -= ddy * f;
            }
          }
        }
      }
      edges.forEach(function (e) {
        var s = nodes[e[0]];
        var t = nodes[e[1]];
        var ex = t.x - s.x;
        var ey = t.y - s.y;
        var d = Math.sqrt(ex * ex + ey * ey) || 1;
        var k = ((d - spring) / d) * 0.05 * alpha;
        s.vx += ex * k;
        s.vy += ey * k;
        t.vx -= ex * k;
        t.vy -= ey * k;
      });
      for (i = 0; i < n; i++) {
        var m = nodes[i];
        m.vx -= m.x * 0.01 * alpha;
        m.vy -= m.y * 0.01 * alpha;
        if (m.fixed) {
          m.vx = 0;
          m.vy = 0;
        }
        m.x += Math.max(-30, Math.min(30, m.vx));
        m.y += Math.max(-30, Math.min(30, m.vy));
        m.vx *= 0.5;
        m.vy *= 0.5;
      }
    }
  }

  /**
   * Draws a graph into `box`: `nodes` ({t, u, current}), `edges` (index pairs). Labels
   * show when the graph is small or the node is hovered; drag pans, the wheel zooms.
   */
  function drawGraph(box, nodes, edges, opts) {
    var iterations = nodes.length > 1500 ? 60 : nodes.length > 400 ? 120 : 250;
    layout(nodes, edges, iterations, opts.spring || 80);
    var minX = Infinity;
    var minY = Infinity;
    var maxX = -Infinity;
    var maxY = -Infinity;
    nodes.forEach(function (p) {
      minX = Math.min(minX, p.x);
      minY = Math.min(minY, p.y);
      maxX = Math.max(maxX, p.x);
      maxY = Math.max(maxY, p.y);
    });
    // room for the labels, which stand out to both sides of their dot
    var pad = 40;
    var padX = 110;
    var view = {
      x: minX - padX,
      y: minY - pad,
      w: Math.max(200, maxX - minX + 2 * padX),
      h: Math.max(160, maxY - minY + 2 * pad),
    };
    // keep the box's proportions, the drawing centred
    var aspect = (box.clientHeight || 200) / Math.max(1, box.clientWidth || 300);
    if (view.h / view.w < aspect) {
      var h = view.w * aspect;
      view.y -= (h - view.h) / 2;
      view.h = h;
    } else {
      var w = view.h / aspect;
      view.x -= (w - view.w) / 2;
      view.w = w;
    }
    var graph = svg("svg", { class: "graph", role: "img" });
    graph.setAttribute("aria-label", opts.label);
    function setView() {
      graph.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" "));
    }
    setView();
    var lines = svg("g", { class: "graph-edges" });
    edges.forEach(function (e) {
      var s = nodes[e[0]];
      var t = nodes[e[1]];
      lines.appendChild(
        svg("line", { x1: s.x, y1: s.y, x2: t.x, y2: t.y, "data-a": e[0], "data-b": e[1] })
      );
    });
    graph.appendChild(lines);
    var degree = nodes.map(function () {
      return 0;
    });
    edges.forEach(function (e) {
      degree[e[0]]++;
      degree[e[1]]++;
    });
    var showLabels = nodes.length <= (opts.labels || 40);
    // one screen pixel in the drawing's units: labels and dots keep their size on screen
    var scale = view.w / Math.max(120, box.clientWidth || 600);
    var layer = svg("g", { class: "graph-nodes" });
    nodes.forEach(function (p, k) {
      var a = svg("a", { href: root + p.u, class: "graph-node" + (p.current ? " is-current" : "") });
      // a large graph is no list of tab stops: the explorer and the index list the notes
      if (nodes.length > 60) a.setAttribute("tabindex", "-1");
      var title = svg("title");
      title.textContent = p.t;
      a.appendChild(title);
      a.appendChild(
        svg("circle", { cx: p.x, cy: p.y, r: (3 + Math.min(5, Math.sqrt(degree[k]) * 1.2)) * scale })
      );
      // above the dot in the upper half, below it in the lower half: fewer overlaps
      var below = p.y > (minY + maxY) / 2;
      var label = svg("text", {
        x: p.x,
        y: below ? p.y + 17 * scale : p.y - 9 * scale,
        "text-anchor": "middle",
        "font-size": 11 * scale,
        class: showLabels || p.current ? "" : "graph-label-hover",
      });
      var max = opts.maxLabel || 28;
      label.textContent = p.t.length > max ? p.t.slice(0, max - 1) + "…" : p.t;
      a.appendChild(label);
      a.addEventListener("mouseenter", function () {
        Array.prototype.forEach.call(lines.childNodes, function (l) {
          var hit = l.getAttribute("data-a") === String(k) || l.getAttribute("data-b") === String(k);
          l.classList.toggle("is-lit", hit);
        });
      });
      layer.appendChild(a);
    });
    graph.appendChild(layer);
    box.textContent = "";
    box.appendChild(graph);
    if (!opts.zoom) return;
    // pan and zoom by changing the viewBox
    var drag = null;
    graph.addEventListener("pointerdown", function (e) {
      if (e.target.closest && e.target.closest("a")) return;
      drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y };
      graph.setPointerCapture(e.pointerId);
    });
    graph.addEventListener("pointermove", function (e) {
      if (!drag) return;
      var k = view.w / graph.clientWidth;
      view.x = drag.vx - (e.clientX - drag.x) * k;
      view.y = drag.vy - (e.clientY - drag.y) * k;
      setView();
    });
    graph.addEventListener("pointerup", function () {
      drag = null;
    });
    graph.addEventListener(
      "wheel",
      function (e) {
        e.preventDefault();
        var f = e.deltaY > 0 ? 1.15 : 1 / 1.15;
        var rect = graph.getBoundingClientRect();
        var px = view.x + ((e.clientX - rect.left) / rect.width) * view.w;
        var py = view.y + ((e.clientY - rect.top) / rect.height) * view.h;
        view.w *= f;
        view.h *= f;
        view.x = px - ((e.clientX - rect.left) / rect.width) * view.w;
        view.y = py - ((e.clientY - rect.top) / rect.height) * view.h;
        graph.classList.toggle("is-zoomed", view.w < 700);
        setView();
      },
      { passive: false }
    );
  }

  function initLocalGraph(nav, current) {
    var box = document.getElementById("nb-local-graph");
    if (!box || current < 0) return;
    var near = {};
    near[current] = 0;
    nav.l.forEach(function (e) {
      if (e[0] === current && near[e[1]] === undefined) near[e[1]] = 1;
      if (e[1] === current && near[e[0]] === undefined) near[e[0]] = 1;
    });
    var ids = Object.keys(near).map(Number);
    if (ids.length < 2) return;
    var index = {};
    var nodes = ids.map(function (id, k) {
      index[id] = k;
      var p = nav.p[id];
      return { t: String(p.t), u: String(p.u), current: id === current };
    });
    nodes[index[current]].x = 0;
    nodes[index[current]].y = 0;
    nodes[index[current]].fixed = true;
    var edges = nav.l
      .filter(function (e) {
        return index[e[0]] !== undefined && index[e[1]] !== undefined;
      })
      .map(function (e) {
        return [index[e[0]], index[e[1]]];
      });
    var section = box.closest(".local-graph");
    if (section) section.hidden = false;
    drawGraph(box, nodes, edges, {
      label: "Graph of the notes linked with this one",
      labels: 8,
      maxLabel: 18,
      spring: nodes.length < 4 ? 160 : 110,
    });
  }

  function initGlobalGraph(nav) {
    var box = document.getElementById("nb-graph");
    if (!box) return;
    var nodes = nav.p.map(function (p) {
      return { t: String(p.t), u: String(p.u) };
    });
    drawGraph(box, nodes, nav.l, { label: "Graph of every note", labels: 60, zoom: true });
  }

  function initNav() {
    var page = document.querySelector("[data-page]");
    var needsData = page || document.getElementById("nb-graph");
    if (!needsData) return;
    loadScript("static/nav-data.js", "notebuildNav", function (nav) {
      if (!nav || !Array.isArray(nav.p) || !Array.isArray(nav.l)) return;
      var current = -1;
      if (page) {
        var url = page.getAttribute("data-page");
        for (var k = 0; k < nav.p.length; k++) {
          if (nav.p[k].u === url) {
            current = k;
            break;
          }
        }
        initExplorer(nav, current);
        initLocalGraph(nav, current);
      }
      initGlobalGraph(nav);
    });
  }

  // ---------------------------------------------------------------------------------
  // Link previews
  // ---------------------------------------------------------------------------------

  function initPreviews() {
    var box = null;
    var decoded = null;
    var showTimer = null;
    var hideTimer = null;
    var over = null;
    function hide() {
      if (box && box.parentNode) box.parentNode.removeChild(box);
      box = null;
    }
    function show(link) {
      var path = sitePath(link.href);
      if (!path) return;
      loadScript("static/previews.js", "notebuildPreviews", function (all) {
        if (over !== link || !all) return;
        if (!decoded) {
          // the data's keys are percent-encoded as the pages' addresses are
          decoded = {};
          Object.keys(all).forEach(function (key) {
            try {
              decoded[decodeURIComponent(key)] = all[key];
            } catch (e) {
              decoded[key] = all[key];
            }
          });
        }
        var entry = decoded[path];
        if (!entry) return;
        hide();
        box = el("div", "link-preview");
        box.setAttribute("role", "tooltip");
        box.appendChild(el("div", "link-preview-title", String(entry[0])));
        var body = el("div", "link-preview-body");
        body.innerHTML = String(entry[1] || "");
        box.appendChild(body);
        box.addEventListener("mouseenter", function () {
          clearTimeout(hideTimer);
        });
        box.addEventListener("mouseleave", function () {
          hideTimer = setTimeout(hide, 200);
        });
        document.body.appendChild(box);
        placeNear(box, link);
      });
    }
    // a mouse only: a tap on a phone follows the link
    document.addEventListener("pointerover", function (e) {
      if (e.pointerType !== "mouse" && e.pointerType !== "pen") return;
      var link = e.target.closest && e.target.closest("a.internal-link:not(.is-unresolved), .explorer a, .prev-next a");
      if (!link || link === over) return;
      over = link;
      clearTimeout(showTimer);
      clearTimeout(hideTimer);
      showTimer = setTimeout(function () {
        show(link);
      }, 250);
    });
    document.addEventListener("pointerout", function (e) {
      var link = e.target.closest && e.target.closest("a");
      if (!link || link !== over) return;
      if (e.relatedTarget && link.contains(e.relatedTarget)) return;
      over = null;
      clearTimeout(showTimer);
      hideTimer = setTimeout(hide, 200);
    });
  }

  // ---------------------------------------------------------------------------------
  // Table of contents: the section in view
  // ---------------------------------------------------------------------------------

  function initToc() {
    var links = document.querySelectorAll(".toc-list a[href^='#']");
    if (!links.length) return;
    var headings = [];
    var seen = {};
    Array.prototype.forEach.call(links, function (a) {
      var id = decodeURIComponent(a.getAttribute("href").slice(1));
      if (seen[id]) return;
      seen[id] = true;
      var h = document.getElementById(id);
      if (h) headings.push(h);
    });
    var active = null;
    var pending = false;
    function update() {
      pending = false;
      var line = Math.min(140, window.innerHeight * 0.3);
      var now = null;
      for (var i = 0; i < headings.length; i++) {
        if (headings[i].getBoundingClientRect().top <= line) now = headings[i];
        else break;
      }
      if (!now && headings.length) now = headings[0];
      var id = now ? now.id : null;
      if (id === active) return;
      active = id;
      Array.prototype.forEach.call(links, function (a) {
        var on = decodeURIComponent(a.getAttribute("href").slice(1)) === id;
        a.classList.toggle("is-active", on);
        if (on) a.setAttribute("aria-current", "location");
        else a.removeAttribute("aria-current");
      });
    }
    window.addEventListener(
      "scroll",
      function () {
        if (!pending) {
          pending = true;
          requestAnimationFrame(update);
        }
      },
      { passive: true }
    );
    update();
  }

  // ---------------------------------------------------------------------------------
  // Due and new cards, beside the Quiz link and each deck
  // ---------------------------------------------------------------------------------

  function pad2(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function initQuizCounts() {
    var link = document.querySelector(".site-nav a[href$='quiz/index.html']");
    if (!link) return;
    loadScript("static/cards-data.js", "notebuildCards", function (list) {
      if (!Array.isArray(list)) return;
      var history = {};
      try {
        var stored = JSON.parse(localStorage.getItem("notebuild.quiz.v1") || "null");
        if (stored && stored.cards && typeof stored.cards === "object") history = stored.cards;
      } catch (e) {
        /* no history readable: the notes' schedules alone */
      }
      var now = new Date();
      var today = now.getFullYear() + "-" + pad2(now.getMonth() + 1) + "-" + pad2(now.getDate());
      var decks = {};
      var total = { due: 0, fresh: 0 };
      list.forEach(function (c) {
        if (!Array.isArray(c)) return;
        var entry = Object.prototype.hasOwnProperty.call(history, c[0]) ? history[c[0]] : null;
        var due = entry && typeof entry.due === "string" ? entry.due : String(c[2] || "");
        due = /^\d{4}-\d{2}-\d{2}/.test(due) && due.slice(0, 10) !== "2000-01-01" ? due.slice(0, 10) : "";
        var kind = !due ? "fresh" : due <= today ? "due" : null;
        if (!kind) return;
        total[kind]++;
        // the card counts for its deck and every deck above it
        var parts = String(c[1] || "").toLowerCase().split("/");
        for (var k = 1; k <= parts.length; k++) {
          var key = parts.slice(0, k).join("/");
          var d = (decks[key] = decks[key] || { due: 0, fresh: 0 });
          d[kind]++;
        }
      });
      function label(c) {
        var parts = [];
        if (c.due) parts.push(c.due + " due");
        if (c.fresh) parts.push(c.fresh + " new");
        return parts.join(" · ");
      }
      if (total.due + total.fresh > 0) {
        var badge = el("span", "nav-count", String(total.due + total.fresh));
        badge.title = label(total) + " today";
        badge.setAttribute("aria-label", label(total) + " today");
        link.appendChild(document.createTextNode(" "));
        link.appendChild(badge);
      }
      Array.prototype.forEach.call(document.querySelectorAll(".quiz-deck-list a"), function (a) {
        var name = a.getAttribute("title");
        var c = name === null ? total : decks[name.toLowerCase()];
        if (!c || c.due + c.fresh === 0) return;
        var li = a.parentNode;
        li.appendChild(el("span", "deck-due", label(c)));
      });
    });
  }

  // ---------------------------------------------------------------------------------
  // Formulas wider than the column: say that they scroll
  // ---------------------------------------------------------------------------------

  function markWideFormulas() {
    Array.prototype.forEach.call(document.querySelectorAll(".math-display"), function (m) {
      var wide = m.scrollWidth > m.clientWidth + 2;
      // under the formula, or under the row it shares with its badges
      var after = m.parentNode.classList.contains("math-row") ? m.parentNode : m;
      var hint = after.nextElementSibling;
      var has = hint && hint.classList.contains("scroll-hint");
      if (wide && !has) {
        hint = el("span", "scroll-hint", "⇆ wider than the screen: swipe to see all of it");
        hint.setAttribute("aria-hidden", "true");
        after.parentNode.insertBefore(hint, after.nextSibling);
      } else if (!wide && has) {
        hint.parentNode.removeChild(hint);
      }
      m.classList.toggle("is-wide", wide);
    });
  }

  function initWideFormulas() {
    markWideFormulas();
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(markWideFormulas, 150);
    });
    if (document.fonts && document.fonts.ready) document.fonts.ready.then(markWideFormulas);
  }

  function start() {
    initTheme();
    initBadges();
    initNav();
    initPreviews();
    initToc();
    initQuizCounts();
    initWideFormulas();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
