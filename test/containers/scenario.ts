/**
 * The containers scenario behind `npm run test:containers` (scripts/containers/test.sh makes sure
 * a Docker engine and the base images exist first). On a compose project of its own, with the
 * repository's docker-compose.yml and Dockerfiles unchanged, it:
 *   builds; runs `up --scale worker=3`; submits six small experiments over the published port;
 *   kills one worker container while it trains (BullMQ's stall detection hands the job to
 *   another worker); checks that all six complete on at least two worker containers; runs
 *   `down` and `up` and checks that the experiments are still listed (the data volume);
 *   tears everything down; prints one JSON line last.
 * A failed step prints what failed and the services' last log lines, and exits 1.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const WORKERS = 3;
const SUBMITTED = 6;
/**
 * Small enough to train in seconds on wasm, big enough to be caught running: the kill step needs
 * about 2 s from seeing a run to `docker kill`, and with the native GEMM 3 epochs trained in 2 s
 * (a run completed on its container just before the kill landed; session 9). 10 epochs: ~7 s.
 */
const SPEC = {
  dataset: { name: 'adding', samples: 512, sequenceLength: 50 },
  model: { family: 'gru', units: 8 },
  training: { epochs: 10, ranks: 1 },
};
/** Stall detection (lock 60 s, checked every 30 s) plus training: the killed run needs the most. */
const TRAIN_TIMEOUT_MS = Number(process.env['TFLEET_CT_TRAIN_TIMEOUT_S'] ?? 420) * 1_000;

class StepFailed extends Error {
  override name = 'StepFailed';
}

interface Experiment {
  id: string;
  status: string;
  attempt: number;
  error: string | null;
  runtime: { hostname: string; workerId: string; backend: string } | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => Math.round(ms / 100) / 10;
const log = (message: string) => console.error(`test:containers: ${message}`);

/** `docker compose` (v2) where the plugin exists, else `docker-compose` (v1.29, Debian's). */
let composeCommand: string[] = [];
async function detectCompose(): Promise<void> {
  try {
    await run(['docker', 'compose', 'version']);
    composeCommand = ['docker', 'compose'];
  } catch {
    try {
      await run(['docker-compose', 'version']);
      composeCommand = ['docker-compose'];
    } catch {
      throw new StepFailed('neither `docker compose` nor `docker-compose` runs');
    }
  }
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Stop the command after this long (its failure then shows the tail of its output). */
  timeoutMs?: number;
}

/** Runs a command; resolves with its stdout, rejects with the tail of its output. */
function run(argv: string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let both = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      both += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      both += chunk.toString();
    });
    const timer = options.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGTERM');
          both += `\n(killed after ${seconds(options.timeoutMs!)} s)`;
        }, options.timeoutMs)
      : null;
    child.on('error', (error) => reject(new StepFailed(`${argv[0]} could not start: ${error.message}`)));
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      if (code === 0) resolve(out);
      else {
        const tail = both.trim().split('\n').slice(-25).join('\n');
        reject(new StepFailed(`\`${argv.slice(0, 4).join(' ')}\` exited ${code}${tail ? `:\n${tail}` : ''}`));
      }
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The extra CAs a build behind this machine's TLS inspection needs: the host bundle's certificates Node lacks. */
async function extraCaCerts(): Promise<string> {
  if (process.env['TFLEET_EXTRA_CA_CERTS']) return process.env['TFLEET_EXTRA_CA_CERTS'];
  const bundle = process.env['NODE_EXTRA_CA_CERTS'] || process.env['SSL_CERT_FILE'];
  if (!bundle) return '';
  const { readFile } = await import('node:fs/promises');
  const { rootCertificates } = await import('node:tls');
  const text = await readFile(bundle, 'utf8').catch(() => '');
  const norm = (pem: string) => pem.replace(/\s+/g, '');
  const known = new Set(rootCertificates.map(norm));
  const certs = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return certs.filter((c) => !known.has(norm(c))).join('\n');
}

class Scenario {
  readonly project = `tfleet-ct-${process.pid}-${randomBytes(3).toString('hex')}`;
  port = 0;
  apiKey = '';
  env: NodeJS.ProcessEnv = {};
  readonly timings: Record<string, number> = {};
  private up = false;

  async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    log(`${name}...`);
    try {
      return await fn();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new StepFailed(`${name}: ${message}`);
    } finally {
      this.timings[`${name.replace(/\W+/g, '_')}_s`] = seconds(Date.now() - started);
    }
  }

  compose(args: string[], options: RunOptions = {}): Promise<string> {
    return run([...composeCommand, '-p', this.project, '-f', join(ROOT, 'docker-compose.yml'), ...args], { env: this.env, ...options });
  }

  async prepare(): Promise<void> {
    await detectCompose();
    this.port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, TFLEET_PORT: String(this.port), TFLEET_EXTRA_CA_CERTS: await extraCaCerts() };
    // The compose file's own defaults: an API key generated into the volume, `auto` backend.
    delete env['TFLEET_API_KEY'];
    delete env['TFLEET_BACKEND'];
    delete env['COMPOSE_FILE'];
    delete env['COMPOSE_PROJECT_NAME'];
    this.env = env;
    log(`compose project ${this.project}, API on 127.0.0.1:${this.port}, ${composeCommand.join(' ')}`);
  }

  async build(): Promise<void> {
    await this.compose(['build', 'api', 'worker'], { timeoutMs: 60 * 60_000 });
  }

  async upAndWait(): Promise<void> {
    this.up = true;
    await this.compose(['up', '-d', '--scale', `worker=${WORKERS}`]);
    await this.waitHealthy();
  }

  private async containers(service: string): Promise<string[]> {
    const out = await run(['docker', 'ps', '-q', '--filter', `label=com.docker.compose.project=${this.project}`, '--filter', `label=com.docker.compose.service=${service}`]);
    return out.split('\n').filter(Boolean);
  }

  private async inspect(ids: string[], format: string): Promise<string[]> {
    if (ids.length === 0) return [];
    return (await run(['docker', 'inspect', '-f', format, ...ids])).split('\n').filter(Boolean);
  }

  /** The API's and every worker container's Docker health check pass (the workers' checks that each consumes the queue). */
  private async waitHealthy(timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const api = await this.containers('api');
      const workers = await this.containers('worker');
      const states = await this.inspect([...api, ...workers], '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}');
      last = `api ${states.slice(0, api.length).join(',') || 'none'}; workers ${states.slice(api.length).join(',') || 'none'}`;
      if (api.length === 1 && workers.length === WORKERS && states.every((s) => s === 'running/healthy')) return;
      if (states.some((s) => s.startsWith('exited'))) throw new StepFailed(`a container exited (${last})`);
      await sleep(2_000);
    }
    throw new StepFailed(`not healthy after ${seconds(timeoutMs)} s (${last})`);
  }

  async readApiKey(): Promise<void> {
    const key = (await this.compose(['exec', '-T', 'api', 'cat', '/data/api-key'])).trim();
    if (key.length < 16) throw new StepFailed(`/data/api-key holds '${key}', not a key`);
    this.apiKey = key;
  }

  async http<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    }).catch((error: unknown) => {
      throw new StepFailed(`${method} ${path}: ${error instanceof Error ? error.message : String(error)}`);
    });
    const text = await response.text();
    if (!response.ok) throw new StepFailed(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }

  async submit(): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < SUBMITTED; i++) {
      const experiment = await this.http<Experiment>('POST', '/api/experiments', { ...SPEC, training: { ...SPEC.training, seed: i + 1 } });
      ids.push(experiment.id);
    }
    return ids;
  }

  private async list(): Promise<Experiment[]> {
    const page = await this.http<{ items: Experiment[] }>('GET', '/api/experiments?pageSize=100');
    return page.items;
  }

  /** Waits for a submitted experiment to be seen training, then `docker kill`s the worker container running it. */
  async killOneMidRun(ids: string[]): Promise<{ experiment: string; hostname: string }> {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const items = (await this.list()).filter((e) => ids.includes(e.id));
      const running = items.find((e) => e.status === 'running' && e.runtime?.hostname);
      if (running) {
        const hostname = running.runtime!.hostname;
        const workers = await this.containers('worker');
        const hostnames = await this.inspect(workers, '{{.Config.Hostname}}');
        const index = hostnames.indexOf(hostname);
        if (index < 0) throw new StepFailed(`experiment ${running.id} runs on '${hostname}', which is no worker container (${hostnames.join(', ')})`);
        await run(['docker', 'kill', workers[index]!]);
        log(`killed worker container ${hostname} while it trained ${running.id}`);
        return { experiment: running.id, hostname };
      }
      if (items.length > 0 && items.every((e) => e.status === 'completed')) {
        throw new StepFailed('every experiment completed before one was seen running: make SPEC bigger');
      }
      await sleep(250);
    }
    throw new StepFailed('no experiment was seen running within 120 s');
  }

  async waitAllDone(ids: string[]): Promise<Experiment[]> {
    const deadline = Date.now() + TRAIN_TIMEOUT_MS;
    let items: Experiment[] = [];
    while (Date.now() < deadline) {
      items = (await this.list()).filter((e) => ids.includes(e.id));
      const failed = items.filter((e) => e.status === 'failed' || e.status === 'cancelled');
      if (failed.length > 0) throw new StepFailed(`experiment(s) ${failed.map((e) => `${e.id} ${e.status}: ${e.error ?? ''}`).join('; ')}`);
      if (items.length === ids.length && items.every((e) => e.status === 'completed')) return items;
      await sleep(2_000);
    }
    throw new StepFailed(`not all done after ${seconds(TRAIN_TIMEOUT_MS)} s: ${items.map((e) => `${e.id.slice(0, 8)} ${e.status}`).join(', ')}`);
  }

  async logsTail(): Promise<string> {
    return this.compose(['logs', '--no-color', '--tail', '15']).catch(() => '(no logs)');
  }

  async teardown(): Promise<void> {
    if (!this.up && process.env['TFLEET_CT_KEEP_IMAGES'] === '1') return;
    const rmi = process.env['TFLEET_CT_KEEP_IMAGES'] === '1' ? [] : ['--rmi', 'local'];
    await this.compose(['down', '--volumes', '--remove-orphans', ...rmi, '--timeout', '5']);
    this.up = false;
  }
}

async function main(): Promise<number> {
  const started = Date.now();
  const s = new Scenario();
  try {
    await s.step('project', () => s.prepare());
    await s.step('build', () => s.build());
    await s.step('up', () => s.upAndWait());
    await s.step('api key', () => s.readApiKey());
    const ids = await s.step('submit', () => s.submit());
    const trainStarted = Date.now();
    const killed = await s.step('kill', () => s.killOneMidRun(ids));
    const done = await s.step('train', () => s.waitAllDone(ids));
    s.timings['train_total_s'] = seconds(Date.now() - trainStarted);
    const hostnames = [...new Set(done.map((e) => e.runtime?.hostname ?? '?'))].sort();
    if (hostnames.length < 2) throw new StepFailed(`train: all ${done.length} experiments ran on ${hostnames.join(', ')}; expected at least two worker containers`);
    const rerun = done.find((e) => e.id === killed.experiment)!;
    if (rerun.runtime?.hostname === killed.hostname) throw new StepFailed(`kill: ${killed.experiment} is recorded on the killed container ${killed.hostname}`);
    await s.step('down', () => s.compose(['down', '--timeout', '5']));
    await s.step('up again', () => s.upAndWait());
    const listed = await s.step('list after down and up', async () => {
      const items = await s.http<{ items: Experiment[] }>('GET', '/api/experiments?pageSize=100');
      return items.items.filter((e) => ids.includes(e.id) && e.status === 'completed').length;
    });
    if (listed !== SUBMITTED) throw new StepFailed(`list after down and up: ${listed} of ${SUBMITTED} completed experiments listed`);
    await s.step('teardown', () => s.teardown());
    const result = {
      workers: WORKERS,
      submitted: SUBMITTED,
      completed: done.length,
      hostnames,
      survived_down_up: true,
      killed_worker_cost: SUBMITTED - done.length,
      killed: { hostname: killed.hostname, experiment: killed.experiment, completed_on: rerun.runtime?.hostname ?? null },
      backend: [...new Set(done.map((e) => e.runtime?.backend))].join(','),
      compose: composeCommand.join(' '),
      setup_s: Number(process.env['TFLEET_CT_SETUP_S'] ?? 0),
      ...s.timings,
      total_s: seconds(Date.now() - started),
    };
    console.log(JSON.stringify(result));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`FAILED at ${message}`);
    if (s.project && composeCommand.length > 0) {
      console.error(`--- last log lines of ${s.project} ---\n${(await s.logsTail()).trim()}`);
      await s.teardown().catch((e: unknown) => log(`teardown failed too: ${e instanceof Error ? e.message : String(e)}`));
    }
    console.log(JSON.stringify({ ok: false, error: message.split('\n')[0], ...s.timings }));
    return 1;
  }
}

// Ctrl-C also stops the running docker command, so the step fails and the project is torn down.
process.on('SIGINT', () => log('interrupted: tearing down'));

void main().then((code) => process.exit(code));
