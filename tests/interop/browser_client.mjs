// Greet calls made by a JavaScript client INSIDE Debian's headless Chromium:
// a page on one origin imports the client's bundle (setup.sh bundles each
// *_browser_entry.mjs into gen/browser/) and calls the API on another, so
// every call goes through the browser's CORS checks.
//
//   node browser_client.mjs <client> <page-origin> <api-url> '<GreetRequests as a JSON array>'
//
// <client> is one of CLIENTS below: Connect's gRPC-Web transport
// (connect-web), or Google's grpc-web runtime in its two modes (grpc-web-text,
// its default, and grpc-web-binary). Each bundle exports
// greet(baseUrl, request, options).
//
// <page-origin> is http://127.0.0.1:<port>: this script serves a blank page
// and the bundle there, on a real socket, because Chromium lets a page reach
// a loopback API only from a loopback address (Local Network Access; a page
// answered by page.route() counts as public and is refused). Prints one JSON
// line per request: the response in proto3 JSON, or {"error": {"code",
// "message"}} (the client's own code: Connect's name, grpc-web's number).
// The browser console goes to stderr.
//
// Environment: GREET_CHROMIUM (default /usr/bin/chromium). Never downloads a browser.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:http";
import { join } from "node:path";
import { chromium } from "playwright-core";

/** Each client: its bundle in gen/browser/, and the options its greet() takes. */
const CLIENTS = {
  "connect-web": ["connect.js", {}],
  "grpc-web-text": ["grpc-web.js", { format: "text" }],
  "grpc-web-binary": ["grpc-web.js", { format: "binary" }],
};

const [clientName, pageOrigin, apiUrl, requestsJson] = process.argv.slice(2);
if (!CLIENTS[clientName] || !pageOrigin || !apiUrl || !requestsJson) {
  console.error(
    `usage: node browser_client.mjs <${Object.keys(CLIENTS).join("|")}> <page-origin> <api-url> '<requests as JSON>'`,
  );
  process.exit(64);
}
const [bundleName, options] = CLIENTS[clientName];
const requests = JSON.parse(requestsJson);
const bundle = readFileSync(new URL(`gen/browser/${bundleName}`, import.meta.url));

// Stop by ourselves whatever happens (a hung browser must not hang cargo test).
setTimeout(() => {
  console.error("browser_client.mjs: gave up after 60 s");
  process.exit(3);
}, 60_000).unref();

// The page's origin: a blank page that the calls start from, and the bundle.
const pages = {
  "/": ["text/html", `<!doctype html><link rel="icon" href="data:,"><title>${clientName}</title>`],
  "/client.js": ["text/javascript", bundle],
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
  for (const request of requests) {
    // Runs in the page: import the bundle, make the call, return its outcome.
    const result = await page.evaluate(
      async ([baseUrl, request, options]) =>
        (await import("/client.js")).greet(baseUrl, request, options),
      [apiUrl, request, options],
    );
    console.log(JSON.stringify(result));
  }
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
  server.close();
}
