// The recipes of README.md: each example under examples/ runs against a real `syncgate
// --demo` and prints what it saw.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { WAIT_MS, startGateway } from './harness.js';

const run = promisify(execFile);
const examples = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'examples');

const want = {
  'redux.js': /^redux: view 1 marked stale by personview\.addrow; connection connected$/m,
  'tanstack.js': /^tanstack: refetched view 1 after the event \(\d+ rows, 2 fetches\)$/m,
  'rtk-query.js': /^rtk-query: refetched view 1 after the event \(\d+ rows\)$/m,
  'socketio.js': /^socketio: personview\.addrow \{("personId":7,"viewId":1|"viewId":1,"personId":7)\}$/m,
};

test('examples', async (t) => {
  const gw = await startGateway(t, ['--demo']);
  for (const [file, re] of Object.entries(want)) {
    await t.test(file, async () => {
      const { stdout } = await run(process.execPath, [join(examples, file), gw.url], { timeout: WAIT_MS });
      assert.match(stdout, re);
    });
  }
});
