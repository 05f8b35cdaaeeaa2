// Headless Chromium against one authgate front-end: a page elsewhere tries to switch the device
// with the browser's cached login (cross-site request forgery), and a rebinding DNS name tries
// to reach it (DNS rebinding). One browser per run; the servers are started here and stopped
// by pid.
//
//   node tests/browser/csrf.mjs SPEC.json
//
// SPEC (tests/browser/specs/*.json) names the front-end, how to start its servers (argv with
// ${ENV} and {tmp} substituted; `ready`: a regex over stdout whose group 1 is the port), the
// login, the unsafe action, and how to read the state the action changes. Servers with
// "role": "protected" must refuse the attacks; one with "role": "unprotected" (the check
// turned off) must let them through, which shows that the browser really sends its cached
// login to the device from another site's page, i.e. that the protected results mean something.
//
// Names: Chromium maps device.test, evil.test and rebind.test to 127.0.0.1. 127.0.0.1 is a
// secure context, so Chromium sends Sec-Fetch-Site there; http://device.test is not, so there
// it sends only Origin (as to a device on the LAN): both paths of the check are exercised.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// What works on this machine (no sandbox as root, no background connections to Google).
const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
  '--host-resolver-rules=MAP device.test 127.0.0.1, MAP evil.test 127.0.0.1, MAP rebind.test 127.0.0.1',
];
const STEP_TIMEOUT_MS = 10_000;

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const tmp = mkdtempSync(path.join(tmpdir(), 'authgate-browser-'));
const children = [];
const rows = []; // the matrix: front-end, server, action, expected, got
let failed = 0;

function check(server, action, expected, got, ok, detail = '') {
  rows.push({ server, action, expected, got, ok });
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} - ${spec.name} [${server}] ${action}: expected ${expected}, got ${got}${detail ? ` (${detail})` : ''}`);
}

function substitute(arg) {
  return arg.replaceAll('{tmp}', tmp).replace(/\$\{(\w+)\}/g, (_, v) => {
    if (process.env[v] === undefined) throw new Error(`${v} is not set (spec ${process.argv[2]})`);
    return process.env[v];
  });
}

// Starts a server on a free port (the spec's argv asks for port 0) and waits for its ready line.
function start(server) {
  const argv = server.argv.map(substitute);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...server.env } });
  children.push(child);
  let out = '', err = '';
  child.stderr.on('data', d => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${server.role}: no ready line in 20 s\n${out}\n${err}`)), 20_000);
    child.on('exit', code => reject(new Error(`${server.role} exited (${code}) before it was ready\n${out}\n${err}`)));
    child.stdout.on('data', d => {
      out += d;
      const m = out.match(new RegExp(spec.ready));
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), log: () => err, child });
      }
    });
  });
}

// Another origin's pages: /form auto-submits a form POST to the device, /fetch sends a fetch
// with credentials (no-cors: the page cannot read the answer, but the request is sent, login
// and all); /null submits the form from a sandboxed frame (Origin: null).
function attacker() {
  const a = spec.action;
  // In the sandboxed frame the form waits a moment, so that the automation has attached to
  // the frame's process before its request leaves.
  const form = (target, wait = 0) => `<!doctype html><form method="post" action="${target}">` +
    `<input name="x" value="1"></form><script>setTimeout(() => document.forms[0].submit(), ${wait})</script>`;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const target = url.searchParams.get('target');
    res.setHeader('content-type', 'text/html; charset=utf-8');
    if (url.pathname === '/form') return res.end(form(target));
    if (url.pathname === '/fetch') {
      return res.end(`<!doctype html><script>fetch(${JSON.stringify(target)}, {method: ${JSON.stringify(a.method)}, ` +
        `mode: "no-cors", credentials: "include", headers: {"content-type": "application/x-www-form-urlencoded"}, body: "x=1"})` +
        `.then(r => document.title = "status " + r.status, e => document.title = "error " + e)</script>`);
    }
    if (url.pathname === '/null') {
      return res.end(`<!doctype html><iframe sandbox="allow-forms allow-scripts" srcdoc="${form(target, 300).replaceAll('"', '&quot;')}"></iframe>`);
    }
    res.statusCode = 404;
    res.end();
  });
  return new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// The response to the device's action URL that `trigger` causes, as Chromium's network stack
// saw it (also in a sandboxed frame's process), with the request headers it really sent
// (Authorization, Sec-Fetch-Site).
// When the request is the page's own navigation (a form), it waits until the page has loaded
// the answer, so that the next step does not interrupt it.
async function observe(page, actionUrl, trigger, navigates = false) {
  const waiter = page.waitForResponse(r => r.url().startsWith(actionUrl), { timeout: STEP_TIMEOUT_MS }).catch(() => null);
  await trigger();
  const r = await waiter;
  if (!r) return { status: 'none', headers: {} };
  if (navigates) await page.waitForURL(u => u.href.startsWith(actionUrl), { timeout: STEP_TIMEOUT_MS }).catch(() => {});
  return { status: r.status(), headers: await r.request().allHeaders() };
}

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  const evil = await attacker();
  const evilPort = evil.address().port;
  try {
    for (const server of spec.servers) {
      const s = await start(server);
      const context = await browser.newContext();
      const page = await context.newPage();
      const stateTab = await context.newPage(); // stays on the device's origin to read the state
      const protectedServer = server.role === 'protected';
      try {
        await run(server, s.port, page, stateTab, evilPort, protectedServer);
      } finally {
        await context.close();
        s.child.kill('SIGTERM');
        await new Promise(r => s.child.once('exit', r));
        if (server.logs) {
          for (const want of server.logs) {
            check(server.role, `log line /${want}/`, 'present', new RegExp(want).test(s.log()) ? 'present' : 'absent',
              new RegExp(want).test(s.log()));
          }
        }
      }
    }
  } finally {
    await browser.close();
    evil.close();
  }
}

async function run(server, port, page, stateTab, evilPort, protectedServer) {
  const a = spec.action;
  const role = server.role;
  for (const deviceHost of ['127.0.0.1', 'device.test']) {
    const device = `http://${deviceHost}:${port}`;
    const actionUrl = device + a.path;
    const viaFetchMetadata = deviceHost === '127.0.0.1' ? 'Sec-Fetch-Site' : 'Origin only';

    // Log in as a user does: the browser answers the challenge and keeps the login.
    const login = new URL(device + spec.state.path);
    login.username = spec.user;
    login.password = spec.password;
    const r = await stateTab.goto(login.href);
    check(role, `log in at ${deviceHost}`, 200, r.status(), r.status() === 200);
    await stateTab.goto(device + spec.ownPage);
    const state = async () => {
      const text = await stateTab.evaluate(async p => (await fetch(p, { credentials: 'include' })).text(), spec.state.path);
      const m = text.match(new RegExp(spec.state.regex));
      return m ? m[1] : `unreadable: ${text.slice(0, 80)}`;
    };

    // The device's own page: a form and a fetch, both served.
    await page.goto(device + spec.ownPage);
    let before = await state();
    let got = await observe(page, actionUrl, () => page.evaluate(([url, method]) => {
      const f = document.createElement('form');
      f.method = method;
      f.action = url;
      f.innerHTML = '<input name="x" value="1">';
      document.body.appendChild(f);
      f.submit();
    }, [actionUrl, a.method]), true);
    let after = await state();
    check(role, `own page (${deviceHost}, ${viaFetchMetadata}): form POST`, '200, state changed',
      `${got.status}, ${before} -> ${after}`, got.status === 200 && before !== after);
    await page.goto(device + spec.ownPage);
    before = after;
    got = await observe(page, actionUrl, () => page.evaluate(([url, method]) => fetch(url, {
      method, credentials: 'include', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=1',
    }).then(r => r.status), [actionUrl, a.method]));
    after = await state();
    check(role, `own page (${deviceHost}, ${viaFetchMetadata}): fetch POST`, '200, state changed',
      `${got.status}, ${before} -> ${after}`, got.status === 200 && before !== after);

    // Pages elsewhere: another port of the same host name (the same site, another origin:
    // the browser's login cache is shared with it) and another site; the form, the fetch, and
    // the form from a sandboxed frame (Origin: null).
    for (const site of ['same site', 'cross-site']) {
      const origin = `http://${site === 'same site' ? deviceHost : 'evil.test'}:${evilPort}`;
      for (const kind of ['form', 'fetch', 'null']) {
        if (kind === 'null' && site !== 'same site') continue; // a sandboxed frame's requests use the top-level site's cache
        before = await state();
        got = await observe(page, actionUrl, () => page.goto(`${origin}/${kind}?target=${encodeURIComponent(actionUrl)}`),
          kind === 'form');
        after = await state();
        const login = got.headers.authorization ? 'with the cached login' : 'without a login';
        const sfs = got.headers['sec-fetch-site'] ? `Sec-Fetch-Site: ${got.headers['sec-fetch-site']}` : 'no Sec-Fetch-Site';
        const how = got.headers.origin ? `Origin: ${got.headers.origin.replace(String(evilPort), 'other-port')}` : 'no Origin';
        const what = `${{ form: 'auto-submitted form POST', fetch: 'credentialed fetch POST', null: 'form POST from a sandboxed frame' }[kind]}, ${site} page (${deviceHost})`;
        // Whether the browser sends its cached login with this request (all but another site's
        // fetch): then a 403 is the check's doing, not a missing login's.
        const carriesLogin = !(kind === 'fetch' && site === 'cross-site');
        if (protectedServer) {
          check(role, what, `403, state unchanged${carriesLogin ? ', the login was sent' : ''}`,
            `${got.status}, ${before} -> ${after}, ${login}`,
            got.status === 403 && before === after && (!carriesLogin || got.headers.authorization !== undefined), `${sfs}, ${how}`);
        } else if (!carriesLogin) {
          // Chromium keys its HTTP login cache by the top-level site: another site's fetch goes
          // out without the login (its form, a top-level navigation, carries it).
          check(role, what, 'no login sent (401), state unchanged', `${got.status}, ${login}, ${before} -> ${after}`,
            got.status === 401 && !got.headers.authorization && before === after, sfs);
        } else {
          // The action needs a login: a 200 that changed the state is the cached login's doing,
          // also where Chromium first sent the request without it and answered a Digest
          // challenge itself (the headers seen are then the first attempt's).
          check(role, what, 'the attack works: 200 (the cached login), state changed', `${got.status}, ${login}, ${before} -> ${after}`,
            got.status === 200 && before !== after, `${sfs}, ${how}`);
        }
      }
    }
  }

  // A rebinding name: the browser believes it talks to rebind.test (its own origin there), the
  // device sees a Host that is not one of its names.
  if (server.hosts) {
    const rebound = `http://rebind.test:${port}${spec.state.path}`;
    const r = await page.goto(rebound);
    check(role, 'GET via a rebinding DNS name', 421, r.status(), r.status() === 421);
  }
}

main().catch(e => {
  console.error(e);
  failed++;
}).finally(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
  console.log(`\n| front-end | server | action | expected | got |\n|---|---|---|---|---|`);
  for (const r of rows) console.log(`| ${spec.name} | ${r.server} | ${r.action} | ${r.expected} | ${r.ok ? '' : 'FAIL: '}${r.got} |`);
  console.log(`\n${spec.name}: ${rows.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});
