// Greet calls made by a JavaScript client INSIDE Debian's headless Chromium:
// a page on one origin imports the client's bundle (setup.sh bundles each
// *_browser_entry.mjs into gen/browser/) and calls the API on another, so
// every call goes through the browser's CORS checks.
//
//   node browser_client.mjs <client> <page-origin> <api-url> '<GreetRequests as a JSON array>'
//
// <client> is one of CLIENTS below: connect-web's gRPC-Web transport
// (connect-web) or its Connect transport (connect-json, connect-binary), or
// Google's grpc-web runtime in its two modes (grpc-web-text,
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
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { chromium } from "playwright-core";
import { withPage } from "../browser/chromium.mjs";

/** Each client: its bundle in gen/browser/, and the options its greet() takes. */
const CLIENTS = {
  "connect-web": ["connect.js", {}],
  "connect-json": ["connect.js", { transport: "connect-json" }],
  "connect-binary": ["connect.js", { transport: "connect-binary" }],
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

try {
  await withPage(chromium, "browser_client.mjs", {}, async (page) => {
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
  });
} finally {
  server.close();
}
