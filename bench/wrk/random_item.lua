-- wrk script: every request GETs a random existing item, `<prefix><n as 7 digits>`.
-- Arguments (after `--`): the path prefix, e.g. /collections/bench-stream-1m/key-, and the
-- number of items n is drawn from (1 .. count). Headers given with -H are sent as usual.
local prefix = "/"
local count = 1

function init(args)
  prefix = args[1]
  count = tonumber(args[2])
  -- A different sequence per wrk thread: each thread has its own Lua state and table address.
  math.randomseed(os.time() + tonumber(string.match(tostring({}), "0x(%x+)") or "0", 16) % 100000)
end

function request()
  return wrk.format(nil, string.format("%s%07d", prefix, math.random(1, count)))
end
