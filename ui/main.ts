/// <reference lib="dom" />
/**
 * Dashboard entry: shows the live run (SSE events folded into the same
 * `RunState` the server uses) or a finished run chosen in the selector.
 */
import type { RunEvent } from "../core/events.ts";
import { emptySnapshot, RunState } from "../plugins/server/state.ts";
import {
  getJson,
  liveHistory,
  runDetail,
  runHistory,
  type RunListItem,
  type StatusReply,
  withToken,
} from "./api.ts";
import { initStudies } from "./study.ts";
import { render, type View } from "./views.ts";

let view: View = { snap: emptySnapshot(), detail: null, memory: null };
let source: EventSource | null = null;
let poll: ReturnType<typeof setInterval> | undefined;
let renderTimer: ReturnType<typeof setTimeout> | undefined;
/** Run ids the server lists; only these have a folder to read. */
let knownRuns = new Set<string>();
/** Bumped on every run switch so late replies of the previous one are dropped. */
let generation = 0;

const select = document.getElementById("run-select") as HTMLSelectElement;
const conn = document.getElementById("conn") as HTMLElement;

function setConn(text: string, cls: string): void {
  conn.textContent = text;
  conn.className = `conn ${cls}`;
}

/** Coalesces renders: events may arrive far faster than the screen needs. */
function schedule(): void {
  renderTimer ??= setTimeout(() => {
    renderTimer = undefined;
    render(view);
  }, 100);
}

function stopLive(): void {
  source?.close();
  source = null;
  clearInterval(poll);
}

function runId(out: string): string | undefined {
  return out.split(/[\\/]/).filter(Boolean).pop();
}

async function refreshDetail(gen: number): Promise<void> {
  const id = runId(view.snap.out);
  const detail = id && knownRuns.has(id)
    ? await runDetail(id).catch(() => null)
    : null;
  if (gen === generation) {
    view.detail = detail;
    schedule();
  }
}

async function refreshMemory(gen: number): Promise<void> {
  const s = await getJson<StatusReply>("api/status").catch(() => null);
  if (s && gen === generation) {
    view.memory = s.memory;
    schedule();
  }
}

/**
 * Follows the live run. The stream is opened first and buffered; the
 * history fetched after its `hello` covers everything before, and buffered
 * events the history already holds (id <= seq) are skipped: no gap, no
 * double count. A reconnect repeats this.
 */
function openLive(): void {
  const gen = ++generation;
  stopLive();
  let state: RunState | null = null;
  let buffer: { id: number; event: RunEvent }[] = [];
  const apply = (id: number, event: RunEvent) => {
    if (!state || id <= state.snapshot.seq) return;
    state.apply(event);
    if (
      event.type === "run-start" || event.type === "phase-end" ||
      event.type === "run-end"
    ) {
      refreshDetail(gen);
      if (event.type !== "phase-end") loadRuns(true);
    }
  };
  source = new EventSource(withToken("api/events"));
  source.addEventListener("hello", async () => {
    setConn("live", "live");
    state = null;
    buffer = [];
    const snap = await liveHistory().catch(() => null);
    if (gen !== generation || !snap) return;
    state = new RunState(snap);
    view = { snap: state.snapshot, detail: view.detail, memory: view.memory };
    for (const b of buffer) apply(b.id, b.event);
    buffer = [];
    refreshDetail(gen);
    schedule();
  });
  source.onmessage = (m: MessageEvent<string>) => {
    const id = Number(m.lastEventId);
    const event = JSON.parse(m.data) as RunEvent;
    if (!state) buffer.push({ id, event });
    else apply(id, event);
    schedule();
  };
  source.onerror = () => setConn("disconnected, retrying…", "down");
  refreshMemory(gen);
  poll = setInterval(() => refreshMemory(gen), 3000);
}

async function openRun(id: string): Promise<void> {
  const gen = ++generation;
  stopLive();
  setConn(`run ${id}`, "");
  const [snap, detail] = await Promise.all([
    runHistory(id).catch(() => emptySnapshot()),
    runDetail(id).catch(() => null),
  ]);
  if (gen !== generation) return;
  view = { snap, detail, memory: null };
  schedule();
}

/** Fills the selector; `keep` leaves the current choice alone. */
async function loadRuns(keep = false): Promise<void> {
  const [status, runs] = await Promise.all([
    getJson<StatusReply>("api/status"),
    getJson<RunListItem[]>("api/runs"),
  ]);
  knownRuns = new Set(runs.map((r) => r.id));
  const current = select.value;
  select.replaceChildren();
  if (status.live) select.append(new Option("● live run", "live"));
  for (const r of runs) {
    select.append(
      new Option(
        `${r.id}${r.recipe ? ` (${r.recipe})` : ""}${r.finished ? "" : " …"}`,
        r.id,
      ),
    );
  }
  if (keep && [...select.options].some((o) => o.value === current)) {
    select.value = current;
    return;
  }
  if (select.options.length === 0) {
    setConn("no runs", "down");
    schedule();
    return;
  }
  select.selectedIndex = 0;
  select.dispatchEvent(new Event("change"));
}

select.addEventListener("change", () => {
  if (select.value === "live") openLive();
  else openRun(select.value);
});

/** Shows a study's cell as the chosen run. */
function openCell(id: string): void {
  if (![...select.options].some((o) => o.value === id)) return;
  select.value = id;
  select.dispatchEvent(new Event("change"));
  byIdScroll("status-card");
}

function byIdScroll(id: string): void {
  document.getElementById(id)?.scrollIntoView({ block: "start" });
}

loadRuns().catch((e) => setConn(String((e as Error).message), "down"));
initStudies(openCell).catch((e) =>
  setConn(String((e as Error).message), "down")
);
