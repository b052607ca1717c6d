import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type Browser, type Page, chromium } from "playwright-core";

/** Debian's Chromium: scripts/test.sh installs it when missing; no browser is ever downloaded. */
export const CHROMIUM = "/usr/bin/chromium";

/** Screenshots of each view: a gitignored folder kept as CI artifacts. */
export const SCREENSHOTS = fileURLToPath(new URL("../../test-results/", import.meta.url));

export function chromiumMissing(): boolean {
  return !existsSync(CHROMIUM);
}

export async function launchChromium(): Promise<Browser> {
  await mkdir(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking"],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}
