"""The Lua scripts behind shared admission (router/dispatch/shared.py).

Why Lua on sorted sets: taking a slot is "reap expired leases, hand free slots to the queue's
head, then take one or join the queue", and that must be one atomic step across every worker
and replica; a script runs atomically in Redis, in one round trip. Sorted sets give both orders
needed: leases by expiry (reaping is one ZREMRANGEBYSCORE) and waiters by arrival (a counter's
INCR is the score, so the head is ZPOPMIN and leaving the line is ZREM). A waiter is told it
got a slot by PUBLISH, so no one polls. Time is Redis's own (TIME), so replicas whose clocks
disagree still agree on when a lease ran out.

Keys of one lane (one hash tag, so a cluster keeps them together):
    KEYS[1] held     ticket -> lease expiry (ms)
    KEYS[2] queue    ticket -> arrival number
    KEYS[3] waiting  ticket -> liveness expiry (ms): a waiter whose process died is dropped
    KEYS[4] arrivals the counter that numbers arrivals
"""

from __future__ import annotations

COMMON = """
local held, queue, waiting, arrivals = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function reap(now)
  redis.call('ZREMRANGEBYSCORE', held, '-inf', now)
  for _, gone in ipairs(redis.call('ZRANGEBYSCORE', waiting, '-inf', now)) do
    redis.call('ZREM', queue, gone)
  end
  redis.call('ZREMRANGEBYSCORE', waiting, '-inf', now)
end
local function grant(now, limit, ttl, channel)
  while redis.call('ZCARD', held) < limit do
    local head = redis.call('ZPOPMIN', queue)
    if #head == 0 then return end
    redis.call('ZREM', waiting, head[1])
    redis.call('ZADD', held, now + ttl, head[1])
    redis.call('PUBLISH', channel, head[1])
  end
end
-- ms until the lease that the queue's head waits behind runs out; -1 when no one waits
local function head_waits_for(now)
  if redis.call('ZCARD', queue) == 0 then return -1 end
  local first = redis.call('ZRANGE', held, 0, 0, 'WITHSCORES')
  if #first == 0 then return -1 end
  return math.max(tonumber(first[2]) - now, 0)
end
"""

# ARGV: ticket, limit, depth, ttl_ms, channel -> {1 granted, 2 queued or 0 the queue is full,
# ms until the first lease ends (-1 unless queued)}
ENTER = (
    COMMON
    + """
local ticket, limit, depth = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl, channel = tonumber(ARGV[4]), ARGV[5]
local now = now_ms()
reap(now)
grant(now, limit, ttl, channel)
if redis.call('ZCARD', queue) == 0 and redis.call('ZCARD', held) < limit then
  redis.call('ZADD', held, now + ttl, ticket)
  return {1, -1}
end
if redis.call('ZCARD', queue) >= depth then return {0, -1} end
redis.call('ZADD', queue, redis.call('INCR', arrivals), ticket)
redis.call('ZADD', waiting, now + ttl, ticket)
return {2, head_waits_for(now)}
"""
)

# ARGV: ticket, limit, ttl_ms, channel. Gives a slot back, or leaves the queue (a waiter that
# gave up); a slot granted just as its waiter gave up goes on to the next in line.
LEAVE = (
    COMMON
    + """
local ticket, limit, ttl, channel = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
redis.call('ZREM', held, ticket)
redis.call('ZREM', queue, ticket)
redis.call('ZREM', waiting, ticket)
local now = now_ms()
reap(now)
grant(now, limit, ttl, channel)
return 1
"""
)

# ARGV: limit, ttl_ms, channel, ticket... -> {ms until the lease the queue waits behind ends (-1
# when no one waits), the given tickets that hold a slot now...}. Extends this
# process's leases and waiters' liveness, and frees what dead holders left: every process runs
# it for every lane a few times per lease, so a slot never outlives its holder by much.
RENEW = (
    COMMON
    + """
local limit, ttl, channel = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local now = now_ms()
reap(now)
for i = 4, #ARGV do
  redis.call('ZADD', held, 'XX', now + ttl, ARGV[i])
  redis.call('ZADD', waiting, 'XX', now + ttl, ARGV[i])
end
grant(now, limit, ttl, channel)
local holding = {head_waits_for(now)}
for i = 4, #ARGV do
  if redis.call('ZSCORE', held, ARGV[i]) then holding[#holding + 1] = ARGV[i] end
end
return holding
"""
)
