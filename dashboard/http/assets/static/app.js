// roomguard console: the live stream. Every page that shows state re-reads
// itself when something changes; the room page's timeline grows in place;
// a new alarm sounds (once the guard has turned the sound on). The duty
// screen (值班模式) sounds from the start and again every few seconds until
// every alarm is acknowledged, notifies the desktop, flashes the tab's
// title, and when its session ends says so loudly, keeping the alarms shown.
"use strict";
(function () {
  const body = document.body;
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("button.print")) window.print();
  });
  const src = body.dataset.live;
  if (!src || !document.getElementById("live")) return; // a report stays as it was made

  // --- sound ---------------------------------------------------------------
  // window.rgTones counts the tones played and rgToneAt keeps when (the last
  // 100; a test's and a benchmark's hook); a tone is counted only when the
  // audio actually runs.
  window.rgTones = 0;
  window.rgToneAt = [];
  let audio = null;
  const soundBtn = document.getElementById("sound");
  function enableSound() {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    const resumed = audio.resume();
    if (soundBtn) soundBtn.classList.add("on");
    try { sessionStorage.setItem("rg-sound", "1"); } catch (e) {}
    if (resumed && resumed.then) resumed.then(dutyCheck);
  }
  if (soundBtn) soundBtn.addEventListener("click", enableSound);
  try {
    if (sessionStorage.getItem("rg-sound") === "1") document.addEventListener("click", enableSound, { once: true });
  } catch (e) {}
  function counted() {
    window.rgTones++;
    window.rgToneAt.push(Date.now());
    if (window.rgToneAt.length > 100) window.rgToneAt.shift();
  }
  // beepAt schedules a tone (three beeps) at audio time t into out.
  function beepAt(t, out) {
    for (let i = 0; i < 3; i++) {
      const o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = 880; o.type = "square";
      g.gain.setValueAtTime(0.2, t + i * 0.3); g.gain.setValueAtTime(0, t + i * 0.3 + 0.18);
      o.connect(g).connect(out);
      o.start(t + i * 0.3); o.stop(t + i * 0.3 + 0.2);
    }
  }
  function beep() {
    if (!audio || audio.state !== "running") return false;
    beepAt(audio.currentTime, audio.destination);
    counted();
    return true;
  }

  // --- the duty screen -----------------------------------------------------
  const REPEAT_MS = 5000;
  let expired = false, lastTone = 0, flip = false;
  const known = new Set();
  const appTitle = document.title;
  function dutyEl() { return document.getElementById("duty"); }
  function tone() { if (beep()) lastTone = Date.now(); }
  function unacked() { return document.querySelectorAll('#alarm-list tr.alarm[data-acked="0"]'); }
  function notify(row) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      new Notification(row.dataset.title || appTitle, { body: row.textContent.replace(/\s+/g, " ").trim().slice(0, 180), tag: row.id, requireInteraction: true });
    } catch (e) {}
  }
  function askPermission() {
    if ("Notification" in window && Notification.permission === "default") {
      try { Notification.requestPermission(); } catch (e) {}
    }
  }
  // dutyCheck sounds a new alarm at once, notifies it, and shows whether the
  // sound runs; while an alarm is unacknowledged or the session is over the
  // sound repeats every 5 s (scheduleRepeats) and dutyTick (every second)
  // flashes the title.
  function dutyCheck() {
    const d = dutyEl();
    if (!d) return;
    const sound = document.getElementById("duty-sound");
    if (sound) sound.hidden = !!(audio && audio.state === "running");
    let fresh = false;
    unacked().forEach(function (row) {
      if (!known.has(row.id)) { known.add(row.id); fresh = true; notify(row); }
    });
    if (fresh) tone();
    if (unacked().length > 0 || expired) scheduleRepeats(); else cancelRepeats();
  }
  // The repeats are scheduled on the audio clock a minute ahead, not by a
  // timer: a browser slows the timers of a hidden tab to once a minute, never
  // its sound. Each repeat is counted when it starts (a silent marker's end);
  // acknowledging the last alarm takes the scheduled ones back.
  let repeats = null; // {bus, next, markers}
  window.rgRepeatsAhead = function () { return repeats ? repeats.markers.size : 0; }; // a test's hook
  function scheduleRepeats() {
    if (!audio || audio.state !== "running") return;
    if (!repeats) {
      const bus = audio.createGain();
      bus.connect(audio.destination);
      const since = (Date.now() - lastTone) / 1000;
      repeats = { bus: bus, next: audio.currentTime + Math.max(0.05, REPEAT_MS / 1000 - since), markers: new Set() };
    }
    while (repeats.next < audio.currentTime + 60) {
      const t = repeats.next;
      beepAt(t, repeats.bus);
      const m = audio.createOscillator(), mute = audio.createGain();
      mute.gain.value = 0;
      m.connect(mute).connect(repeats.bus);
      const markers = repeats.markers;
      m.onended = function () { markers.delete(m); lastTone = Date.now(); counted(); };
      m.start(t); m.stop(t + 0.01);
      markers.add(m);
      repeats.next = t + REPEAT_MS / 1000;
    }
  }
  function cancelRepeats() {
    if (!repeats) return;
    repeats.markers.forEach(function (m) { m.onended = null; try { m.stop(0); } catch (e) {} });
    repeats.bus.disconnect();
    repeats = null;
  }
  function dutyTick() {
    const d = dutyEl();
    if (!d) return;
    const n = unacked().length;
    if (n > 0 || expired) {
      flip = !flip;
      const what = expired ? (document.getElementById("duty-expired") || {}).textContent || "" : n + " " + (d.dataset.alarmWord || "");
      document.title = flip ? "【" + what.slice(0, 40) + "】" : appTitle;
      scheduleRepeats();
    } else {
      document.title = appTitle;
      cancelRepeats();
    }
  }
  function dutyEnded() {
    expired = true;
    const banner = document.getElementById("duty-expired");
    if (banner) banner.hidden = false;
    tone();
    scheduleRepeats();
  }
  if (dutyEl()) {
    // the sound from the start: a browser that lets a page play at once
    // (the guard station's kiosk) does; otherwise the first click anywhere
    // turns it on, and the red button says so
    enableSound();
    document.addEventListener("click", enableSound);
    document.addEventListener("keydown", enableSound);
    setInterval(dutyTick, 1000);
    dutyCheck();
  }
  document.addEventListener("submit", function (e) {
    const form = e.target;
    if (!form || form.id !== "duty-start-form") return;
    // going on duty keeps this page (and its sound) alive: posted in place
    e.preventDefault();
    enableSound();
    askPermission();
    fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" })
      .then(function () { refresh(); });
  });

  // --- live refresh ----------------------------------------------------------
  // refresh re-reads this page and swaps the live region, keeping what the
  // guard is typing (fields with an id) and where the focus is.
  let timer = null, busy = false, again = false;
  function refresh() {
    if (timer || expired) return;
    timer = setTimeout(async function () {
      timer = null;
      if (busy) { again = true; return; }
      busy = true;
      try {
        const res = await fetch(location.href, { headers: { "X-Live": "1" }, credentials: "same-origin" });
        if (res.redirected || !res.ok) {
          if (res.status === 401 || res.redirected) ended();
          return;
        }
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
        dutyCheck();
      } catch (e) {
      } finally {
        busy = false;
        if (again) { again = false; refresh(); }
      }
    }, 150);
  }

  // ended: the session is over. An ordinary page goes to the login; the duty
  // screen stays, says so loudly and keeps sounding.
  let es = null;
  function ended() {
    if (!dutyEl()) { location.reload(); return; }
    if (es) es.close();
    dutyEnded();
  }

  const lost = document.getElementById("live-lost");
  es = new EventSource(src + "?after=" + encodeURIComponent(body.dataset.lastN || "0") +
    "&state=" + encodeURIComponent(body.dataset.stateV || "0"));
  es.addEventListener("open", function () { if (lost) lost.hidden = true; });
  es.addEventListener("error", function () { if (lost) lost.hidden = false; });
  es.addEventListener("reload", function () {
    // a reload is asked for when the session ended, or when this page is too
    // far behind to catch up: the duty screen finds out which
    if (!dutyEl()) { location.reload(); return; }
    fetch(location.href, { headers: { "X-Live": "1" }, credentials: "same-origin" }).then(function (res) {
      if (res.redirected || res.status === 401) ended(); else location.reload();
    }, ended);
  });
  es.addEventListener("state", function (m) {
    let d;
    try { d = JSON.parse(m.data); } catch (e) { refresh(); return; }
    if (d.console) { refresh(); return; } // a peer console came or went: every page says so
    if (relevant(d.room, d.kind, "")) changed(d.room);
  });
  es.addEventListener("event", function (m) {
    let ev;
    try { ev = JSON.parse(m.data); } catch (e) { return; }
    if (ev.type === "alarm.raised" || ev.type === "alarm.escalated") {
      if (dutyEl()) tone(); else beep();
      const badge = document.getElementById("badge");
      if (badge) { badge.classList.remove("flash"); void badge.offsetWidth; badge.classList.add("flash"); }
    }
    if (relevant(ev.room, "", ev.type || "")) changed(ev.room);
  });

  // --- deltas (issue 33: a building of 200 rooms) -----------------------------
  // relevant tells whether what a room said (a retained state of kind, or an
  // event of type) may change this page: a room's page hears only its room;
  // the duty screen only modes, statuses and alarms. An alarm's event
  // concerns every page (the badge counts open alarms).
  function relevant(room, kind, type) {
    if (type.startsWith("alarm.")) return true;
    const page = document.querySelector("[data-room-page]");
    if (page && room && page.dataset.roomPage !== room) return false;
    if (dutyEl()) {
      if (kind) return kind === "status" || kind === "mode" || kind === "alarms";
      return /^(mode|seal|room)\./.test(type);
    }
    return true;
  }
  // changed: on the overview (its room lists marked data-delta), only the
  // box of the room that changed is read again and put in place, with the
  // count line; the whole page only when the room moves (its rank: an alarm
  // or being offline), or is not on the page. Any other page is read again.
  const pendingRooms = new Set();
  let deltaTimer = null;
  function changed(room) {
    if (!room || !document.querySelector(".rooms[data-delta]")) { refresh(); return; }
    pendingRooms.add(room);
    if (deltaTimer || expired) return;
    deltaTimer = setTimeout(async function () {
      deltaTimer = null;
      const rooms = Array.from(pendingRooms);
      pendingRooms.clear();
      for (const r of rooms) {
        const here = document.getElementById("room-" + r);
        if (!here) { refresh(); return; }
        let res;
        try {
          res = await fetch("/rooms/" + encodeURIComponent(r) + "/box", { headers: { "X-Live": "1" }, credentials: "same-origin" });
        } catch (e) { refresh(); return; }
        if (res.redirected || res.status === 401) { ended(); return; }
        if (!res.ok) { refresh(); return; }
        const doc = new DOMParser().parseFromString(await res.text(), "text/html");
        const box = doc.getElementById("room-" + r), count = doc.getElementById("rooms-count");
        const now = document.getElementById("room-" + r);
        if (!box || !now || box.dataset.rank !== now.dataset.rank) { refresh(); return; }
        now.replaceWith(box);
        const mine = document.getElementById("rooms-count");
        if (count && mine) mine.replaceWith(count);
      }
    }, 150);
  }
})();
