// The status page: draws /api/status, then redraws on each `status` event of /api/events.
"use strict";

const number = (v, digits = 1) => (v === null || v === undefined ? "-" : v.toFixed(digits));

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
}

function fill(tableId, items, draw) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren();
  for (const item of items) draw(body.insertRow(), item);
}

function drawLanes(lanes) {
  const box = document.getElementById("lanes");
  box.replaceChildren();
  for (const [name, lane] of Object.entries(lanes)) {
    const card = document.createElement("div");
    card.className = `lane state-${lane.state}`;
    card.dataset.lane = name;
    card.dataset.state = lane.state;
    const title = document.createElement("h3");
    title.textContent = name;
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = lane.state;
    title.append(" ", state);
    const info = document.createElement("p");
    info.textContent = `${lane.engine} · slots ${lane.slots_in_use}/${lane.slots} · queued ${lane.queued}`;
    card.append(title, info);
    if (lane.detail) {
      const detail = document.createElement("p");
      detail.className = "note";
      detail.textContent = lane.detail;
      card.append(detail);
    }
    box.append(card);
  }
}

function draw(status) {
  drawLanes(status.lanes);
  const names = Object.keys(status.lanes);
  fill("rates", names, (row, lane) => {
    cell(row, lane);
    cell(row, number(status.decode_tps["5m"][lane] ?? null), "num");
    cell(row, number(status.decode_tps["1h"][lane] ?? null), "num");
  });
  fill("inflight", status.inflight, (row, s) => {
    row.dataset.requestId = s.request_id;
    cell(row, s.lane);
    cell(row, s.request_id.slice(0, 12), "id");
    cell(row, s.reason);
    cell(row, `${number(s.elapsed_s)} s`, "num");
    cell(row, String(s.tokens), "num");
    cell(row, number(s.tok_s), "num");
  });
  document.getElementById("inflight-empty").hidden = status.inflight.length > 0;
  fill("recent", status.recent, (row, r) => {
    row.dataset.requestId = r.request_id;
    row.className = r.outcome === "ok" ? "" : "bad";
    cell(row, new Date(r.ts * 1000).toLocaleTimeString());
    cell(row, r.lane);
    cell(row, r.reason);
    cell(row, number(r.ttft_ms, 0), "num");
    cell(row, number(r.decode_tps), "num");
    cell(row, r.completion_tokens === null ? "-" : String(r.completion_tokens), "num");
    cell(row, r.outcome);
  });
}

function setFeed(text, live) {
  const feed = document.getElementById("feed");
  feed.textContent = text;
  feed.classList.toggle("live", live);
}

fetch("/api/status").then((r) => r.json()).then(draw).catch(() => setFeed("offline", false));
const events = new EventSource("/api/events");
events.addEventListener("status", (e) => { draw(JSON.parse(e.data)); setFeed("live", true); });
events.onerror = () => setFeed("reconnecting", false);
