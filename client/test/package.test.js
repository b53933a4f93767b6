// The package as users get it: types compile under tsc --strict (and a misuse does not),
// and the `npm pack` tarball installs into an empty project with a plain `npm install`,
// imports as ESM from every entry point and type-checks there too.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const TSC_ARGS = ['--strict', '--noEmit', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];

/** tscIn runs tsc --strict on files in dir; it resolves with {code, out}. */
async function tscIn(dir, files) {
  try {
    const { stdout } = await run(process.execPath, [tsc, ...TSC_ARGS, ...files], { cwd: dir });
    return { code: 0, out: stdout };
  } catch (err) {
    return { code: err.code, out: String(err.stdout) + String(err.stderr) };
  }
}

test('the types compile under tsc --strict, misuses included as expected errors', async () => {
  const r = await tscIn(root, ['test/types/usage.ts']);
  assert.equal(r.code, 0, r.out);
});

test('a map returning one key instead of a list of keys does not compile', async () => {
  const r = await tscIn(root, ['test/types/misuse.ts']);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /misuse\.ts\(7,\d+\): error TS2322: Type 'unknown' is not assignable to type 'readonly QueryKey\[\]'/);
});

test('npm pack gives a tarball that installs into an empty project and works there', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'syncgate-pack-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const quiet = ['--no-audit', '--no-fund', '--loglevel=error'];
  await run(npm, ['pack', '--pack-destination', dir, ...quiet], { cwd: root });
  const tgz = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  assert.ok(tgz, 'npm pack wrote no tarball');
  const { stdout: listing } = await run('tar', ['-tzf', join(dir, tgz)]);
  const files = listing.trim().split('\n').sort();
  assert.ok(files.includes('package/types/tanstack.d.ts') && files.includes('package/src/rtk-query.js'), files.join('\n'));
  assert.ok(!files.some((f) => f.startsWith('package/test/') || f.startsWith('package/node_modules/')), 'tests or node_modules packed');

  const app = join(dir, 'app');
  await run('mkdir', [app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // Plain npm install of the tarball; its dependency comes from the npm cache when there.
  await run(npm, ['install', '--prefer-offline', ...quiet, join(dir, tgz)], { cwd: app, timeout: 120000 });
  writeFileSync(join(app, 'check.js'), `
    import * as main from '@syncgate/client';
    import { bindQueryClient } from '@syncgate/client/tanstack';
    import { bindRtkQuery } from '@syncgate/client/rtk-query';
    console.log(JSON.stringify([typeof main.createSyncClient, typeof bindQueryClient, typeof bindRtkQuery]));
  `);
  const { stdout } = await run(process.execPath, ['check.js'], { cwd: app });
  assert.equal(stdout.trim(), '["function","function","function"]');
  writeFileSync(join(app, 'check.ts'), `
    import { createSyncClient, type SyncClient } from '@syncgate/client';
    import { bindQueryClient } from '@syncgate/client/tanstack';
    const sync: SyncClient = createSyncClient();
    const qc = { invalidateQueries: async () => {} };
    const unbind: () => void = bindQueryClient(sync, qc, { 'a.b': (d) => [['a', d.id]] });
    unbind();
  `);
  const r = await tscIn(app, ['check.ts']);
  assert.equal(r.code, 0, r.out);
});
