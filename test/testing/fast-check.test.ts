/**
 * The fast-check bridge (lifeline-supervisor/testing/fast-check) without sockets:
 * its sequences are steps the model takes, they reach two reconnects of a feed
 * (which no simple path does), the runner sees exactly the path fast-check
 * runs, and src/ never loads fast-check itself (an optional peer dependency).
 */
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { feedMachine, type ModelPath, type PathSystem } from '../../src/testing/index.js';
import { modelCommands } from '../../src/testing/fast-check.js';
import { propertyParams } from '../helpers/seed.js';
import { feedReconnects } from '../helpers/model.js';

describe('modelCommands', () => {
  it('runs sequences of steps the model takes, as one path each, deep enough for two reconnects', async () => {
    const ran: ModelPath[] = [];
    const performed: string[][] = [];
    // A model-only system: it records what the runner hands it.
    const system: PathSystem<{ events: string[] }> = {
      start: (path) => {
        ran.push(path);
        return { events: [] };
      },
      actions: (run) => new Proxy({}, { get: () => (step: ModelPath['steps'][number]) => void run.events.push(step.event.type) }),
      stop: (run) => void performed.push(run.events),
    };
    const filterEvents = (_: unknown, event: { type: string }) =>
      !['close', 'subscribe', 'unsubscribe', 'setUrls', 'always[reconnectsExhausted]'].includes(event.type);
    const { commands, run } = modelCommands(fc, feedMachine, system, { filterEvents, maxCommands: 40 });
    await fc.assert(fc.asyncProperty(commands, run), propertyParams('model commands', { numRuns: 30 }));

    expect(ran.length).toBe(30);
    // Every command was a step: the runner performed each event of its path, in order.
    expect(performed).toEqual(ran.map((path) => path.steps.slice(1).map((step) => step.event.type)));
    const depth = ran.map((path) => feedReconnects(path));
    console.log(`model commands: reconnects per sequence: ${depth.join(' ')}`);
    expect(depth.filter((n) => n >= 2).length).toBeGreaterThan(3);
  });

  it('src/ never loads fast-check: its one mention is a type import', () => {
    const root = new URL('../../src/', import.meta.url).pathname;
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const imports = files(root).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/^import (type )?.*from 'fast-check';$/gm)].map((m) => `${file.slice(root.length)}: ${m[0]}`),
    );
    expect(imports).toEqual(["testing/fast-check.ts: import type FastCheck from 'fast-check';"]);
  });
});
