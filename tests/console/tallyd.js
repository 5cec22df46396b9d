// A real tallyd for the browser tests: started on a fresh data folder and
// a free port, with an operator token made by tallyctl; stopped with
// SIGTERM. Paths from the environment (tests/console/CMakeLists.txt).
const {spawn, execFileSync} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const TALLYD = process.env.TALLYD || path.join(__dirname, '../../build/release/tools/tallyd');
const TALLYCTL = process.env.TALLYCTL || path.join(__dirname, '../../build/release/tools/tallyctl');

async function startTallyd(extraArgs = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-console-'));
  const data = path.join(dir, 'var');
  const proc = spawn(TALLYD, ['--data', data, '--listen', '127.0.0.1:0', ...extraArgs], {stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  const started = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tallyd did not start:\n${out}`)), 60_000);
    const onData = (chunk) => {
      out += chunk;
      if (out.includes('running;')) {
        clearTimeout(timer);
        resolve(out);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (chunk) => { out += chunk; });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`tallyd exited (${code}):\n${out}`)); });
  });
  const port = Number(/HTTP API on http:\/\/127\.0\.0\.1:(\d+)/.exec(started)[1]);
  const token = /TALLY_TOKEN=(\S+)/.exec(started)[1];
  const operator = execFileSync(TALLYCTL, ['operators', 'add', 'console-test', '--data', data], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']}).trim();
  const base = `http://127.0.0.1:${port}`;
  return {
    base, token, operator, data, proc,
    log: () => out,
    // The API as a partner tool calls it (to set up and to check what the console did).
    async call(method, p, body, bearer = token) {
      const r = await fetch(base + p, {method, headers: {Authorization: `Bearer ${bearer}`, 'Content-Type': 'application/json'},
                                       body: body === undefined ? undefined : JSON.stringify(body)});
      const text = await r.text();
      return {status: r.status, body: text ? JSON.parse(text) : null};
    },
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((resolve) => proc.on('exit', resolve));
        proc.kill('SIGTERM');
        await exited;
      }
      fs.rmSync(dir, {recursive: true, force: true});
    },
  };
}

module.exports = {startTallyd};
