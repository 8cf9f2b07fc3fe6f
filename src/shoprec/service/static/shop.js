// The shop page's behaviour: pick a shopper, show the feed, send events, search, profile.
// Plain DOM calls only; text goes in through textContent so catalogue text is never markup.
// Every UI string goes through _() (a msgid of the gettext catalogs in service/locales/, found
// by `make i18n`); the page carries this language's texts in the JSON block #i18n.
"use strict";

const I18N = JSON.parse(document.getElementById("i18n").textContent || "{}");

// The text of msgid `message` in the page's language, with %(name)s filled from `fields`.
function _(message, fields) {
  const text = (I18N.messages && I18N.messages[message]) || message;
  return fill(text, fields);
}

function fill(text, fields) {
  return text.replace(/%\((\w+)\)s/g, (whole, name) =>
    fields && fields[name] !== undefined ? String(fields[name]) : whole);
}

// A reason from the API ("Because you bought “X”") in the page's language: matched against the
// English wordings of service/reasons.py, the translation filled with the same product data.
function localizeReason(reason) {
  for (const [wording, translated] of Object.entries(I18N.reasons || {})) {
    const names = [];
    const source = wording.split(/%\((\w+)\)s/).map((part, n) => {
      if (n % 2) { names.push(part); return "([\\s\\S]+?)"; }
      return part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }).join("");
    const found = new RegExp("^" + source + "$").exec(reason);
    if (found) return fill(translated, Object.fromEntries(names.map((k, i) => [k, found[i + 1]])));
  }
  return reason;
}

const FEED_SIZE = 12;
const EVENT_LABELS = { view: _("views"), click: _("clicks"), cart: _("in cart"),
                       purchase: _("bought"), rating: _("ratings"), review: _("reviews"),
                       dismiss: _("not for me"), interaction: _("interactions") };
const ACTIVITY = { new: _("new shopper"), occasional: _("occasional shopper"),
                   regular: _("regular shopper"), frequent: _("frequent shopper"),
                   dormant: _("dormant shopper") };
const PRICE_BANDS = { budget: _("budget prices"), "mid-range": _("mid-range prices"),
                      "upper mid-range": _("upper mid-range prices"), premium: _("premium prices") };
const select = document.getElementById("shopper-select");
const feed = document.getElementById("feed");

// A shopper's own data (profile, explained feed) and their events need their token: a demo
// shopper's comes in the page, a new visitor gets a random id and its token from POST /visitors
// once.
const VISITOR_KEY = "shoprec-visitor-token";
let starting = null;  // one POST /visitors at a time, however many parts of the page ask

function storedVisitor() {
  try { return JSON.parse(localStorage.getItem(VISITOR_KEY) || "null"); } catch (e) { return null; }
}

async function startVisit() {
  const response = await fetch("/visitors", { method: "POST" });
  if (!response.ok) throw new Error(_("could not start a visit"));
  const visitor = await response.json();
  localStorage.setItem(VISITOR_KEY, JSON.stringify(visitor));
  return visitor;
}

async function currentShopper() {
  const option = select.selectedOptions[0];
  if (select.value) return { id: select.value, token: option.dataset.token };
  let visitor = storedVisitor();
  if (!visitor || !visitor.user_id || !visitor.token) {
    starting = starting || startVisit().finally(() => { starting = null; });
    visitor = await starting;
  }
  return { id: visitor.user_id, token: visitor.token };
}

// `request(shopper)` as the current shopper; a visitor's stored token ends when the visitor is
// deleted (or the shop's key changes), so on 401 a visitor starts a new visit once and retries.
async function asShopper(request) {
  const shopper = await currentShopper();
  let response = await request(shopper);
  if (response.status === 401 && !select.value) {
    const stored = storedVisitor();
    if (stored && stored.token === shopper.token) localStorage.removeItem(VISITOR_KEY);
    response = await request(await currentShopper());
  }
  return response;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function hue(text) {
  let h = 0;
  for (const ch of text || "") h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

function itemLink(id) {
  return "/shop/items/" + encodeURIComponent(id);
}

function toast(message, bad) {
  const t = document.getElementById("toast");
  t.textContent = message;
  t.className = "toast show" + (bad ? " bad" : "");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = "toast"; }, 2200);
}

const IMAGE_COLUMNS = ["image_url", "image", "imUrl"];

function imageOf(item) {
  const attributes = item.attributes || {};
  for (const column of IMAGE_COLUMNS) {
    const url = attributes[column];
    if (typeof url === "string" && /^https?:\/\//.test(url)) return url;
  }
  return null;
}

// The product's picture inside its placeholder: shown once it has loaded; if it fails (host
// unreachable, blocked, broken) it is removed and the placeholder letter stays.
function addImage(thumb, url) {
  if (!url) return;
  const img = document.createElement("img");
  img.alt = "";
  img.loading = "lazy";
  img.decoding = "async";
  img.referrerPolicy = "no-referrer";
  img.addEventListener("load", () => thumb.classList.add("has-image"));
  img.addEventListener("error", () => { img.remove(); thumb.classList.remove("has-image"); });
  img.src = url;
  thumb.appendChild(img);
}

function itemTitle(item) {
  return item.title || _("Item %(id)s", { id: item.item_id });
}

function card(item) {
  const title = itemTitle(item);
  const c = el("div", "card");
  c.dataset.itemId = item.item_id;
  const thumb = el("a", "thumb");
  thumb.appendChild(el("span", "thumb-letter", title.slice(0, 1).toUpperCase()));
  thumb.href = itemLink(item.item_id);
  thumb.style.background = `hsl(${hue(item.category || title)}, 45%, 88%)`;
  thumb.setAttribute("aria-hidden", "true");
  addImage(thumb, imageOf(item));
  c.appendChild(thumb);
  if (item.category) c.appendChild(el("span", "chip", item.category));
  const link = el("a", "card-title", title);
  link.href = itemLink(item.item_id);
  link.addEventListener("click", () => sendEvent(item.item_id, "click", false));
  c.appendChild(link);
  if (item.price !== null && item.price !== undefined) {
    c.appendChild(el("span", "price", _("$%(price)s", { price: Number(item.price).toFixed(2) })));
  }
  if (item.reason) c.appendChild(el("span", "reason", localizeReason(item.reason)));
  const actions = el("div", "actions");
  actions.dataset.itemId = item.item_id;
  for (const [event, label, style] of [["cart", _("Add to cart"), "btn"],
                                       ["purchase", _("Buy"), "btn primary"],
                                       ["dismiss", _("Not interested"), "btn ghost"]]) {
    const b = el("button", style, label);
    b.dataset.event = event;
    actions.appendChild(b);
  }
  c.appendChild(actions);
  return c;
}

function showItems(items, emptyText) {
  if (!feed) return;
  feed.replaceChildren(...items.map(card));
  if (!items.length) feed.appendChild(el("p", "note", emptyText));
}

async function bodyOf(response) {
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

async function getJSON(url) {
  return bodyOf(await fetch(url, { headers: { Accept: "application/json" } }));
}

// GET `urlOf(shopper)` with the shopper's token.
async function getShopperJSON(urlOf) {
  return bodyOf(await asShopper((shopper) => fetch(urlOf(shopper), {
    headers: { Accept: "application/json", "X-Shopper-Token": shopper.token } })));
}

async function loadFeed() {
  if (!feed) return;
  const category = document.getElementById("category-filter");
  const filter = category && category.value ? "&category=" + encodeURIComponent(category.value) : "";
  document.getElementById("feed-title").textContent = _("Recommended for you");
  document.getElementById("back-to-feed").hidden = true;
  try {
    const body = await getShopperJSON((shopper) =>
      `/recommendations/${encodeURIComponent(shopper.id)}?k=${FEED_SIZE}&explain=true${filter}`);
    const user = body.user_id;
    document.getElementById("feed-note").textContent = body.strategy === "popular"
      ? _("Popular right now. Shop a little and this feed learns your taste.")
      : _("Picked from what you viewed and bought.");
    showItems(body.items, _("Nothing to recommend yet."));
    feed.dataset.user = user;
  } catch (err) {
    toast(_("Could not load recommendations: %(error)s", { error: err.message }), true);
  }
}

async function loadProfile() {
  const box = document.getElementById("profile-body");
  if (!box) return;
  try {
    const p = await getShopperJSON((shopper) => `/users/${encodeURIComponent(shopper.id)}/profile`);
    const parts = [];
    if (!p.known) {
      parts.push(el("p", "note", _("New here: no history yet.")));
    } else {
      const stats = el("div", "stats");
      for (const [name, count] of Object.entries(p.by_event)) {
        const s = el("div", "stat");
        s.appendChild(el("strong", null, String(count)));
        s.appendChild(el("span", null, EVENT_LABELS[name] || name));
        stats.appendChild(s);
      }
      parts.push(stats);
      if (p.activity) {
        const line = [ACTIVITY[p.activity.level] || p.activity.level];
        if (p.price_band) line.push(PRICE_BANDS[p.price_band.band] || p.price_band.band);
        parts.push(el("p", "note", line.join(" · ")));
      }
      const tags = (p.tags && p.tags.length ? p.tags : p.top_categories || [])
        .map((t) => t.tag || t.name || t)
        .map((t) => String(t).replace(/^(topic|category|brand): /, ""));
      if (tags.length) {
        parts.push(el("h3", null, _("Interests")));
        const row = el("div", "tags");
        for (const t of tags) row.appendChild(el("span", "chip", t));
        parts.push(row);
      }
      for (const [key, heading] of [["bought_items", _("Bought")],
                                    ["recent_items", _("Recently seen")]]) {
        if (!p[key] || !p[key].length) continue;
        parts.push(el("h3", null, heading));
        const list = el("ul", "mini-list");
        for (const it of p[key].slice(0, 5)) {
          const li = el("li");
          const a = el("a", null, itemTitle(it));
          a.href = itemLink(it.item_id);
          li.appendChild(a);
          list.appendChild(li);
        }
        parts.push(list);
      }
    }
    box.replaceChildren(...parts);
  } catch (err) {
    box.replaceChildren(el("p", "note", _("Profile unavailable: %(error)s", { error: err.message })));
  }
}

async function sendEvent(itemId, event, refresh = true) {
  let response;
  try {
    response = await asShopper((shopper) => fetch("/events", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Shopper-Token": shopper.token },
      body: JSON.stringify({ user_id: shopper.id, item_id: itemId, event: event }),
      keepalive: true,
    }));
  } catch (err) {
    toast(_("Not saved: %(error)s", { error: err.message }), true);
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    toast(_("Not saved: %(error)s", { error: body.error || response.statusText }), true);
    return;
  }
  if (!refresh) return;
  toast({ purchase: _("Thanks for your order!"), cart: _("Added to your cart"),
          dismiss: _("We'll show you less like this") }[event] || _("Saved"));
  await Promise.all([loadFeed(), loadProfile()]);
}

async function search(query) {
  try {
    const user = (await currentShopper()).id;
    const body = await getJSON(`/search?q=${encodeURIComponent(query)}&user_id=${encodeURIComponent(user)}&k=${FEED_SIZE}`);
    if (!feed) { location.href = "/?q=" + encodeURIComponent(query); return; }
    document.getElementById("feed-title").textContent = _("Results for “%(query)s”", { query: query });
    document.getElementById("feed-note").textContent = "";
    document.getElementById("back-to-feed").hidden = false;
    showItems(body.items, _("No products match your search."));
  } catch (err) {
    toast(_("Search failed: %(error)s", { error: err.message }), true);
  }
}

document.addEventListener("click", (e) => {
  const button = e.target.closest("button[data-event]");
  if (!button) return;
  const itemId = button.closest("[data-item-id]").dataset.itemId;
  sendEvent(itemId, button.dataset.event);
});

select.addEventListener("change", () => {
  localStorage.setItem("shoprec-shopper", select.value);
  loadFeed();
  loadProfile();
});

document.getElementById("search-form").addEventListener("submit", (e) => {
  const q = document.getElementById("search-input").value.trim();
  if (!feed) return;  // item page: submit to the home page
  e.preventDefault();
  if (q) search(q); else loadFeed();
});

const back = document.getElementById("back-to-feed");
if (back) back.addEventListener("click", loadFeed);
const categoryFilter = document.getElementById("category-filter");
if (categoryFilter) categoryFilter.addEventListener("change", loadFeed);

(function start() {
  const saved = localStorage.getItem("shoprec-shopper");
  if (saved !== null && [...select.options].some((o) => o.value === saved)) select.value = saved;
  const detail = document.querySelector(".item-detail");
  if (detail) sendEvent(detail.dataset.itemId, "view", false);
  for (const thumb of document.querySelectorAll(".thumb[data-image]")) addImage(thumb, thumb.dataset.image);
  const q = new URLSearchParams(location.search).get("q");
  if (q && feed) {
    document.getElementById("search-input").value = q;
    search(q);
  } else {
    loadFeed();
  }
  loadProfile();
})();
