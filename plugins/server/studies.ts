/**
 * Studies for the dashboard: a study folder (one holding `study.json`) is
 * the runs folder itself or one of its children. Its cells are read on
 * each request, so the page follows a study while it runs; plots are drawn
 * from the same results, never read from disk.
 *
 *   GET /api/studies                   [{ id, name, counts }]
 *   GET /api/studies/:id               results (grid, cells, counts, tables) + plot names
 *   GET /api/studies/:id/plots/:name   one SVG plot
 */
import type { Hono } from "hono";
import { basename, join } from "node:path";
import { exists } from "../../core/fs.ts";
import {
  buildResults,
  readCells,
  readStudyGrid,
  STUDY_FILE,
  studyPlots,
  type StudyResults,
} from "../../study/mod.ts";
import { isSafeRunId } from "./runs.ts";

/** A study in `/api/studies`. */
export interface StudySummary {
  /** Folder name, used in URLs. */
  id: string;
  /** The grid's name. */
  name: string;
  /** Cells by status. */
  counts: StudyResults["counts"];
}

/** The study folders under `root` (or `root` itself), by folder name. */
export async function findStudies(root: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (await exists(join(root, STUDY_FILE))) {
    found.set(basename(root), root);
    return found;
  }
  try {
    for await (const e of Deno.readDir(root)) {
      const dir = join(root, e.name);
      if (
        e.isDirectory && isSafeRunId(e.name) &&
        await exists(join(dir, STUDY_FILE))
      ) found.set(e.name, dir);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return found;
}

/** Results of the study in `dir`, read now. */
export async function readStudyResults(dir: string): Promise<StudyResults> {
  const grid = await readStudyGrid(dir);
  return buildResults(grid, await readCells(grid, [dir]));
}

/** Adds the study routes for the studies under `root` to `app`. */
export function addStudyRoutes(app: Hono, root: string): void {
  const studyDir = async (id: string) =>
    isSafeRunId(id) ? (await findStudies(root)).get(id) ?? null : null;
  const notFound = (id: string) => ({ error: `no study "${id}"` });

  app.get("/api/studies", async (c) => {
    const list: StudySummary[] = [];
    for (const [id, dir] of [...await findStudies(root)].sort()) {
      const r = await readStudyResults(dir);
      list.push({ id, name: r.grid.name, counts: r.counts });
    }
    return c.json(list);
  });
  app.get("/api/studies/:id", async (c) => {
    const dir = await studyDir(c.req.param("id"));
    if (!dir) return c.json(notFound(c.req.param("id")), 404);
    const r = await readStudyResults(dir);
    return c.json({ ...r, plots: studyPlots(r).map((p) => p.name) });
  });
  app.get("/api/studies/:id/plots/:name", async (c) => {
    const dir = await studyDir(c.req.param("id"));
    if (!dir) return c.json(notFound(c.req.param("id")), 404);
    const name = c.req.param("name");
    const plot = studyPlots(await readStudyResults(dir)).find((p) =>
      p.name === name
    );
    if (!plot) return c.json({ error: `no plot "${name}"` }, 404);
    return c.body(plot.svg, 200, {
      "content-type": "image/svg+xml; charset=utf-8",
      "cache-control": "no-cache",
    });
  });
}
