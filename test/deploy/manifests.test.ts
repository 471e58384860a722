// The manifests that spread a soak over many machines
// (deploy/k8s/soak-job.yaml, deploy/k8s/merge-job.yaml,
// .github/workflows/soak.yml): valid for their real tools (the Kubernetes
// OpenAPI schemas through kubernetes-models, the GitHub workflow schema
// through @action-validator/core), refused when broken, and their command
// lines really run with this build's CLI: every shard of the Indexed Job
// (one pod per JOB_COMPLETION_INDEX, run side by side as on a cluster),
// then the merge Job; every matrix job of the workflow, its artifacts
// passed on as upload/download-artifact would, the merge step and the hunt.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEPLOY_FILES, envOf, jobsOf, parseYamlDocs, stepsOf, validateK8s, validateWorkflowText,
} from '../../tools/validate-deploy.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const text = (f: string): string => readFileSync(join(ROOT, f), 'utf8');
const tmp = mkdtempSync(join(tmpdir(), 'deploy-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Tiny soaks: two short runs over all the shards (shards 3 and 4 get none, which must work too). */
const TINY = { SOAK_SECONDS: '0.3', SOAK_SEEDS: '1', SOAK_EXTRA: '--scenarios ipi-storm,tlb-flush2 --cpus 2' };

interface Ran { code: number; stdout: string; stderr: string }

/** Runs a shell script as a pod or a runner would, asynchronously (pods run side by side). */
function sh(shell: string, script: string, env: Record<string, string>, cwd: string): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(shell, ['-c', script], { cwd, env: { ...process.env, ...env, CI: 'true' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A `shootdown` on the PATH, as the image has (deploy/Dockerfile links dist/cli.js). */
function shimBin(): string {
  const bin = join(tmp, 'bin');
  if (!existsSync(bin)) {
    mkdirSync(bin);
    writeFileSync(join(bin, 'shootdown'), `#!/bin/sh\nexec '${process.execPath}' '${join(ROOT, 'dist', 'cli.js')}' "$@"\n`);
    chmodSync(join(bin, 'shootdown'), 0o755);
  }
  return bin;
}

describe('the manifests are valid for their tools', () => {
  it('the Kubernetes Jobs and claim pass the API schemas and the shard checks; the workflow passes the workflow schema', () => {
    expect(validateK8s(text(DEPLOY_FILES.soakJob))).toEqual([]);
    expect(validateK8s(text(DEPLOY_FILES.mergeJob))).toEqual([]);
    expect(validateWorkflowText(text(DEPLOY_FILES.workflow))).toEqual([]);
  });

  it('a broken copy of each is refused, naming what is wrong', () => {
    const job = text(DEPLOY_FILES.soakJob);
    const broken = (from: string, to: string, src = job): string => {
      expect(src).toContain(from); // the mutation really applies
      return src.replace(from, to);
    };
    expect(validateK8s(broken('completions: 4', 'completions: "four"')).join('\n')).toMatch(/completions must be integer/);
    expect(validateK8s(broken('        - name: soak\n          image:', '        - image:')).join('\n')).toMatch(/must have required property name/);
    expect(validateK8s(broken('completionMode: Indexed', 'completionMode: Numbered')).join('\n')).toMatch(/completionMode must be equal to one of the allowed values/);
    expect(validateK8s(broken('value: "4"', 'value: "3"')).join('\n')).toMatch(/completions 4 but SHARDS=3/);
    expect(validateK8s(broken('mountPath: /results', 'mountPath: /data')).join('\n')).toMatch(/RESULTS=\/results is not on a mounted volume/);
    expect(validateK8s(broken('  completions: 4', '  completions: 4\n completions: 4')).join('\n')).toMatch(/YAML/);

    const wf = text(DEPLOY_FILES.workflow);
    expect(validateWorkflowText(broken('    runs-on: ubuntu-latest\n    timeout-minutes: 30', '    timeout-minutes: 30', wf)).join('\n')).toMatch(/runs-on.*required/);
    expect(validateWorkflowText(broken('    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-node@v4\n        with:\n          node-version: "20"\n          cache: npm\n      - name: install (builds dist/)\n        run: npm ci --no-audit --no-fund\n      - name: download', '    stepz:\n      - name: download', wf)).join('\n')).toMatch(/schema:/);
    expect(validateWorkflowText(broken('shard: [1, 2, 3, 4]', 'shard: [1, 2, 3]', wf)).join('\n')).toMatch(/matrix.shard \[1,2,3\] is not 1..SHARDS/);
    expect(validateWorkflowText(broken('pattern: soak-shard-*', 'pattern: shard-*', wf)).join('\n')).toMatch(/not downloaded/);

    // The command-line form (npm run lint:deploy) fails on a broken file too.
    const bad = join(tmp, 'broken-soak-job.yaml');
    writeFileSync(bad, broken('completions: 4', 'completions: "four"'));
    const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'tools', 'validate-deploy.js'), bad, join(ROOT, DEPLOY_FILES.mergeJob)], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/broken-soak-job\.yaml: .*completions must be integer/);
    expect(r.stdout).toMatch(/merge-job\.yaml: valid/);
  });
});

describe('the manifests\' command lines run with this build', () => {
  it('Kubernetes: each completion index soaks its shard onto the volume, the merge Job merges them; bad flags exit with the code podFailurePolicy fails the Job on', async () => {
    const { docs } = parseYamlDocs(text(DEPLOY_FILES.soakJob));
    const [soak] = jobsOf(docs);
    const spec = soak!.job['spec'] as { completions: number; podFailurePolicy: { rules: { action: string; onExitCodes?: { values: number[] } }[] } };
    const script = (soak!.container['args'] as string[]).join('\n');
    const results = join(tmp, 'volume');
    mkdirSync(results);
    const env = { ...envOf(soak!.container), ...TINY, RESULTS: results, PATH: `${shimBin()}:${process.env['PATH'] ?? ''}` };
    const pods = await Promise.all(Array.from({ length: spec.completions }, (_, i) => sh('/bin/sh', script, { ...env, JOB_COMPLETION_INDEX: String(i) }, tmp)));
    for (const p of pods) expect(p.code, p.stderr).toBe(0);
    for (let i = 1; i <= spec.completions; i++) expect(existsSync(join(results, `shard-${i}`, `summary-shard${i}of${spec.completions}.json`))).toBe(true);

    const [merge] = jobsOf(parseYamlDocs(text(DEPLOY_FILES.mergeJob)).docs);
    const m = await sh('/bin/sh', (merge!.container['args'] as string[]).join('\n'), { ...envOf(merge!.container), RESULTS: results, PATH: env.PATH }, tmp);
    expect(m.code, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/shard 4\/4: 0 run\(s\)/);
    const merged = JSON.parse(readFileSync(join(results, 'merged.json'), 'utf8')) as { complete: boolean; runs: number; passed: number; jobs: number };
    expect(merged).toMatchObject({ complete: true, jobs: 2, runs: 2, passed: 2 });

    // A flag the CLI refuses: exit 2, which the Job's podFailurePolicy turns into FailJob (not a retry per index).
    const bad = await sh('/bin/sh', script, { ...env, SOAK_EXTRA: '--cpus 0', RESULTS: join(tmp, 'volume-bad'), JOB_COMPLETION_INDEX: '0' }, tmp);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^shootdown: --cpus/m);
    const failJob = spec.podFailurePolicy.rules.find((r) => r.action === 'FailJob');
    expect(failJob?.onExitCodes?.values).toContain(bad.code);
  });

  it('GitHub Actions: every matrix shard soaks and uploads, the final job downloads and merges', async () => {
    const wfText = text(DEPLOY_FILES.workflow);
    const wf = parseYamlDocs(wfText).docs[0]!;
    const ws = join(tmp, 'workspace');
    mkdirSync(ws);
    symlinkSync(join(ROOT, 'dist'), join(ws, 'dist')); // the checkout's built dist/
    // Workflow env: `${{ inputs.x || 'd' }}` takes its default, as a scheduled run does.
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(wf['env'] as Record<string, string>)) env[k] = String(v).replace(/^\$\{\{\s*inputs\.\w+\s*\|\|\s*'([^']*)'\s*\}\}$/, '$1');
    Object.assign(env, TINY);
    const expand = (s: string, shard: number): string => s.replace(/\$\{\{\s*matrix\.shard\s*\}\}/g, String(shard));
    for (const s of Object.values(env)) expect(s).not.toMatch(/\$\{\{/);

    const soakSteps = stepsOf(wf, 'soak');
    const run = soakSteps.find((s) => s['name'] === 'soak')!;
    const upload = soakSteps.find((s) => String(s['uses']).startsWith('actions/upload-artifact@'))!;
    const shards = ((wf['jobs'] as Record<string, { strategy: { matrix: { shard: number[] } } }>)['soak']!.strategy.matrix.shard);
    const ran = await Promise.all(shards.map((k) => sh('/bin/bash', expand(String(run['run']), k), env, ws)));
    for (const r of ran) expect(r.code, r.stderr).toBe(0);

    const mergeSteps = stepsOf(wf, 'merge');
    const download = mergeSteps.find((s) => String(s['uses']).startsWith('actions/download-artifact@'))!;
    const up = upload['with'] as { name: string; path: string };
    const down = download['with'] as { path: string };
    // download-artifact with a pattern puts each artifact in <path>/<artifact name>/.
    for (const k of shards) cpSync(join(ws, expand(up.path, k)), join(ws, down.path, expand(up.name, k)), { recursive: true });

    const merge = await sh('/bin/bash', String(mergeSteps.find((s) => s['name'] === 'merge')!['run']), env, ws);
    expect(merge.code, merge.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(ws, 'merged-summary.json'), 'utf8'))).toMatchObject({ complete: true, runs: 2, passed: 2 });
  });

  it('GitHub Actions: the final job\'s hunt line runs', async () => {
    const wf = parseYamlDocs(text(DEPLOY_FILES.workflow)).docs[0]!;
    const ws = join(tmp, 'workspace-hunt');
    mkdirSync(ws);
    symlinkSync(join(ROOT, 'dist'), join(ws, 'dist'));
    const step = stepsOf(wf, 'merge').find((s) => /hunt/.test(String(s['name'])))!;
    // The line is checked whole (scenario, bug, every flag) before the first run; a 0.1 s budget
    // then ends the free phase at once: exit 5, nothing failed. A bad flag or name would exit 2.
    // .ci/hunt-check runs a full hunt and replays its line.
    const hunt = await sh('/bin/bash', String(step['run']), { HUNT_SECONDS: '0.1' }, ws);
    expect(hunt.code, hunt.stderr).toBe(5);
    expect(hunt.stderr).toMatch(/^shootdown: hunt: nothing failed in .* of free runs of tlb-flush2-shared with free-before-flush/m);
    // The same line with a bug name the CLI does not know is refused (exit 2): the check above can fail.
    const bad = await sh('/bin/bash', String(step['run']).replace('free-before-flush', 'free-before-flsh'), { HUNT_SECONDS: '0.1' }, ws);
    expect(bad.code).toBe(2);
  });
});
