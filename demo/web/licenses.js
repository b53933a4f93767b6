// A Vite (Rollup) plugin: emits licenses.txt with the license of every npm package bundled
// into the page, and socket.io-client.LICENSE (its MIT license file, as shipped).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** packageDir returns the node_modules/<name> (or <@scope/name>) directory of a module ID. */
function packageDir(id) {
  const m = /^(.*[\\/]node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(id.replace(/^\0/, ''));
  return m ? m[1] : null;
}

function licenseText(dir) {
  const f = readdirSync(dir).find((n) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(n));
  return f ? readFileSync(join(dir, f), 'utf8').trim() : '';
}

export function licenses() {
  return {
    name: 'syncgate-licenses',
    apply: 'build',
    generateBundle(_, bundle) {
      const dirs = new Set();
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk') continue;
        for (const id of Object.keys(chunk.modules)) {
          const dir = packageDir(id);
          if (dir && existsSync(join(dir, 'package.json'))) dirs.add(dir);
        }
      }
      const pkgs = [...dirs].map((dir) => {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        return { name: pkg.name, version: pkg.version, license: pkg.license, dir };
      }).sort((a, b) => (a.name < b.name ? -1 : 1));
      const parts = ['Third-party software bundled into app.js, with its licenses.', ''];
      for (const p of pkgs) {
        parts.push('='.repeat(78), `${p.name} ${p.version} (${p.license})`, '='.repeat(78), licenseText(p.dir), '');
      }
      this.emitFile({ type: 'asset', fileName: 'licenses.txt', source: parts.join('\n') });
      const sio = pkgs.find((p) => p.name === 'socket.io-client');
      if (!sio) this.error('socket.io-client is not in the bundle');
      this.emitFile({ type: 'asset', fileName: 'socket.io-client.LICENSE', source: licenseText(sio.dir) + '\n' });
    },
  };
}
