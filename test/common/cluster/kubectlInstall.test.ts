import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  chooseKubectl,
  findOnPath,
  goArch,
  kubectlDownloadUrl,
  withinSkew,
} from '../../../tasks/common/cluster/kubectlInstall';
import { parseGitVersion } from '../../../tasks/common/cluster/serverVersion';
import { certificateData, decodeToken } from '../../../tasks/common/cluster/serviceConnection';

describe('kubectl choice', () => {
  describe('withinSkew', () => {
    it('accepts kubectl one minor version older or newer than the server, or the same', () => {
      assert.deepEqual(
        ['1.31.9', '1.32.0', '1.33.1'].map((client) => withinSkew(client, '1.32.4')),
        [true, true, true],
      );
    });

    it('refuses two minor versions apart, either way, and another major version', () => {
      assert.deepEqual(
        ['1.30.2', '1.34.0', '2.32.4'].map((client) => withinSkew(client, '1.32.4')),
        [false, false, false],
      );
    });
  });

  describe('chooseKubectl', () => {
    const local = { path: '/usr/local/bin/kubectl', version: '1.31.0' };

    it('takes the kubectl on PATH within the skew', () => {
      assert.deepEqual(chooseKubectl({ kind: 'auto' }, local, '1.32.4'), { kind: 'local', kubectl: local });
    });

    it("downloads the server's version when the one on PATH is too far", () => {
      assert.deepEqual(chooseKubectl({ kind: 'auto' }, local, '1.33.1'), {
        kind: 'download',
        version: '1.33.1',
      });
    });

    it("downloads the server's version when there is none on PATH", () => {
      assert.deepEqual(chooseKubectl({ kind: 'auto' }, undefined, '1.30.2'), {
        kind: 'download',
        version: '1.30.2',
      });
    });

    it('keeps the one on PATH when the server did not say its version, else takes the latest stable', () => {
      assert.deepEqual(chooseKubectl({ kind: 'auto' }, local, undefined), { kind: 'local', kubectl: local });
      assert.deepEqual(chooseKubectl({ kind: 'auto' }, undefined, undefined), { kind: 'latest' });
    });

    it('downloads an explicit version, or the latest, whatever is on PATH', () => {
      assert.deepEqual(chooseKubectl({ kind: 'exact', version: '1.29.8' }, local, '1.31.0'), {
        kind: 'download',
        version: '1.29.8',
      });
      assert.deepEqual(chooseKubectl({ kind: 'latest' }, local, '1.31.0'), { kind: 'latest' });
    });
  });

  describe('kubectlDownloadUrl', () => {
    it("uses Go's architecture names, not Node's", () => {
      assert.equal(goArch('x64'), 'amd64');
      assert.equal(goArch('arm64'), 'arm64');
      assert.equal(
        kubectlDownloadUrl('1.32.4', 'linux', 'x64'),
        'https://dl.k8s.io/release/v1.32.4/bin/linux/amd64/kubectl',
      );
      assert.equal(
        kubectlDownloadUrl('1.32.4', 'darwin', 'arm64'),
        'https://dl.k8s.io/release/v1.32.4/bin/darwin/arm64/kubectl',
      );
      assert.equal(
        kubectlDownloadUrl('1.30.0', 'win32', 'x64'),
        'https://dl.k8s.io/release/v1.30.0/bin/windows/amd64/kubectl.exe',
      );
    });
  });

  describe('parseGitVersion', () => {
    it('reads major.minor.patch from release and vendor versions', () => {
      assert.deepEqual(['v1.32.4', 'v1.30.2-gke.1', '1.29.0', 'latest', 7].map(parseGitVersion), [
        '1.32.4',
        '1.30.2',
        '1.29.0',
        undefined,
        undefined,
      ]);
    });
  });

  describe('findOnPath', () => {
    it('finds the first executable file in PATH order, skipping non-executables', () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'find-on-path-'));
      try {
        const [a, b, c] = ['a', 'b', 'c'].map((name) => path.join(root, name)) as [string, string, string];
        for (const folder of [a, b, c]) fs.mkdirSync(folder);
        fs.writeFileSync(path.join(a, 'kubectl'), '', { mode: 0o644 });
        fs.writeFileSync(path.join(b, 'kubectl'), '', { mode: 0o755 });
        fs.writeFileSync(path.join(c, 'kubectl'), '', { mode: 0o755 });
        assert.equal(findOnPath('kubectl', [a, b, c].join(path.delimiter)), path.join(b, 'kubectl'));
        assert.equal(findOnPath('kubectl', a), undefined);
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    });
  });
});

describe('service account parameters', () => {
  it("decodes the Secret's base64 token, and takes a pasted JWT as it is", () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzYSJ9.c2ln';
    assert.equal(decodeToken(Buffer.from(jwt).toString('base64')), jwt);
    assert.equal(decodeToken(jwt), jwt);
  });

  it('keeps base64 CA data and encodes a pasted PEM', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    assert.equal(certificateData('Q0E='), 'Q0E=');
    assert.equal(certificateData(pem), Buffer.from(pem).toString('base64'));
  });
});
