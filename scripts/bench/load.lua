-- wrk script: every thread (one connection each) owns its share of the agents and walks
-- them round by round, alternating activate and complete, so every event is allowed.
-- The count moves on each response, not each request: wrk calls request() once more on
-- the first thread, to check the script, without sending what it returns.
local agents = tonumber(os.getenv("BENCH_AGENTS"))
local threads = tonumber(os.getenv("BENCH_THREADS"))
local key = os.getenv("BENCH_KEY")
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  owned = math.floor(agents / threads)
  sent = 0
  headers = { ["Content-Type"] = "application/json", ["X-API-Key"] = key }
end

function request()
  local index = sent % owned
  local round = math.floor(sent / owned)
  local agent = tid + index * threads
  local event = (round % 2 == 0) and "activate" or "complete"
  local body = '{"event":"' .. event .. '","data":{}}'
  return wrk.format("POST", "/v1/agents/a" .. agent .. "/events", headers, body)
end

function response(status, headers, body)
  sent = sent + 1
end
