// Opens the HTML report in headless Chromium through the DevTools protocol over a pipe (no
// port, no npm package): at 1440 px it must show one bandwidth and one p99 latency heatmap per
// rail, no console error (the page's CSP turns any fetch into one), no horizontal scrolling,
// and print to PDF. Saves a full-page screenshot and the PDF.
// Usage: node html_check.mjs CHROMIUM REPORT.html SCREENSHOT.png PRINT.pdf RAIL[,RAIL...] [MAX_HEIGHT]
// (docs/img/report.png is this script's screenshot of tests/reports/golden/report.html, 1500 px high.)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [chromium, html, png, pdf, railList, maxHeight] = process.argv.slice(2);
const rails = railList.split(',');
const width = 1440;
const profile = mkdtempSync(path.join(tmpdir(), 'railcheck-chromium-'));
const browser = spawn(chromium, [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--remote-debugging-pipe',
  `--user-data-dir=${profile}`, '--no-first-run', '--no-default-browser-check', '--disable-extensions',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars',
  '--font-render-hinting=none', 'about:blank',
], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
let browserLog = '';
browser.stderr.on('data', (d) => { browserLog += d; });

const toBrowser = browser.stdio[3];
const fromBrowser = browser.stdio[4];
let nextId = 1;
const waiting = new Map();
const listeners = [];
let buffered = '';
fromBrowser.on('data', (chunk) => {
  buffered += chunk.toString('utf8');
  let end;
  while ((end = buffered.indexOf('\0')) >= 0) {
    const message = JSON.parse(buffered.slice(0, end));
    buffered = buffered.slice(end + 1);
    if (message.id && waiting.has(message.id)) {
      const { resolve, reject, method } = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) reject(new Error(`${method}: ${message.error.message}`));
      else resolve(message.result);
    } else if (message.method) {
      for (const listen of listeners) listen(message);
    }
  }
});

function send(method, params = {}, sessionId = undefined) {
  const id = nextId++;
  toBrowser.write(JSON.stringify({ id, method, params, sessionId }) + '\0');
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject, method }));
}

function fail(problems) {
  for (const p of problems) console.error(`FAIL: ${p}`);
  process.exitCode = 1;
}

const timer = setTimeout(() => {
  console.error(`FAIL: timed out; chromium said:\n${browserLog}`);
  browser.kill('SIGKILL');
  process.exit(1);
}, 90_000);

try {
  const problems = [];
  const consoleErrors = [];
  listeners.push((m) => {
    if (m.method === 'Runtime.consoleAPICalled' && ['error', 'assert'].includes(m.params.type)) {
      consoleErrors.push(`console.${m.params.type}: ${m.params.args.map((a) => a.value ?? a.description).join(' ')}`);
    } else if (m.method === 'Runtime.exceptionThrown') {
      consoleErrors.push(`exception: ${m.params.exceptionDetails.text}`);
    } else if (m.method === 'Log.entryAdded' && m.params.entry.level === 'error') {
      consoleErrors.push(`${m.params.entry.source}: ${m.params.entry.text} ${m.params.entry.url ?? ''}`);
    }
  });
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const page = (method, params) => send(method, params, sessionId);
  await page('Runtime.enable');
  await page('Log.enable');
  await page('Page.enable');
  await page('Emulation.setDeviceMetricsOverride', { width, height: 900, deviceScaleFactor: 1, mobile: false });
  const loaded = new Promise((resolve) => listeners.push((m) => {
    if (m.method === 'Page.loadEventFired' && m.sessionId === sessionId) resolve();
  }));
  await page('Page.navigate', { url: pathToFileURL(path.resolve(html)).href });
  await loaded;
  await new Promise((resolve) => setTimeout(resolve, 300));  // late console messages

  const { result } = await page('Runtime.evaluate', {
    returnByValue: true,
    expression: `(() => {
      const maps = [...document.querySelectorAll('svg.heatmap')];
      return {
        maps: maps.map((m) => ({ rail: m.dataset.rail, metric: m.dataset.metric,
                                  cells: m.querySelectorAll('g.cell').length,
                                  width: m.getBoundingClientRect().width })),
        scrollWidth: document.documentElement.scrollWidth,
        height: document.documentElement.scrollHeight,
        verdict: document.querySelector('#verdict')?.textContent ?? '',
        failures: document.querySelectorAll('#failures tbody tr').length,
        nodes: document.querySelectorAll('#nodes .node').length,
      };
    })()`,
  });
  const info = result.value;
  for (const rail of rails) {
    for (const metric of ['bandwidth', 'latency_p99']) {
      const n = info.maps.filter((m) => m.rail === rail && m.metric === metric).length;
      if (n !== 1) problems.push(`rail ${rail}: ${n} ${metric} heatmap(s), want 1`);
    }
  }
  if (info.maps.length !== 2 * rails.length) problems.push(`${info.maps.length} heatmaps, want ${2 * rails.length}`);
  for (const m of info.maps) {
    if (m.cells === 0 || m.width <= 0) problems.push(`heatmap ${m.rail}/${m.metric} is empty or invisible`);
  }
  if (info.scrollWidth > width) problems.push(`page is ${info.scrollWidth} px wide at ${width} px: scrolls sideways`);
  if (!info.verdict) problems.push('no verdict on the page');
  problems.push(...consoleErrors.map((e) => `console error: ${e}`));

  const shot = await page('Page.captureScreenshot', {
    format: 'png', captureBeyondViewport: true, clip: { x: 0, y: 0, width, height: Math.min(info.height, Number(maxHeight ?? Infinity)), scale: 1 },
  });
  writeFileSync(png, Buffer.from(shot.data, 'base64'));
  const printed = await page('Page.printToPDF', { printBackground: true, preferCSSPageSize: false });
  const pdfBytes = Buffer.from(printed.data, 'base64');
  writeFileSync(pdf, pdfBytes);
  if (pdfBytes.length < 1000 || pdfBytes.subarray(0, 4).toString() !== '%PDF') problems.push('printing gave no PDF');

  console.log(`${info.maps.length} heatmaps over ${rails.length} rails, ${info.failures} failure rows, ` +
              `${info.nodes} nodes, ${info.scrollWidth}x${info.height} px; verdict "${info.verdict}"`);
  console.log(`screenshot: ${png}\npdf: ${pdf}`);
  if (problems.length) fail(problems);
  await send('Browser.close').catch(() => {});
} catch (e) {
  fail([`${e.message}\nchromium said:\n${browserLog}`]);
  browser.kill('SIGKILL');
} finally {
  clearTimeout(timer);
  toBrowser.end();
  await new Promise((resolve) => {
    if (browser.exitCode !== null) resolve();
    else browser.once('exit', resolve);
    setTimeout(() => { browser.kill('SIGKILL'); resolve(); }, 5000);
  });
  rmSync(profile, { recursive: true, force: true });
}
