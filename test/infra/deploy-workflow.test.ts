/**
 * The deploy path: .github/workflows/deploy.yml tests and synthesises before it deploys, reaches AWS only through
 * OIDC (no stored keys), keeps the outputs; .ci/run synthesises the stack so a broken one never lands. Parsed with
 * the YAML parser aws-cdk-lib bundles (no dependency of our own).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from './synth.ts';

const yaml = createRequire(join(PROJECT_ROOT, 'node_modules/aws-cdk-lib/package.json'))('yaml') as { parse(text: string): unknown };

interface Step { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job { needs?: string | string[]; permissions?: Record<string, string>; steps: Step[]; environment?: string; container?: string }
interface Workflow { on: Record<string, unknown>; permissions: Record<string, string>; env?: Record<string, string>; jobs: Record<string, Job> }

const source = readFileSync(join(PROJECT_ROOT, '.github/workflows/deploy.yml'), 'utf8');
const workflow = yaml.parse(source) as Workflow;
const jobs = Object.entries(workflow.jobs);
const deployJobs = jobs.filter(([, job]) => job.steps.some((s) => s.run?.includes('cdk deploy')));
const index = (job: Job, match: (step: Step) => boolean) => job.steps.findIndex(match);

describe('deploy workflow', () => {
  it('runs on pushes to main and by hand with a stage to pick', () => {
    expect(workflow.on.push).toEqual({ branches: ['main'] });
    const dispatch = workflow.on.workflow_dispatch as { inputs: { stage: { type: string; options: string[] } } };
    expect(dispatch.inputs.stage).toMatchObject({ type: 'choice', options: ['prod', 'dev'] });
  });

  it('deploys in one job, only after the job that runs npm test and cdk synth has passed', () => {
    expect(deployJobs).toHaveLength(1);
    const [, deploy] = deployJobs[0]!;
    const needs = ([] as string[]).concat(deploy.needs ?? []);
    expect(needs.length).toBeGreaterThan(0);
    for (const name of needs) {
      const job = workflow.jobs[name]!;
      const test = index(job, (s) => s.run?.trim() === 'npm test');
      const synth = index(job, (s) => /npx cdk synth\b/.test(s.run ?? ''));
      expect(test, `${name} runs npm test`).toBeGreaterThanOrEqual(0);
      expect(synth, `${name} synthesises after testing`).toBeGreaterThan(test);
      expect(index(job, (s) => s.run?.trim().startsWith('npm ci') ?? false)).toBeLessThan(test);
      // The advisory check may not pass by default here: the deploy requires it to have run.
      const audit = job.steps.find((s) => s.run?.trim() === 'npm run audit');
      expect(audit?.env?.IMAGEHUB_AUDIT_REQUIRED, `${name} requires the advisory check`).toBe('1');
    }
    // Within the deploy job, credentials come before the deploy, and the outputs are kept.
    const credentials = index(deploy, (s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@') ?? false);
    const cdkDeploy = index(deploy, (s) => s.run?.includes('cdk deploy') ?? false);
    expect(credentials).toBeGreaterThanOrEqual(0);
    expect(cdkDeploy).toBeGreaterThan(credentials);
    expect(deploy.steps[cdkDeploy]!.run).toMatch(/npx cdk deploy .*--require-approval never .*--outputs-file cdk-outputs\.json/);
    const upload = deploy.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.with).toMatchObject({ path: 'cdk-outputs.json' });
  });

  it('gets AWS credentials by OIDC, for the deploy job alone, and names no long-lived keys', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of jobs) {
      const isDeploy = deployJobs.some(([deployName]) => deployName === name);
      expect(job.permissions?.['id-token'], name).toBe(isDeploy ? 'write' : undefined);
    }
    const [, deploy] = deployJobs[0]!;
    const credentials = deploy.steps.find((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'))!;
    expect(credentials.with).toMatchObject({ 'role-to-assume': '${{ vars.AWS_DEPLOY_ROLE_ARN }}', 'aws-region': '${{ vars.AWS_REGION }}' });
    expect(Object.keys(credentials.with!)).not.toEqual(expect.arrayContaining(['aws-access-key-id']));
    expect(source).not.toMatch(/aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|secrets\./i);
  });

  it('passes the stage and the configured context to cdk synth and cdk deploy alike', () => {
    const contextLine = (step: Step) => step.run!.split('\n').filter((line) => line.includes('-c ')).join('\n');
    const synth = jobs.flatMap(([, job]) => job.steps).find((s) => /npx cdk synth\b/.test(s.run ?? ''))!;
    const deploy = jobs.flatMap(([, job]) => job.steps).find((s) => s.run?.includes('cdk deploy'))!;
    expect(contextLine(deploy)).toBe(contextLine(synth));
    expect(deploy.env).toEqual(synth.env);
    for (const key of ['stage', 'domainName', 'certificateArn', 'oaiBaseUrl', 'alarmEmail']) expect(contextLine(deploy)).toContain(`-c "${key}=`);
    expect(workflow.env?.STAGE).toBe("${{ inputs.stage || vars.STAGE || 'prod' }}");
  });

  it('pins every action by its major version', () => {
    const uses = jobs.flatMap(([, job]) => job.steps).map((s) => s.uses).filter((u): u is string => Boolean(u));
    expect(uses.length).toBeGreaterThanOrEqual(6);
    for (const action of uses) expect(action).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
  });

  it('installs Node.js 22 in every job', () => {
    for (const [name, job] of jobs) {
      const node = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
      expect(node?.with?.['node-version'], name).toBe(22);
    }
  });
});

describe('.ci/run', () => {
  it('synthesises the stack after the tests, so a broken stack never lands', () => {
    const lines = readFileSync(join(PROJECT_ROOT, '.ci/run'), 'utf8').split('\n').map((line) => line.trim());
    const test = lines.indexOf('npm test');
    const synth = lines.findIndex((line) => line.startsWith('npx cdk synth'));
    expect(test).toBeGreaterThanOrEqual(0);
    expect(synth).toBeGreaterThan(test);
  });
});
