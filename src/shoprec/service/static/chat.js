// The chat panel: one conversation with the shop (POST /chat), kept per shopper for the visit.
// Uses shop.js's helpers (_, el, card, currentShopper, toast); answers come in the language of
// the message, the panel's own words through _() like the rest of the page.
"use strict";

(function chatPanel() {
  const form = document.getElementById("chat-form");
  if (!form) return;
  const log = document.getElementById("chat-log");
  const input = document.getElementById("chat-input");
  const key = (shopperId) => "shoprec-chat-" + shopperId;

  function say(who, text) {
    const line = el("p", "chat-line " + who, text);
    log.appendChild(line);
    return line;
  }

  function answerBlock(body) {
    const block = el("div", "chat-answer");
    if (body.question) block.appendChild(el("p", "chat-question", body.question));
    for (const note of body.notes) block.appendChild(el("p", "note", note));
    for (const unmet of body.unmet || []) {  // "any brand": one click lets the constraint go
      if (!unmet.drop) continue;
      const drop = el("button", "chip drop", unmet.drop);
      drop.type = "button";
      drop.addEventListener("click", () => converse(unmet.drop));
      block.appendChild(drop);
    }
    block.appendChild(el("p", "chat-reply", body.reply));
    const list = el("div", "chat-items");
    for (const item of body.items) {
      const c = card(item);
      c.classList.add("chat-card");
      const meets = el("div", "tags");
      for (const m of item.meets) meets.appendChild(el("span", "chip meets", m));
      c.insertBefore(meets, c.querySelector(".actions"));
      c.insertBefore(el("span", "reason", item.why), c.querySelector(".actions"));
      list.appendChild(c);
    }
    block.appendChild(list);
    return block;
  }

  async function send(message) {
    const shopper = await currentShopper();
    const conversation = sessionStorage.getItem(key(shopper.id));
    const response = await fetch("/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Shopper-Token": shopper.token },
      body: JSON.stringify({ message: message, conversation_id: conversation, user_id: shopper.id,
                             lang: document.documentElement.lang === "zh" ? "zh" : "en" }),
    });
    const body = await response.json().catch(() => ({}));
    if (response.status === 404 && conversation) {  // gone (e.g. deleted): start a new one
      sessionStorage.removeItem(key(shopper.id));
      return send(message);
    }
    if (!response.ok) throw new Error(body.error || response.statusText);
    sessionStorage.setItem(key(shopper.id), body.conversation_id);
    return body;
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const message = input.value.trim();
    if (!message) return;
    input.value = "";
    await converse(message);
  });

  async function converse(message) {
    say("you", message);
    const waiting = say("shop", _("Thinking…"));
    try {
      const body = await send(message);
      waiting.replaceWith(answerBlock(body));
    } catch (err) {
      waiting.remove();
      toast(_("The assistant could not answer: %(error)s", { error: err.message }), true);
    }
    log.scrollTop = log.scrollHeight;
  }

  document.getElementById("chat-new").addEventListener("click", async () => {
    sessionStorage.removeItem(key((await currentShopper()).id));
    log.replaceChildren(el("p", "note", _("New conversation. What are you looking for?")));
  });
})();
