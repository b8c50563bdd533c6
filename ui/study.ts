/// <reference lib="dom" />
/**
 * The study page: when the server's runs folder holds studies, a selector
 * in the header and a card with the study's tables (mean ± std over seeds
 * and Δ against random-init supervised), its plots, and every cell with
 * its status. A finished or started cell's id opens it as a run. The
 * study is read again every 10 s, so the page follows a running study.
 */
import type { CellResult, StudyResults, StudyTable } from "../study/results.ts";
import { formatEntry, formatSignedStat } from "../study/format.ts";
import { getJson, withToken } from "./api.ts";
import { byId, h, setText } from "./dom.ts";

/** A study in `/api/studies`. */
export interface StudyListItem {
  /** Folder name. */
  id: string;
  /** The grid's name. */
  name: string;
  /** Cells by status. */
  counts: StudyResults["counts"];
}

/** `/api/studies/:id`. */
export interface StudyReply extends StudyResults {
  /** Plot file names, served under `api/studies/:id/plots/`. */
  plots: string[];
}

function tableElement(t: StudyTable, baseline: boolean): HTMLTableElement {
  const table = h("table", "compare study-table");
  table.dataset.table = t.id;
  const head = h("tr");
  head.append(
    h(
      "th",
      "",
      baseline ? "Δ student − compute-matched baseline" : "init / method",
    ),
    ...t.headings.map((x) => h("th", "num", x)),
  );
  table.append(head);
  for (const r of t.rows) {
    if (baseline && r.entries.every((e) => e.vsBaseline === null)) continue;
    const tr = h("tr");
    tr.append(h("th", "", r.label));
    for (const e of r.entries) {
      const text = baseline ? formatSignedStat(e.vsBaseline) : formatEntry(e);
      const d = baseline ? e.vsBaseline?.mean ?? null : e.delta;
      tr.append(
        h(
          "td",
          `num${d === null ? "" : d > 0 ? " up" : d < 0 ? " down" : ""}`,
          text,
        ),
      );
    }
    table.append(tr);
  }
  return table;
}

function cellRow(
  c: CellResult,
  open: (id: string) => void,
): HTMLTableRowElement {
  const tr = h("tr", `cell ${c.status}`);
  tr.dataset.cell = c.id;
  const id = h("td");
  if (c.status === "pending") id.textContent = c.id;
  else {
    const a = h("a", "", c.id);
    a.href = "#";
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      open(c.id);
    });
    id.append(a);
  }
  const num = (v: number | null) => v === null ? "–" : v.toFixed(1);
  tr.append(
    id,
    h("td", "", c.recipe),
    h("td", "", c.status + (c.error ? `: ${c.error}` : "")),
    h("td", "num", num(c.value)),
    h("td", "num", num(c.baseline)),
    h("td", "num", c.seconds === null ? "–" : `${Math.round(c.seconds)} s`),
  );
  return tr;
}

/** Renders study `r` (folder `id`) into the study card. */
export function renderStudy(
  id: string,
  r: StudyReply,
  open: (run: string) => void,
): void {
  const c = r.counts;
  setText("study-name", r.grid.name);
  setText(
    "study-summary",
    `${c.done} of ${c.total} cells finished` +
      (c.failed ? `, ${c.failed} failed` : "") +
      (c.started ? `, ${c.started} started` : "") +
      ` · seeds ${
        r.grid.seeds.join(", ")
      } · mean ± std over seeds (×100, val), Δ against random-init supervised`,
  );
  const tables = byId("study-tables");
  tables.replaceChildren();
  for (const t of r.tables) {
    tables.append(h("h3", "", t.title), tableElement(t, false));
    if (t.rows.some((row) => row.entries.some((e) => e.vsBaseline !== null))) {
      tables.append(tableElement(t, true));
    }
  }
  const plots = byId("study-plots");
  const key = `${id}:${c.done}:${r.plots.join("|")}`;
  if (plots.dataset.key !== key) {
    plots.dataset.key = key;
    plots.replaceChildren(...r.plots.map((name) => {
      const img = h("img");
      img.src = withToken(
        `api/studies/${encodeURIComponent(id)}/plots/${
          encodeURIComponent(name)
        }?v=${c.done}`,
      );
      img.alt = name;
      img.className = "study-plot";
      return img;
    }));
  }
  const table = h("table", "compare");
  const head = h("tr");
  for (const x of ["cell", "recipe", "status", "value", "baseline", "time"]) {
    head.append(h("th", "", x));
  }
  table.append(head, ...r.cells.map((cell) => cellRow(cell, open)));
  byId("study-cells").replaceChildren(table);
}

let timer: ReturnType<typeof setInterval> | undefined;

/**
 * Lists the server's studies; with any, shows the selector and the card of
 * the chosen one, refreshed every 10 s. `open` shows a cell as a run.
 */
export async function initStudies(open: (run: string) => void): Promise<void> {
  const list = await getJson<StudyListItem[]>("api/studies");
  const select = byId<HTMLSelectElement>("study-select");
  byId("study-pick").hidden = list.length === 0;
  byId("study-card").hidden = list.length === 0;
  if (list.length === 0) return;
  select.replaceChildren(
    ...list.map((s) =>
      new Option(`${s.id} (${s.counts.done}/${s.counts.total})`, s.id)
    ),
  );
  const show = async () => {
    const id = select.value;
    const r = await getJson<StudyReply>(`api/studies/${encodeURIComponent(id)}`)
      .catch(() => null);
    if (r && select.value === id) renderStudy(id, r, open);
  };
  select.addEventListener("change", show);
  clearInterval(timer);
  timer = setInterval(show, 10_000);
  await show();
}
