// Validation of the manifests that spread a soak over many machines
// (deploy/k8s/*.yaml, .github/workflows/soak.yml), with the real schemas:
//
// - Kubernetes objects against the API's OpenAPI schemas, through
//   kubernetes-models (each object's `validate()`: types, enums, required
//   fields; it does not reject unknown fields, so the shape checks below
//   look at the fields the soak relies on by name);
// - workflows against the schemastore GitHub workflow schema, through
//   @action-validator/core (the action-validator CLI's engine, compiled to
//   WebAssembly, no binary to download);
//
// and with the checks a schema cannot make: an Indexed Job's completions
// equal its SHARDS, its results directory is on a mounted volume, a
// workflow's matrix lists shards 1..SHARDS, and the merge step downloads
// what the shards upload.
//
//   node dist/tools/validate-deploy.js [FILE...]   (default: every manifest of the repository)
//
// Exit 0 when every file is valid, 1 otherwise (each problem on a line), 2 when a file cannot be read.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { validateWorkflow as schemaValidateWorkflow } from '@action-validator/core';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The manifests of the repository, relative to its root. */
export const DEPLOY_FILES = {
  soakJob: 'deploy/k8s/soak-job.yaml',
  mergeJob: 'deploy/k8s/merge-job.yaml',
  workflow: '.github/workflows/soak.yml',
} as const;

/** Kubernetes kinds the manifests may hold, by apiVersion/kind, with their models. */
const MODELS: Record<string, new (data: object) => { validate(): void }> = {
  'batch/v1/Job': Job as unknown as new (data: object) => { validate(): void },
  'v1/PersistentVolumeClaim': PersistentVolumeClaim as unknown as new (data: object) => { validate(): void },
};

type Obj = Record<string, unknown>;
const asObj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/** Parses every YAML document of a file; YAML syntax errors come back as problems. */
export function parseYamlDocs(text: string): { docs: Obj[]; problems: string[] } {
  const problems: string[] = [];
  const docs: Obj[] = [];
  for (const d of parseAllDocuments(text)) {
    for (const e of d.errors) problems.push(`YAML: ${e.message.split('\n')[0]}`);
    if (d.errors.length === 0) {
      const js: unknown = d.toJS();
      if (js !== null && js !== undefined) docs.push(asObj(js));
    }
  }
  return { docs, problems };
}

/** A container's env as a map (literal values only). */
export function envOf(container: Obj): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of asArr(container['env'])) {
    const o = asObj(e);
    if (typeof o['name'] === 'string' && typeof o['value'] === 'string') out[o['name']] = o['value'];
  }
  return out;
}

/** The Jobs of a parsed k8s file with their (first) container. */
export function jobsOf(docs: readonly Obj[]): { name: string; job: Obj; container: Obj }[] {
  return docs.filter((d) => d['kind'] === 'Job').map((job) => {
    const podSpec = asObj(asObj(asObj(job['spec'])['template'])['spec']);
    return { name: String(asObj(job['metadata'])['name'] ?? ''), job, container: asObj(asArr(podSpec['containers'])[0]) };
  });
}

/** Problems of a Kubernetes manifest (empty: valid). */
export function validateK8s(text: string): string[] {
  const { docs, problems } = parseYamlDocs(text);
  if (docs.length === 0 && problems.length === 0) problems.push('no Kubernetes object in the file');
  for (const [i, d] of docs.entries()) {
    const key = `${String(d['apiVersion'])}/${String(d['kind'])}`;
    const Model = MODELS[key];
    if (!Model) { problems.push(`document ${i + 1}: ${key} is not a kind these manifests use (${Object.keys(MODELS).join(', ')})`); continue; }
    try {
      new Model(d).validate();
    } catch (e) {
      problems.push(`document ${i + 1} (${key} ${String(asObj(d['metadata'])['name'])}): ${(e as Error).message}`);
    }
  }
  for (const { name, job, container } of jobsOf(docs)) {
    const spec = asObj(job['spec']);
    const podSpec = asObj(asObj(spec['template'])['spec']);
    const env = envOf(container);
    const script = asArr(container['args']).join('\n');
    if (/\bsoak\b/.test(script)) {
      // The shard split is the Job's: one completion index per shard.
      if (spec['completionMode'] !== 'Indexed') problems.push(`Job ${name}: completionMode must be Indexed (each pod's JOB_COMPLETION_INDEX is its shard)`);
      if (String(spec['completions']) !== env['SHARDS']) problems.push(`Job ${name}: completions ${String(spec['completions'])} but SHARDS=${String(env['SHARDS'])}: the soak's --shard i/SHARDS must cover every completion index`);
      if (!/JOB_COMPLETION_INDEX/.test(script)) problems.push(`Job ${name}: the soak command does not use JOB_COMPLETION_INDEX for its --shard`);
    }
    // Results must outlive the pod: RESULTS on a mounted volume backed by a claim.
    const results = env['RESULTS'];
    if (results === undefined) problems.push(`Job ${name}: no RESULTS env (the directory the shards write to)`);
    else {
      const mount = asArr(container['volumeMounts']).map(asObj).find((m) => results === m['mountPath'] || results.startsWith(`${String(m['mountPath'])}/`));
      if (!mount) problems.push(`Job ${name}: RESULTS=${results} is not on a mounted volume: the pod's results would be lost with it`);
      else {
        const vol = asArr(podSpec['volumes']).map(asObj).find((v) => v['name'] === mount['name']);
        if (!vol || !asObj(vol['persistentVolumeClaim'])['claimName']) problems.push(`Job ${name}: volume ${String(mount['name'])} is not a persistentVolumeClaim`);
      }
    }
  }
  return problems;
}

/** The steps of a workflow job. */
export function stepsOf(wf: Obj, job: string): Obj[] {
  return asArr(asObj(asObj(wf['jobs'])[job])['steps']).map(asObj);
}

/** Problems of a GitHub Actions workflow (empty: valid). */
export function validateWorkflowText(text: string): string[] {
  const problems: string[] = [];
  const state = schemaValidateWorkflow(text);
  for (const e of state.errors) {
    const where = 'path' in e ? e.path : '';
    const nested = 'states' in e && e.states ? e.states.flatMap((s) => s.errors.map((x) => `${'path' in x ? x.path : ''} ${x.title}${x.detail ? `: ${x.detail}` : ''}`)) : [];
    problems.push(`schema: ${where} ${e.title}${e.detail ? `: ${e.detail}` : ''}${nested.length ? ` [${nested.join('; ')}]` : ''}`);
  }
  const { docs, problems: yamlProblems } = parseYamlDocs(text);
  problems.push(...yamlProblems);
  const wf = docs[0] ?? {};
  const env = asObj(wf['env']);
  const jobs = asObj(wf['jobs']);
  for (const [name, j] of Object.entries(jobs)) {
    const matrix = asObj(asObj(asObj(j)['strategy'])['matrix']);
    if (!('shard' in matrix)) continue;
    const shards = Number(env['SHARDS']);
    const listed = asArr(matrix['shard']).map(Number);
    const want = Array.from({ length: shards }, (_, i) => i + 1);
    if (JSON.stringify(listed) !== JSON.stringify(want)) problems.push(`job ${name}: matrix.shard ${JSON.stringify(listed)} is not 1..SHARDS (SHARDS=${String(env['SHARDS'])})`);
    const upload = stepsOf(wf, name).find((s) => String(s['uses'] ?? '').startsWith('actions/upload-artifact@'));
    if (!upload) { problems.push(`job ${name}: no upload-artifact step: the shard's results would stay on the runner`); continue; }
    const uploadName = String(asObj(upload['with'])['name'] ?? '');
    const download = Object.keys(jobs).flatMap((k) => stepsOf(wf, k)).find((s) => String(s['uses'] ?? '').startsWith('actions/download-artifact@'));
    const pattern = String(asObj(download?.['with'])['pattern'] ?? '');
    const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
    if (!download || !re.test(uploadName.replace('${{ matrix.shard }}', '1'))) problems.push(`job ${name}: artifacts named "${uploadName}" are not downloaded by any download-artifact pattern ("${pattern}")`);
    if (asObj(j)['if'] === undefined && upload['if'] === undefined) problems.push(`job ${name}: the upload step has no if: a shard that found failures would not upload them`);
  }
  return problems;
}

function main(): void {
  const files = process.argv.length > 2 ? process.argv.slice(2) : Object.values(DEPLOY_FILES).map((f) => join(ROOT, f));
  let bad = 0;
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      process.stderr.write(`validate-deploy: cannot read "${f}": ${(e as Error).message}\n`);
      process.exit(2);
    }
    const problems = /\.github\/workflows\//.test(f) || /^\s*jobs:/m.test(text) ? validateWorkflowText(text) : validateK8s(text);
    for (const p of problems) process.stdout.write(`${f}: ${p}\n`);
    if (problems.length === 0) process.stdout.write(`${f}: valid\n`);
    bad += problems.length;
  }
  process.exit(bad === 0 ? 0 : 1);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
