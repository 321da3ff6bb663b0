// What the browser benchmarks share: their settings from the environment,
// a medk-server on a free port with a fresh data directory, and Debian's
// chromium launched the same way for every figure.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { chromium } from '@playwright/test';

/** A required environment variable; `command` is what sets it. */
export function env(name, command) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run \`${command}\``);
  return v;
}

async function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * Starts `bin` serving `staticDir` and waits until it answers.
 * Returns its `url`, `kill()` (the process, at once; resolves once it has
 * exited) and `cleanup()` (kill and remove its data).
 */
export async function startServer(bin, staticDir) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'medk-bench-'));
  const child = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--static-dir', staticDir], {
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const kill = () => {
    child.kill('SIGKILL');
    return exited;
  };
  const cleanup = () => {
    kill();
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/api/health`)).ok) break;
    } catch {}
    if (i > 300) {
      cleanup();
      throw new Error('server did not start');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, kill, cleanup };
}

/** Headless chromium from Debian, without the background work that would blur timings. */
export function launchChromium() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}
