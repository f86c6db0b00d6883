// Debian's headless Chromium as every browser test here runs it (page.mjs,
// tests/interop/browser_client.mjs): a fresh profile each time, never a
// downloaded browser (GREET_CHROMIUM, default /usr/bin/chromium), the page's
// console on stderr, and a time limit, so a hung browser cannot hang cargo test.
//
// `chromium` is playwright-core's, passed in by the caller: each resolves
// playwright-core from its own node_modules.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Launches Chromium (with `contextOptions` for playwright's persistent
 * context, e.g. a viewport), hands `use` its page, and closes it all however
 * `use` ends. `script` names the caller in the time-out message.
 */
export async function withPage(chromium, script, contextOptions, use) {
  setTimeout(() => {
    console.error(`${script}: gave up after 60 s`);
    process.exit(3);
  }, 60_000).unref();

  const userDataDir = mkdtempSync(join(tmpdir(), "greet-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.GREET_CHROMIUM || "/usr/bin/chromium",
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
    timeout: 30_000,
    ...contextOptions,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on("console", (msg) => console.error(`[console.${msg.type()}] ${msg.text()}`));
    page.on("pageerror", (error) => console.error(`[pageerror] ${error.message}`));
    await use(page);
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}
