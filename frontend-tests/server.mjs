// Starts the real polling-server binary for a browser test: on a free port,
// serving this repository's frontend/, optionally on a fresh PostgreSQL
// database; waits for /healthz; stops it with SIGTERM (then SIGKILL).

import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository's root (frontend-tests/..). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The server binary: $POLLING_SERVER_BIN, else the debug build under
 * $CARGO_TARGET_DIR, else under target/. */
export function serverBinary() {
  const candidates = [];
  if (process.env.POLLING_SERVER_BIN) candidates.push(path.resolve(repoRoot, process.env.POLLING_SERVER_BIN));
  else {
    if (process.env.CARGO_TARGET_DIR) {
      candidates.push(path.resolve(repoRoot, process.env.CARGO_TARGET_DIR, 'debug', 'polling-server'));
    }
    candidates.push(path.join(repoRoot, 'target', 'debug', 'polling-server'));
  }
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new Error(
      `polling-server not found (looked at ${candidates.join(', ')}); ` +
        'run `cargo build -p polling-server` or set POLLING_SERVER_BIN',
    );
  }
  return found;
}

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A running server. `url` is its origin, e.g. http://127.0.0.1:41234. */
export class Server {
  constructor({ port, databaseUrl = null, env = {} }) {
    this.port = port;
    this.databaseUrl = databaseUrl;
    this.env = env;
    this.url = `http://127.0.0.1:${port}`;
    this.child = null;
    this.output = [];
  }

  /** Starts the process (again, after `stop`, on the same port). */
  async start() {
    const env = { ...process.env };
    // Only what this test asks for: no database or Redis from the caller's
    // environment, no other POLLING_* setting.
    for (const key of Object.keys(env)) {
      if (key.startsWith('POLLING_') || key === 'DATABASE_URL' || key === 'REDIS_URL') delete env[key];
    }
    env.POLLING_LISTEN = `127.0.0.1:${this.port}`;
    env.POLLING_FRONTEND_DIR = path.join(repoRoot, 'frontend');
    // Without a database, the polls live in memory: never in the default
    // SQLite file (polling.db) of the working directory, the repository.
    env.DATABASE_URL = this.databaseUrl ?? 'memory';
    // A suite creates a poll per test (a dozen in one for paging), all from
    // 127.0.0.1 within a minute: the per-client poll limit (20/min) is not
    // what these tests are about (tests/limits.rs is).
    env.POLLING_RATE_LIMIT_POLLS = '0';
    Object.assign(env, this.env);
    env.RUST_LOG = env.RUST_LOG || 'warn';

    const child = spawn(serverBinary(), [], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.exited = exited;
    const keep = (chunk) => {
      this.output.push(chunk.toString());
      if (this.output.length > 200) this.output.splice(0, this.output.length - 200);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);

    const deadline = Date.now() + 30_000;
    let stopped = null;
    exited.then((status) => {
      stopped = status;
    });
    for (;;) {
      if (stopped) throw new Error(`polling-server exited during start-up (${JSON.stringify(stopped)}):\n${this.logs()}`);
      try {
        const response = await fetch(`${this.url}/healthz`);
        if (response.ok) return this;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`polling-server did not answer /healthz within 30 s:\n${this.logs()}`);
      }
      await sleep(50);
    }
  }

  /** Stops the process: SIGTERM, then SIGKILL after 5 s. */
  async stop() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    await child.exited;
    clearTimeout(force);
  }

  /** The process's recent output, for failure messages. */
  logs() {
    return this.output.join('');
  }
}

/**
 * Starts a server on a free port; `databaseUrl` selects PostgreSQL (or a
 * `sqlite://` file); without it the server keeps its polls in memory.
 */
export async function startServer({ databaseUrl = null } = {}) {
  const server = new Server({ port: await freePort(), databaseUrl });
  return server.start();
}

const PG = ['-h', '127.0.0.1', '-U', 'postgres', '-v', 'ON_ERROR_STOP=1', '-q'];

/** A fresh PostgreSQL database (trust auth on 127.0.0.1:5432, user
 * postgres): `{url, drop()}`. */
export async function createDatabase() {
  const name = `polling_e2e_${randomBytes(6).toString('hex')}`;
  try {
    await run('psql', [...PG, '-d', 'postgres', '-c', `CREATE DATABASE ${name}`]);
  } catch (error) {
    throw new Error(`could not create a PostgreSQL database on 127.0.0.1:5432 (is it running? ./scripts/services): ${error.stderr || error.message}`);
  }
  return {
    name,
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    drop: () => run('psql', [...PG, '-d', 'postgres', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]),
  };
}
