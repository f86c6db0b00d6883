// Drives the demo page of web/ in Debian's headless Chromium, as a user would:
// fill the form, pick a protocol, click Greet, read what the page shows.
//
//   node tests/browser/page.mjs <page-url> '<steps as JSON>'
//
// Steps (run in order, after the page's own greeting on load):
//   {"protocol": "rest" | "grpc-web" | "connect", "name": "Alice", "lang": "es"}  greet through the form
//   {"screenshot": "/path/to/file.png"}                                          save the page
//
// Output, one JSON line per result on stdout (tests/browser.rs parses them):
//   {"step": 0, "state": "done" | "error", "greeting": "...", "error": "..." | null, "code": "..." | null,
//    "errorColor": "rgb(..)" | null, "call": {"protocol", "url", "status", "grpcStatus", "requestId", "latency"} | null}
// where "call" holds the texts of the page's "last call" panel, null while it is hidden.
// Step 0 is the greeting on load. Browser console messages go to stderr.
//
// Environment: GREET_CHROMIUM (default /usr/bin/chromium). Never downloads a browser.

import { chromium } from "playwright-core";
import { withPage } from "./chromium.mjs";

const [pageUrl, stepsJson = "[]"] = process.argv.slice(2);
if (!pageUrl) {
  console.error("usage: node page.mjs <page-url> '<steps as JSON>'");
  process.exit(64);
}
const steps = JSON.parse(stepsJson);

await withPage(chromium, "page.mjs", { viewport: { width: 560, height: 420 } }, async (page) => {
  await page.goto(pageUrl);
  report(0, await settled(page));

  for (const [index, step] of steps.entries()) {
    if (step.screenshot) {
      await page.screenshot({ path: step.screenshot, fullPage: true });
      continue;
    }
    await page.check(`#protocol-${step.protocol ?? "rest"}`);
    await page.fill("#name", step.name ?? "");
    await page.selectOption("#lang", step.lang ?? "en");
    await page.click("#greet-button"); // app.js sets data-state="loading" synchronously
    report(index + 1, await settled(page));
  }
});

/** Waits for the current call to finish, then reads what the page shows. */
async function settled(page) {
  await page.waitForSelector('#greeting[data-state="done"], #greeting[data-state="error"]');
  return page.evaluate(() => {
    const greeting = document.getElementById("greeting");
    const error = document.getElementById("error");
    const text = (id) => document.getElementById(id).textContent;
    return {
      state: greeting.dataset.state,
      greeting: greeting.textContent,
      error: error?.textContent ?? null,
      code: error?.dataset.code || null, // none when the browser blocked the call
      errorColor: error ? getComputedStyle(error).color : null,
      call: document.getElementById("call").hidden
        ? null
        : {
            protocol: text("call-protocol"),
            url: text("call-url"),
            status: text("call-status"),
            grpcStatus: text("call-grpc-status"),
            requestId: text("call-request-id"),
            latency: text("call-latency"),
          },
    };
  });
}

function report(step, result) {
  console.log(JSON.stringify({ step, ...result }));
}
