/* Review widget: seal, current average and one randomly chosen rating (R28).
 * No dependencies, no cookies, no storage, no tracking, no requests of its own: everything it
 * shows arrives in `data`. Text goes in with textContent only, never as HTML (AU-8, IN-5).
 * Without JavaScript (or if anything here fails) the container keeps its plain link. */
(function (data) {
  "use strict";
  var script = document.currentScript;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function format(template, values) {
    return String(template).replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function language(host) {
    var wanted = data.lang || host.getAttribute("data-lang") ||
      document.documentElement.getAttribute("lang") || navigator.language || "en";
    wanted = String(wanted).slice(0, 2).toLowerCase();
    return Object.prototype.hasOwnProperty.call(data.strings, wanted) ? wanted : "en";
  }

  function number(t, value) {
    return String(value).replace(".", t.decimal);
  }

  function stars(value, label) {
    var row = el("span", "stars");
    row.setAttribute("role", "img");
    row.setAttribute("aria-label", label);
    row.appendChild(el("span", "bg", "\u2605\u2605\u2605\u2605\u2605")).setAttribute("aria-hidden", "true");
    var filled = el("span", "fg", "\u2605\u2605\u2605\u2605\u2605");
    filled.setAttribute("aria-hidden", "true");
    filled.style.width = Math.max(0, Math.min(100, (Number(value) / 5) * 100)) + "%";
    row.appendChild(filled);
    return row;
  }

  function style(root) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(data.css);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      root.appendChild(el("style", null, data.css));
    }
  }

  function link(text) {
    var a = el("a", null, text);
    a.href = data.url;
    a.target = "_blank";
    a.rel = "noopener";
    return a;
  }

  function seal(t) {
    var badge = el("div", "seal tier-" + data.tier);
    badge.setAttribute("role", "img");
    badge.setAttribute("aria-label", t["tier_" + data.tier]);
    badge.appendChild(el("span", "icon", "\u2605")).setAttribute("aria-hidden", "true");
    badge.appendChild(el("span", "name", t["tier_short_" + data.tier])).setAttribute("aria-hidden", "true");
    return badge;
  }

  function score(t) {
    var box = el("div", "score");
    if (data.average === null) {
      box.appendChild(el("div", "count", t.no_reviews));
      return box;
    }
    var avg = el("div", "avg", number(t, data.average));
    avg.appendChild(el("span", "of", "/5"));
    box.appendChild(avg);
    box.appendChild(stars(data.average, format(t.out_of_five, { value: number(t, data.average) })));
    var counted = data.count === 1 ? t.reviews_one : t.reviews_many;
    box.appendChild(el("div", "count", format(counted, { count: data.count })));
    return box;
  }

  function review(t) {
    if (!data.reviews.length) return null;
    var chosen = data.reviews[Math.floor(Math.random() * data.reviews.length)];
    var box = el("figure", "review");
    box.appendChild(el("blockquote", null, chosen.comment));
    var by = el("figcaption", "by");
    by.appendChild(stars(chosen.rating, format(t.out_of_five, { value: chosen.rating })));
    by.appendChild(el("span", "verified", t.verified));
    by.appendChild(el("span", null, chosen.date));
    box.appendChild(by);
    return box;
  }

  function content(t, lang) {
    if (!data.available) return el("p", "plain", t.not_available);
    var box = el("section", "w");
    box.setAttribute("aria-label", format(data.product ? t.product_reviews_of : t.reviews_of,
      { shop: data.shop, product: data.product || "" }));
    box.setAttribute("lang", lang);
    if (data.product) box.appendChild(el("p", "product", data.product));
    var top = el("div", "top");
    if (data.tier) top.appendChild(seal(t));
    top.appendChild(score(t));
    box.appendChild(top);
    var quote = review(t);
    if (quote) box.appendChild(quote);
    var foot = el("div", "foot");
    foot.appendChild(el("span", null, format(t.status_as_of, { date: data.as_of })));
    foot.appendChild(link(t.read_all));
    box.appendChild(foot);
    return box;
  }

  function render(host) {
    var lang = language(host);
    // Built before the shadow root exists: if anything fails, the plain link stays visible.
    var node = content(data.strings[lang], lang);
    var root = host.attachShadow({ mode: "open" });
    style(root);
    root.appendChild(node);
  }

  function hosts() {
    var found = [];
    var nodes = document.querySelectorAll("[data-review-widget]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.shadowRoot || node.getAttribute("data-review-widget") !== data.slug) continue;
      if ((node.getAttribute("data-product-id") || "") !== (data.product_id || "")) continue;
      found.push(node);
    }
    if (!found.length && script && script.parentNode) {
      var host = document.createElement("div");
      script.parentNode.insertBefore(host, script.nextSibling);
      found.push(host);
    }
    return found;
  }

  function start() {
    var list = hosts();
    for (var i = 0; i < list.length; i++) {
      try { render(list[i]); } catch (e) { /* the plain link stays */ }
    }
  }

  if (!("attachShadow" in Element.prototype)) return;
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})
