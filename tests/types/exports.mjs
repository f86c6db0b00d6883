// The value exports of web/client.d.ts (as TypeScript reads them) and of
// web/client.js (as a JavaScript engine loads it), for tests/types.rs to
// compare. Prints one JSON line: {"declared": [...], "implemented": [...]},
// each sorted. Interfaces and type aliases are not values: not listed.
//
//   node tests/types/exports.mjs
import ts from "typescript";

const declarations = new URL("../../web/client.d.ts", import.meta.url).pathname;
const program = ts.createProgram([declarations], { noEmit: true, types: [] });
const checker = program.getTypeChecker();
const file = program.getSourceFile(declarations);
const module = file && checker.getSymbolAtLocation(file);
if (!module) throw new Error(`${declarations}: not a module`);
const declared = checker
  .getExportsOfModule(module)
  .filter((symbol) => symbol.flags & ts.SymbolFlags.Value)
  .map((symbol) => symbol.name);

const implemented = Object.keys(await import("../../web/client.js"));

console.log(JSON.stringify({ declared: declared.sort(), implemented: implemented.sort() }));
