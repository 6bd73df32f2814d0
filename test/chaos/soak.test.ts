/**
 * The chaos soak, bounded: about 16 s of seeded random faults against a pool of
 * 8 slots and 20 feeds, then the heal; about 20 s in all. The seed is fixed so a
 * failure replays (`npm run soak -- --seconds 16 --seed <seed>` runs the same
 * schedule; the network's interleaving still varies). Longer runs: `npm run soak`.
 */
import { describe, expect, it } from 'vitest';
import { FAULT_KINDS } from './faults.js';
import { formatSummary, runSoak } from './soak.js';

const SEED = Number(process.env.LIFELINE_SOAK_SEED) || 20_250_707;
const SECONDS = 16;

describe('chaos soak', () => {
  it(`keeps every rule under ${SECONDS} s of random faults and heals to full (seed ${SEED})`, { timeout: 90_000 }, async () => {
    console.log(`chaos soak: seed ${SEED}, ${SECONDS} s`);
    const summary = await runSoak({ seconds: SECONDS, seed: SEED });
    console.log(formatSummary(summary));
    expect(summary.violations).toEqual([]);
    expect(summary.postKeysDuplicated).toBe(0);
    expect(summary.timeToFullHealthMs).toBeDefined();
    // The run did what it claims: every fault kind met, real traffic through it, feeds reconnected.
    for (const kind of FAULT_KINDS) expect(summary.faults[kind], kind).toBeGreaterThan(0);
    // Traffic, not speed: an idle machine serves ~28k here, one with four busy loops on two cores
    // under 400 (1_000 failed there). No assertion of this test may depend on how loaded the machine is.
    expect(summary.requests.ok).toBeGreaterThan(100);
    expect(summary.requests.failed).toBeGreaterThan(0);
    expect(summary.requests.acquires).toBeGreaterThan(0);
    expect(summary.subscriptionChanges).toBeGreaterThan(0);
    expect(summary.feedConnections).toBeGreaterThan(20);
  });
});
