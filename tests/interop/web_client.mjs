// One Greet call through web/client.js's greetConnect (the demo page's own
// dependency-free client), in Node, whose fetch is the browser's API.
//
//   node web_client.mjs <base-url>   (GreetRequest as JSON on stdin)
//
// Prints one JSON line: {"greeting", "timestamp"} as greetConnect resolves,
// or {"error": {"name", "code", "message", "status"}} for the ConnectError it
// rejects with. Anything else is a crash: exit 1.
import { readFileSync } from "node:fs";
import { ConnectError, greetConnect } from "../../web/client.js";

const [baseUrl] = process.argv.slice(2);
if (!baseUrl) {
  console.error("usage: node web_client.mjs <base-url> < request.json");
  process.exit(2);
}
try {
  // The response alone; what the browser saw of the call (`call`) is the
  // demo page's business and tests/browser.rs checks it.
  const { greeting, timestamp } = await greetConnect(baseUrl, JSON.parse(readFileSync(0, "utf8")));
  console.log(JSON.stringify({ greeting, timestamp }));
} catch (err) {
  if (!(err instanceof ConnectError)) throw err;
  const { name, code, message, status } = err;
  console.log(JSON.stringify({ error: { name, code, message, status } }));
}
