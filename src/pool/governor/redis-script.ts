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
 *           for one window from then; in a window whose used-weight header the response carried,
 *           the venue's count replaces what it surely covers (below)
 *  cancel, refund: remove the member (never sent, or never left the process)
 *  add:     a synthetic member per window, ARGV weights (a degraded process's own spend, pushed on recovery)
 *  used:    trim and sum -> { sums... }
 * ```
 * ARGV: op, id, weight, ttl, then per window: per, cap (add: per, weight; commit: per, the venue's used
 * weight or -1). Sums are O(members): a window holds at most its cap's worth of members, each of weight >= 1,
 * plus one correction member.
 *
 * The venue's used-weight header corrects the fleet's count (issue 18, item 2), in the commit of the
 * request R it answered, atomically. The rule:
 * ```
 *  cutoff = R's reserve time (its member's score - ttl, on Redis's clock; R was sent after it)
 *  covered = every member scored <= cutoff (committed, so settled, before R was even sent: each one
 *            arrived at the venue before R did), and R itself (a venue counts the request it answers)
 *  if a correction with a later cutoff already ran: nothing (this answer is older than one applied)
 *  else: covered (earlier corrections with it, when they ran before R's reserve) is replaced by
 *        one member `~c<cutoff>:<used>` dated now
 *  untouched: every member scored after cutoff: reservations not yet sent or still in flight (scored
 *            in the future), and requests that settled after R was reserved (the venue may not have had
 *            them when it answered)
 * ```
 * So the count never goes below what the fleet has reserved, sent or settled since R's reserve, plus
 * the venue's own count: a venue counting a sliding window of `per` frees each request it counted at
 * most `per` after its answer, and the correction member frees `per` after the correction, later
 * still. Both ways, then: down when the venue forgot what we still count (its window reset, or a
 * request we counted never reached it), up when it counts more (other clients on the key). It
 * over-counts what the fleet had in flight when R was answered (they count in `used` and as
 * themselves) until they leave the window: a cost in throughput, never an overrun. A reservation
 * older than `ttl` counts as covered (the README asks for a `ttl` longer than the slowest request).
 * A member gone (R's reservation expired, or Redis restarted) gives no cutoff: the plain commit.
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
  local corrected = 0
  for i = 1, #KEYS do
    local per = tonumber(ARGV[3 + 2 * i])
    local used = tonumber(ARGV[4 + 2 * i])
    local score = redis.call('ZSCORE', KEYS[i], member)
    local correct = used >= 0 and score
    if correct then
      local cutoff = tonumber(score) - ttl
      -- A correction with a later cutoff means this answer is older than one that counted. One with an
      -- earlier cutoff goes only when it ran before R's reserve (scored <= cutoff, below): one that ran
      -- later may count what reached the venue after R's answer, from outside the fleet.
      for _, m in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
        local c = string.match(m, '^~c([%d%.]+):')
        if c and tonumber(c) >= cutoff then correct = false break end
      end
      if correct then
        redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', string.format('%.3f', cutoff))
        redis.call('ZREM', KEYS[i], member)
        redis.call('ZADD', KEYS[i], string.format('%.3f', now), '~c' .. string.format('%.3f', cutoff) .. ':' .. used)
        corrected = corrected + 1
      end
    end
    if not correct then redis.call('ZADD', KEYS[i], string.format('%.3f', now), member) end
    redis.call('PEXPIRE', KEYS[i], per + ttl)
  end
  return { 1, corrected }
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
