// Greet calls made by Connect's gRPC-Web client INSIDE Debian's headless
// Chromium: a page on one origin imports gen/browser/connect.js (setup.sh
// bundles connect_browser_entry.mjs into it) and calls the API on another,
// so every call goes through the browser's CORS checks.
//
//   node connect_browser.mjs <page-origin> <api-url> '<GreetRequests as a JSON array>' [kind...]
//
// Each request is sent over each kind of transport in turn (default
// grpc-web; connect-json and connect-binary are the Connect protocol).
//
// <page-origin> is http://127.0.0.1:<port>: this script serves a blank page
// and the bundle there, on a real socket, because Chromium lets a page reach
// a loopback API only from a loopback address (Local Network Access; a page
// answered by page.route() counts as public and is refused). Prints one JSON
// line per request, as connect_client.mjs does:
// {"greeting", "timestamp"} or {"error": {"code", "message"}}. The browser
// console goes to stderr.
//
// Environment: GREET_CHROMIUM (default /usr/bin/chromium). Never downloads a browser.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:http";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [pageOrigin, apiUrl, requestsJson, ...kindArgs] = process.argv.slice(2);
const kinds = kindArgs.length ? kindArgs : ["grpc-web"];
if (!pageOrigin || !apiUrl || !requestsJson) {
  console.error("usage: node connect_browser.mjs <page-origin> <api-url> '<requests as JSON>'");
  process.exit(64);
}
const requests = JSON.parse(requestsJson);
const bundle = readFileSync(new URL("gen/browser/connect.js", import.meta.url));

// Stop by ourselves whatever happens (a hung browser must not hang cargo test).
setTimeout(() => {
  console.error("connect_browser.mjs: gave up after 60 s");
  process.exit(3);
}, 60_000).unref();

// The page's origin: a blank page that the calls start from, and the bundle.
const pages = {
  "/": ["text/html", '<!doctype html><link rel="icon" href="data:,"><title>connect-web</title>'],
  "/connect.js": ["text/javascript", bundle],
};
const server = createServer((req, res) => {
  const [type, body] = pages[req.url] ?? ["text/plain", "not found"];
  res.writeHead(pages[req.url] ? 200 : 404, { "content-type": type });
  res.end(body);
});
const { hostname, port } = new URL(pageOrigin);
await new Promise((resolve, reject) => {
  server.once("error", reject);
  server.listen(Number(port), hostname, resolve);
});

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
});

try {
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  page.on("console", (msg) => console.error(`[console.${msg.type()}] ${msg.text()}`));
  page.on("pageerror", (error) => console.error(`[pageerror] ${error.message}`));

  await page.goto(`${pageOrigin}/`);
  for (const kind of kinds) {
    for (const request of requests) {
      // Runs in the page: import the bundle, make the call, return its outcome.
      const result = await page.evaluate(
        async ([baseUrl, request, kind]) => (await import("/connect.js")).greet(baseUrl, request, kind),
        [apiUrl, request, kind],
      );
      console.log(JSON.stringify(result));
    }
  }
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
  server.close();
}
