/**
 * Plain data for the segmentation views (no DOM, so tests import it): the
 * per-class IoU of each model, read from its metrics' `IoU/<class>` keys
 * (val; `tune/IoU/<class>` is left to the table of tune numbers).
 */

/** Prefix of a per-class IoU metric. */
export const CLASS_IOU = "IoU/";

/** Per-class IoU of several models, for one grouped bar chart. */
export interface ClassIou {
  /** Class names, in the order the metrics list them. */
  classes: string[];
  /** One entry per model that has any per-class IoU. */
  series: { name: string; values: Record<string, number> }[];
}

/** Per-class val IoU of the models in `metrics` (name → metrics). */
export function classIou(
  metrics: Record<string, Record<string, number> | undefined>,
): ClassIou {
  const classes: string[] = [];
  const series: ClassIou["series"] = [];
  for (const [name, m] of Object.entries(metrics)) {
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(m ?? {})) {
      if (!k.startsWith(CLASS_IOU) || !Number.isFinite(v)) continue;
      const c = k.slice(CLASS_IOU.length);
      values[c] = v;
      if (!classes.includes(c)) classes.push(c);
    }
    if (Object.keys(values).length) series.push({ name, values });
  }
  return { classes, series };
}
