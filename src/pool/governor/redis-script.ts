/**
 * The one Lua script behind the Redis store: every call is one EVALSHA, atomic on the server,
 * timed by the server's `TIME` (so no two machines' clocks disagree).
 *
 * Each window is a sorted set (KEYS[i]); a member is `id:weight`, scored by the time it counts from:
 * ```
 *  reserve: trim expired, sum, and only if every window holds sum + weight <= cap,
 *           add the member scored at now + ttl (a held or in-flight reservation counts until
 *           ttl + per from now, so one whose process died frees itself; a live one is re-scored
 *           when its request settles)
 *           -> { 1, sums... } or { 0, wait ms, sums... }
 *  commit:  re-score the member at now (its request settled, so the venue has had it): it counts
 *           for one window from then
 *  cancel, refund: remove the member (never sent, or never left the process)
 *  add:     a synthetic member per window, ARGV weights (a degraded process's own spend, pushed on recovery)
 *  used:    trim and sum -> { sums... }
 * ```
 * ARGV: op, id, weight, ttl, then per window: per, cap (add: per, weight). Sums are O(members): a window
 * holds at most its cap's worth of members, each of weight >= 1.
 */
export const BUDGET_SCRIPT = `
local op = ARGV[1]
local member = ARGV[2] .. ':' .. ARGV[3]
local weight = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local t = redis.call('TIME')
-- Microseconds kept: a window that frees at exactly score + per must not free a ms early.
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000

local function sum(key, per)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.3f', now - per))
  local total = 0
  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    total = total + tonumber(string.match(m, ':(%d+)$'))
  end
  return total
end

if op == 'cancel' then
  for i = 1, #KEYS do redis.call('ZREM', KEYS[i], member) end
  return { 1 }
end

if op == 'commit' then
  for i = 1, #KEYS do
    redis.call('ZADD', KEYS[i], string.format('%.3f', now), member)
    redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3 + 2 * i]) + ttl)
  end
  return { 1 }
end

if op == 'add' then
  for i = 1, #KEYS do
    local w = tonumber(ARGV[4 + 2 * i])
    if w > 0 then
      redis.call('ZADD', KEYS[i], string.format('%.3f', now), ARGV[2] .. ':' .. w)
      redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[3 + 2 * i]) + ttl)
    end
  end
  return { 1 }
end

local sums = {}
local wait = 0
for i = 1, #KEYS do
  local per = tonumber(ARGV[3 + 2 * i])
  local cap = tonumber(ARGV[4 + 2 * i])
  local used = sum(KEYS[i], per)
  sums[i] = used
  local over = used + weight - cap
  if op == 'reserve' and over > 0 then
    -- The oldest members leave first: wait until enough of them have.
    local freed = 0
    local members = redis.call('ZRANGE', KEYS[i], 0, -1, 'WITHSCORES')
    local w = per
    for j = 1, #members, 2 do
      freed = freed + tonumber(string.match(members[j], ':(%d+)$'))
      if freed >= over then
        w = math.max(1, tonumber(members[j + 1]) + per - now)
        break
      end
    end
    wait = math.max(wait, w)
  end
end

if op == 'used' then return sums end

if wait > 0 then
  local reply = { 0, math.ceil(wait) }
  for i = 1, #sums do reply[i + 2] = sums[i] end
  return reply
end
local reply = { 1 }
for i = 1, #KEYS do
  local per = tonumber(ARGV[3 + 2 * i])
  redis.call('ZADD', KEYS[i], string.format('%.3f', now + ttl), member)
  redis.call('PEXPIRE', KEYS[i], per + 2 * ttl)
  reply[i + 1] = sums[i] + weight
end
return reply
`;
