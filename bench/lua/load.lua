-- wrk script for the whole suite. Every request is formatted once, at start.
--   BENCH_FILE     lines "token<TAB>body": token "-" for none, body empty for none
--   BENCH_METHOD   GET or POST; BENCH_PATH the path
--   BENCH_MODE     "random": any line, any number of times (session check, sign-in);
--                  "once": each line used once (single-use flows and codes), split
--                  between the BENCH_THREADS threads
--   BENCH_EXPECT   if set, a Lua pattern a 2xx answer's body must match to count as a
--                  success (privacyIDEA answers 200 to a wrong code); the others are
--                  counted with the non-2xx
-- done() prints one machine-readable line, RESULT …, which bench/run reads.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  threads[#threads + 1] = thread
end

local expect = os.getenv("BENCH_EXPECT")
if expect then
  bad = 0
  function response(status, headers, body)
    if status >= 200 and status < 300 and not (body and body:find(expect)) then
      bad = bad + 1
    end
  end
end

function init(args)
  local path = os.getenv("BENCH_PATH") or "/"
  local method = os.getenv("BENCH_METHOD") or "GET"
  local file = os.getenv("BENCH_FILE")
  local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
  mode = os.getenv("BENCH_MODE") or "random"
  reqs = {}
  next_req = 1
  local i = 0
  if file then
    for line in io.lines(file) do
      if mode ~= "once" or i % threads == tid then
        local token, body = line:match("^([^\t]*)\t?(.*)$")
        local headers = {}
        if token ~= "-" and token ~= "" then
          headers["Authorization"] = "Bearer " .. token
        end
        if body == "" then
          body = nil
        else
          headers["Content-Type"] = "application/json"
        end
        reqs[#reqs + 1] = wrk.format(method, path, headers, body)
      end
      i = i + 1
    end
  end
  if #reqs == 0 then
    reqs[1] = wrk.format(method, path)
  end
  math.randomseed(os.time() + 7919 * (tid or 0))
end

function request()
  if mode == "once" then
    local r = reqs[next_req]
    -- Past the end the flows are spent: reused lines fail and are counted as such.
    next_req = next_req % #reqs + 1
    return r
  end
  return reqs[math.random(#reqs)]
end

function done(summary, latency, requests)
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local wrong = 0
  for _, thread in ipairs(threads) do
    wrong = wrong + (tonumber(thread:get("bad")) or 0)
  end
  local ok = summary.requests - e.status - socket - wrong
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d ok=%d non2xx=%d socket_errors=%d seconds=%.3f rps=%.1f ok_rps=%.1f p50_ms=%.3f p99_ms=%.3f\n",
    summary.requests, ok, e.status + wrong, socket, seconds, summary.requests / seconds, ok / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
