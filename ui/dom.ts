/// <reference lib="dom" />
/**
 * Small DOM helpers of the dashboard. Text goes through `textContent` only:
 * run data is never parsed as HTML.
 */

/** The element with id `id` (the page defines every id the views use). */
export const byId = <T extends Element = HTMLElement>(id: string): T =>
  document.getElementById(id) as unknown as T;

/** Sets the text of element `id` when it changed. */
export function setText(id: string, text: string): void {
  const e = byId(id);
  if (e.textContent !== text) e.textContent = text;
}

/** A new element with a class and text. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls = "",
  text = "",
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

/** A two-column table of `[name, value]` rows. */
export function table(rows: [string, string][]): HTMLTableElement {
  const t = h("table");
  for (const [k, x] of rows) {
    const tr = h("tr");
    tr.append(h("th", "", k), h("td", "", x));
    t.append(tr);
  }
  return t;
}

/** A lazily loaded image with its name as caption. */
export function figure(src: string, name: string): HTMLElement {
  const fig = h("figure");
  const img = h("img");
  img.src = src;
  img.alt = name;
  img.loading = "lazy";
  fig.append(img, h("figcaption", "", name));
  return fig;
}
