-- wrk: a unary Connect call in JSON, POST /greet.v1.GreetService/Greet, as
-- connect-web's createConnectTransport sends it from a browser page (with
-- an allowed Origin): rest.lua's body, headers and report, plus
-- Connect-Protocol-Version. A Connect error is a 4xx or 5xx, which wrk
-- counts itself.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "rest.lua")
wrk.headers["Connect-Protocol-Version"] = "1"
