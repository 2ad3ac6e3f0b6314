-- wrk's request script for the receiver's load benchmark and load test.
--
--   wrk -s receiver.lua ...  URL
--
-- Environment (read once per wrk thread):
--   WRK_METHOD   request method (default POST)
--   WRK_TOKEN    when set, sent as `Authorization: Bearer WRK_TOKEN`; read
--                from the environment so that no token is on a command line
--   WRK_BODY     request body (default none)
--   WRK_BODY_REPEAT  the body repeated that many times (an oversized body)
--   WRK_EXPECT   the status every answer must have (default: none checked);
--                done() prints `unexpected: N of M` (M answers counted), and
--                the first unexpected status seen, for the caller to check
--
-- Counting statuses makes wrk call response() for every answer, which
-- costs wrk some speed: the benchmark leaves WRK_EXPECT unset and reads
-- wrk's own "Non-2xx or 3xx responses" line instead.
local method = os.getenv("WRK_METHOD") or "POST"
local token = os.getenv("WRK_TOKEN")
local body = os.getenv("WRK_BODY")
local rep = tonumber(os.getenv("WRK_BODY_REPEAT") or "1")
local expect = tonumber(os.getenv("WRK_EXPECT") or "")

if body ~= nil and rep ~= nil and rep > 1 then
  body = string.rep(body, rep)
end

local headers = {}
if token ~= nil and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end
if body ~= nil then
  headers["Content-Type"] = "application/json"
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

-- One request, formatted once: wrk sends the same bytes every time.
local req

function init(args)
  req = wrk.format(method, nil, headers, body)
  unexpected = 0
  answers = 0
  first_unexpected = 0
end

function request()
  return req
end

if expect ~= nil then
  function response(status, hdrs, resp_body)
    answers = answers + 1
    if status ~= expect then
      unexpected = unexpected + 1
      if first_unexpected == 0 then
        first_unexpected = status
      end
    end
  end
end

function done(summary, latency, requests)
  if expect == nil then
    return
  end
  local bad, n, first = 0, 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("unexpected")
    n = n + t:get("answers")
    local f = t:get("first_unexpected")
    if first == 0 and f ~= 0 then
      first = f
    end
  end
  io.write(string.format("unexpected: %d of %d (expected %d, first other %d)\n",
    bad, n, expect, first))
end
