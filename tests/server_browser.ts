/**
 * Headless Chromium for the dashboard's end-to-end tests: Debian's
 * `chromium` at /usr/bin/chromium (tests skip, with a message, without it),
 * launched through playwright-core, and a bounded wait for a condition.
 */
import { type Browser, chromium } from "playwright-core";

/** Where Debian installs chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** True when chromium is installed. */
export const hasChromium: boolean = await Deno.stat(CHROMIUM).then(
  () => true,
  () => false,
);

/** Warns that the tests of `what` are skipped when chromium is missing. */
export function warnIfNoChromium(what: string): void {
  if (!hasChromium) {
    console.warn(
      `SKIP ${what}: ${CHROMIUM} not found (apt-get install -y chromium)`,
    );
  }
}

/** Starts headless chromium, offline and without first-run chores. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Polls `cond` until true; fails naming `what` after 20 s (a bound, not a timing check). */
export async function until(
  cond: () => Promise<boolean>,
  what: string,
): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`dashboard never showed: ${what}`);
}
