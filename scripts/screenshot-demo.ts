/**
 * Takes `visualizations/demo.png`: the dashboard of `npm start` after a few of
 * its faults, so the README shows what a new user sees. Runs the demo for real
 * (about 15 s), in headless chromium.
 *
 *   npm run screenshot
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { launchChromium } from './headless-chromium.js';

const demo = spawn(process.execPath, ['--import', 'tsx', 'examples/main.ts', '--duration', '40'], { stdio: ['ignore', 'pipe', 'inherit'] });
let output = '';
const url = await new Promise<string>((resolve, reject) => {
  demo.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const match = /dashboard: (\S+)/.exec(output);
    if (match) resolve(match[1]!);
  });
  demo.once('exit', () => reject(new Error(`the demo exited before printing its dashboard:\n${output}`)));
});

const browser = await launchChromium(10_000);
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(url);
  // Three faults come and go in the first 13 s: REST sockets dropped, the stream dropped, REST reset.
  await page.waitForTimeout(13_500);
  await page.screenshot({ path: 'visualizations/demo.png', fullPage: true });
  console.log('wrote visualizations/demo.png');
} finally {
  await browser.close();
  demo.kill('SIGINT');
  await once(demo, 'exit');
}
