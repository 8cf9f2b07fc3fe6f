// The shop page's behaviour: pick a shopper, show the feed, send events, search, profile.
// Plain DOM calls only; text goes in through textContent so catalogue text is never markup.
"use strict";

const FEED_SIZE = 12;
const EVENT_LABELS = { view: "views", click: "clicks", cart: "in cart", purchase: "bought",
                       rating: "ratings", review: "reviews", dismiss: "not for me",
                       interaction: "interactions" };
const select = document.getElementById("shopper-select");
const feed = document.getElementById("feed");

// A shopper's own data (profile, explained feed) needs their token: a demo shopper's comes in
// the page, a new visitor gets a random id and its token from POST /visitors once.
async function currentShopper() {
  const option = select.selectedOptions[0];
  if (select.value) return { id: select.value, token: option.dataset.token };
  let visitor = null;
  try { visitor = JSON.parse(localStorage.getItem("shoprec-visitor-token") || "null"); } catch (e) { visitor = null; }
  if (!visitor || !visitor.user_id || !visitor.token) {
    const response = await fetch("/visitors", { method: "POST" });
    if (!response.ok) throw new Error("could not start a visit");
    visitor = await response.json();
    localStorage.setItem("shoprec-visitor-token", JSON.stringify(visitor));
  }
  return { id: visitor.user_id, token: visitor.token };
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

function card(item) {
  const title = item.title || "Item " + item.item_id;
  const c = el("div", "card");
  c.dataset.itemId = item.item_id;
  const thumb = el("a", "thumb", title.slice(0, 1).toUpperCase());
  thumb.href = itemLink(item.item_id);
  thumb.style.background = `hsl(${hue(item.category || title)}, 45%, 88%)`;
  thumb.setAttribute("aria-hidden", "true");
  c.appendChild(thumb);
  if (item.category) c.appendChild(el("span", "chip", item.category));
  const link = el("a", "card-title", title);
  link.href = itemLink(item.item_id);
  link.addEventListener("click", () => sendEvent(item.item_id, "click", false));
  c.appendChild(link);
  if (item.price !== null && item.price !== undefined) {
    c.appendChild(el("span", "price", "$" + Number(item.price).toFixed(2)));
  }
  if (item.reason) c.appendChild(el("span", "reason", item.reason));
  const actions = el("div", "actions");
  actions.dataset.itemId = item.item_id;
  for (const [event, label, style] of [["cart", "Add to cart", "btn"],
                                       ["purchase", "Buy", "btn primary"],
                                       ["dismiss", "Not interested", "btn ghost"]]) {
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

async function getJSON(url, token) {
  const headers = { Accept: "application/json" };
  if (token) headers["X-Shopper-Token"] = token;
  const response = await fetch(url, { headers: headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

async function loadFeed() {
  if (!feed) return;
  const category = document.getElementById("category-filter");
  let shopper;
  try { shopper = await currentShopper(); } catch (err) { toast(err.message, true); return; }
  const user = shopper.id;
  let url = `/recommendations/${encodeURIComponent(user)}?k=${FEED_SIZE}&explain=true`;
  if (category && category.value) url += "&category=" + encodeURIComponent(category.value);
  document.getElementById("feed-title").textContent = "Recommended for you";
  document.getElementById("back-to-feed").hidden = true;
  try {
    const body = await getJSON(url, shopper.token);
    document.getElementById("feed-note").textContent = body.strategy === "popular"
      ? "Popular right now. Shop a little and this feed learns your taste."
      : "Picked from what you viewed and bought.";
    showItems(body.items, "Nothing to recommend yet.");
    feed.dataset.user = user;
  } catch (err) {
    toast("Could not load recommendations: " + err.message, true);
  }
}

async function loadProfile() {
  const box = document.getElementById("profile-body");
  if (!box) return;
  try {
    const shopper = await currentShopper();
    const p = await getJSON(`/users/${encodeURIComponent(shopper.id)}/profile`, shopper.token);
    const parts = [];
    if (!p.known) {
      parts.push(el("p", "note", "New here: no history yet."));
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
        const line = [p.activity.level + " shopper"];
        if (p.price_band) line.push(p.price_band.band + " prices");
        parts.push(el("p", "note", line.join(" · ")));
      }
      const tags = (p.tags && p.tags.length ? p.tags : p.top_categories || [])
        .map((t) => t.tag || t.name || t)
        .map((t) => String(t).replace(/^(topic|category|brand): /, ""));
      if (tags.length) {
        parts.push(el("h3", null, "Interests"));
        const row = el("div", "tags");
        for (const t of tags) row.appendChild(el("span", "chip", t));
        parts.push(row);
      }
      for (const [key, heading] of [["bought_items", "Bought"], ["recent_items", "Recently seen"]]) {
        if (!p[key] || !p[key].length) continue;
        parts.push(el("h3", null, heading));
        const list = el("ul", "mini-list");
        for (const it of p[key].slice(0, 5)) {
          const li = el("li");
          const a = el("a", null, it.title || "Item " + it.item_id);
          a.href = itemLink(it.item_id);
          li.appendChild(a);
          list.appendChild(li);
        }
        parts.push(list);
      }
    }
    box.replaceChildren(...parts);
  } catch (err) {
    box.replaceChildren(el("p", "note", "Profile unavailable: " + err.message));
  }
}

async function sendEvent(itemId, event, refresh = true) {
  const response = await fetch("/events", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user_id: (await currentShopper()).id, item_id: itemId, event: event }),
    keepalive: true,
  });
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    toast("Not saved: " + (body.error || response.statusText), true);
    return;
  }
  if (!refresh) return;
  toast({ purchase: "Thanks for your order!", cart: "Added to your cart",
          dismiss: "We'll show you less like this" }[event] || "Saved");
  await Promise.all([loadFeed(), loadProfile()]);
}

async function search(query) {
  try {
    const user = (await currentShopper()).id;
    const body = await getJSON(`/search?q=${encodeURIComponent(query)}&user_id=${encodeURIComponent(user)}&k=${FEED_SIZE}`);
    if (!feed) { location.href = "/?q=" + encodeURIComponent(query); return; }
    document.getElementById("feed-title").textContent = `Results for “${query}”`;
    document.getElementById("feed-note").textContent = "";
    document.getElementById("back-to-feed").hidden = false;
    showItems(body.items, "No products match your search.");
  } catch (err) {
    toast("Search failed: " + err.message, true);
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
  const q = new URLSearchParams(location.search).get("q");
  if (q && feed) {
    document.getElementById("search-input").value = q;
    search(q);
  } else {
    loadFeed();
  }
  loadProfile();
})();
