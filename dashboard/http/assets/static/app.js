// roomguard console: the live stream. Every page that shows state re-reads
// itself when something changes; the room page's timeline grows in place;
// a new alarm sounds (once the guard has turned the sound on).
"use strict";
(function () {
  const body = document.body;
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("button.print")) window.print();
  });
  const src = body.dataset.live;
  if (!src || !document.getElementById("live")) return; // a report stays as it was made

  let audio = null;
  const soundBtn = document.getElementById("sound");
  function enableSound() {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    audio.resume();
    if (soundBtn) soundBtn.classList.add("on");
    try { sessionStorage.setItem("rg-sound", "1"); } catch (e) {}
  }
  if (soundBtn) soundBtn.addEventListener("click", enableSound);
  try {
    if (sessionStorage.getItem("rg-sound") === "1") document.addEventListener("click", enableSound, { once: true });
  } catch (e) {}
  function beep() {
    if (!audio) return;
    const t = audio.currentTime;
    for (let i = 0; i < 3; i++) {
      const o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; o.type = "square";
      g.gain.setValueAtTime(0.2, t + i * 0.3); g.gain.setValueAtTime(0, t + i * 0.3 + 0.18);
      o.connect(g).connect(audio.destination);
      o.start(t + i * 0.3); o.stop(t + i * 0.3 + 0.2);
    }
  }

  // refresh re-reads this page and swaps the live region, keeping what the
  // guard is typing (fields with an id) and where the focus is.
  let timer = null, busy = false, again = false;
  function refresh() {
    if (timer) return;
    timer = setTimeout(async function () {
      timer = null;
      if (busy) { again = true; return; }
      busy = true;
      try {
        const res = await fetch(location.href, { headers: { "X-Live": "1" }, credentials: "same-origin" });
        if (res.redirected || !res.ok) { if (res.status === 401 || res.redirected) location.reload(); return; }
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        const fresh = doc.getElementById("live"), here = document.getElementById("live");
        if (!fresh || !here) return;
        const kept = {}, checked = {}, opened = {};
        here.querySelectorAll("input[id], textarea[id], select[id]").forEach(function (el) { kept[el.id] = el.value; checked[el.id] = el.checked; });
        here.querySelectorAll("details[id]").forEach(function (el) { opened[el.id] = el.open; });
        const focus = document.activeElement && document.activeElement.id;
        here.replaceWith(fresh);
        Object.keys(kept).forEach(function (id) {
          const el = document.getElementById(id);
          if (!el || el.type === "hidden") return;
          if (el.type === "checkbox" || el.type === "radio") el.checked = checked[id]; else el.value = kept[id];
        });
        Object.keys(opened).forEach(function (id) { const el = document.getElementById(id); if (el) el.open = opened[id]; });
        if (focus) { const el = document.getElementById(focus); if (el) el.focus(); }
        const b = doc.getElementById("badge"), mine = document.getElementById("badge");
        if (b && mine) { mine.textContent = b.textContent; mine.className = b.className; }
      } catch (e) {
      } finally {
        busy = false;
        if (again) { again = false; refresh(); }
      }
    }, 150);
  }

  const lost = document.getElementById("live-lost");
  const es = new EventSource(src + "?after=" + encodeURIComponent(body.dataset.lastN || "0") +
    "&state=" + encodeURIComponent(body.dataset.stateV || "0"));
  es.addEventListener("open", function () { if (lost) lost.hidden = true; });
  es.addEventListener("error", function () { if (lost) lost.hidden = false; });
  es.addEventListener("reload", function () { location.reload(); });
  es.addEventListener("state", refresh);
  es.addEventListener("event", function (m) {
    let ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    if (ev.type === "alarm.raised" || ev.type === "alarm.escalated") {
      beep();
      const badge = document.getElementById("badge");
      if (badge) { badge.classList.remove("flash"); void badge.offsetWidth; badge.classList.add("flash"); }
    }
    refresh();
  });
})();
