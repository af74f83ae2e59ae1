/**
 * What a user sees in the panel for given model states, in jsdom: the views
 * drawn from a model fed by a fake server, and what clicking them does.
 */
import { Dialog } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { IDeletePlan } from '../api';
import { ConfirmBody } from '../confirm';
import { renderEndpoints } from '../endpoints-view';
import { Money } from '../format';
import { renderJobs } from '../jobs-view';
import { PanelModel } from '../model';
import { SageMakerPanel } from '../panel';
import { panelCaption, renderHeader, renderSummary } from '../summary-view';
import { IViewContext } from '../view-common';
import {
  endpoint,
  endpointList,
  FakeServer,
  job,
  jobList,
  serverWith,
  settle,
  waitFor
} from './fake-server';

const trans = nullTranslator.load('sm_magics');
let models: PanelModel[] = [];

async function loadedContext(server: FakeServer): Promise<IViewContext> {
  const model = new PanelModel({ trans, serverSettings: server.settings });
  models.push(model);
  await model.refresh();
  return { model, trans, money: new Money('en') };
}

function contextOf(server: FakeServer): IViewContext {
  const model = new PanelModel({ trans, serverSettings: server.settings });
  models.push(model);
  return { model, trans, money: new Money('en') };
}

/** The whole panel as the views draw it now. */
function draw(ctx: IViewContext): HTMLElement {
  const root = document.createElement('div');
  root.append(renderHeader(ctx), renderSummary(ctx), renderEndpoints(ctx), renderJobs(ctx));
  return root;
}

function row(root: HTMLElement, name: string): HTMLElement {
  const found = root.querySelector<HTMLElement>(`.sm-magics-row[data-name="${name}"]`);
  if (!found) {
    throw new Error(`no row ${name} in: ${root.textContent}`);
  }
  return found;
}

const text = (node: Element | null): string => (node?.textContent ?? '').trim();

afterEach(() => {
  Dialog.flush(); // a failed test leaves no dialog queued before the next one's
  models.forEach(m => m.dispose());
  models = [];
  document.body.innerHTML = '';
});

describe('before anything is listed', () => {
  it('says it has not loaded, then that it is loading', async () => {
    const server = serverWith([]);
    const release = server.hold('GET', 'endpoints');
    const ctx = contextOf(server);
    expect(text(draw(ctx).querySelector('.sm-magics-updated'))).toBe('not loaded yet');
    const loading = ctx.model.refresh();
    const root = draw(ctx);
    expect(text(root.querySelector('.sm-magics-updated'))).toBe('loading…');
    expect(root.querySelector('.sm-magics-refresh')?.getAttribute('aria-busy')).toBe('true');
    expect(text(root.querySelector('.sm-magics-endpoints-section .sm-magics-empty'))).toBe('Loading…');
    release();
    await loading;
  });

  it('shows a failed listing as an alert, not as an empty list', async () => {
    const ctx = await loadedContext(new FakeServer());
    const root = draw(ctx);
    const alerts = Array.from(root.querySelectorAll('[role="alert"]')).map(text);
    expect(alerts).toEqual([
      'Could not list endpoints: the sm_magics server extension is not enabled (jupyter server extension enable sm_magics)',
      'Could not list jobs: the sm_magics server extension is not enabled (jupyter server extension enable sm_magics)'
    ]);
    expect(root.textContent).not.toContain('No live endpoints.');
    expect(root.textContent).not.toContain('Loading…');
  });
});

describe('costs, regions and TTLs', () => {
  const dear = endpoint({
    name: 'dear', instance_type: 'ml.c5.xlarge', instance_count: 2, usd_per_hour: 0.408, usd_so_far: 1.2345,
    notebook: 'dear.ipynb', expires_at: '2026-12-06T15:00:00+00:00', ttl_seconds_left: 2 * 3600 + 5 * 60
  });
  const soon = endpoint({
    name: 'soon', usd_per_hour: 0.115, usd_so_far: 0.0042, notebook: null,
    expires_at: '2026-12-06T13:10:00+00:00', ttl_seconds_left: 10 * 60
  });
  const far = endpoint({
    name: 'far', region: 'eu-west-1', usd_per_hour: null, usd_so_far: null, expires_at: '2026-12-06T13:00:00+00:00',
    ttl_seconds_left: -5
  });

  it('shows each endpoint with its price, cost so far, instances, notebook and TTL', async () => {
    const root = draw(await loadedContext(serverWith([dear, soon, far])));
    const d = row(root, 'dear');
    expect(text(d.querySelector('.sm-magics-rate'))).toBe('$0.408/h');
    expect(text(d.querySelector('.sm-magics-so-far'))).toBe('$1.23 so far');
    expect(text(d.querySelector('.sm-magics-instances'))).toBe('ml.c5.xlarge × 2');
    expect(text(d.querySelector('.sm-magics-notebook'))).toBe('dear.ipynb');
    expect(text(d.querySelector('.sm-magics-ttl'))).toBe('TTL 2 h 05 min');
    expect(text(d.querySelector('.sm-magics-age'))).toBe('3 h 05 min old');
    expect(d.querySelector('.sm-magics-ttl')?.classList.contains('sm-magics-ttl-soon')).toBe(false);

    const s = row(root, 'soon');
    expect(text(s.querySelector('.sm-magics-so-far'))).toBe('$0.0042 so far');
    expect(text(s.querySelector('.sm-magics-ttl'))).toBe('TTL 10 min');
    expect(s.querySelector('.sm-magics-ttl')?.classList.contains('sm-magics-ttl-soon')).toBe(true);
    expect(s.querySelector('.sm-magics-notebook')).toBeNull();

    const f = row(root, 'far');
    expect(text(f.querySelector('.sm-magics-rate'))).toBe('—');
    expect(f.querySelector('.sm-magics-rate')?.getAttribute('title')).toBe(
      'No price known for this instance type in this region'
    );
    expect(text(f.querySelector('.sm-magics-so-far'))).toBe('');
    expect(text(f.querySelector('.sm-magics-ttl'))).toBe('TTL: expiring');
    expect(text(f.querySelector('.sm-magics-region'))).toBe('eu-west-1');
  });

  it('shows the idle guard where the endpoint has one', async () => {
    const guarded = endpoint({ name: 'guarded', idle_seconds: 30 * 60 });
    const root = draw(await loadedContext(serverWith([guarded, dear])));
    const g = row(root, 'guarded').querySelector('.sm-magics-idle');
    expect(text(g)).toBe('idle 30 min');
    expect(g?.getAttribute('title')).toBe('deleted once nobody has invoked it for 30 min');
    expect(row(root, 'dear').querySelector('.sm-magics-idle')).toBeNull();
  });

  it('offers +1 h on every endpoint and clear only where a TTL is set', async () => {
    const none = endpoint({ name: 'none' });
    const root = draw(await loadedContext(serverWith([dear, none])));
    expect(text(row(root, 'none').querySelector('.sm-magics-ttl'))).toBe('no TTL');
    expect(row(root, 'none').querySelector<HTMLButtonElement>('.sm-magics-ttl-clear')?.disabled).toBe(true);
    expect(row(root, 'none').querySelector<HTMLButtonElement>('.sm-magics-ttl-extend')?.disabled).toBe(false);
    expect(row(root, 'dear').querySelector<HTMLButtonElement>('.sm-magics-ttl-clear')?.disabled).toBe(false);
  });

  it('sums what the endpoints burn, says the local engine is not billed, and names the regions', async () => {
    const ctx = await loadedContext(
      new FakeServer()
        .on('GET', 'endpoints', {
          body: endpointList([dear, soon, far], { regions: ['us-east-1', 'eu-west-1'], usd_per_hour: 0.523 })
        })
        .on('GET', 'jobs', { body: jobList([]) })
    );
    const root = draw(ctx);
    expect(text(root.querySelector('.sm-magics-burning'))).toBe('burning $0.52/h');
    expect(root.querySelector('.sm-magics-burning')?.classList.contains('sm-magics-hot')).toBe(false);
    expect(text(root.querySelector('.sm-magics-not-billed'))).toBe('local engine: not billed');
    expect(text(root.querySelector('.sm-magics-regions'))).toBe('2 regions');
    expect(root.querySelector('.sm-magics-regions')?.getAttribute('title')).toBe('us-east-1, eu-west-1');
    expect(text(root.querySelector('.sm-magics-count'))).toBe('(3)');
    expect(panelCaption(ctx)).toBe('SageMaker: 3 endpoints (local engine)');
  });

  it('marks a billed burn rate hot and names a single region', async () => {
    const ctx = await loadedContext(
      new FakeServer()
        .on('GET', 'endpoints', { body: endpointList([dear], { billed: true, regions: ['us-east-1'] }) })
        .on('GET', 'jobs', { body: jobList([]) })
    );
    const root = draw(ctx);
    expect(root.querySelector('.sm-magics-burning')?.classList.contains('sm-magics-hot')).toBe(true);
    expect(root.querySelector('.sm-magics-not-billed')).toBeNull();
    expect(text(root.querySelector('.sm-magics-regions'))).toBe('region us-east-1');
    expect(panelCaption(ctx)).toBe('SageMaker: 1 endpoint, burning $0.41/h');
  });

  it('lists regions that could not be listed, each once', async () => {
    const ctx = await loadedContext(
      new FakeServer()
        .on('GET', 'endpoints', {
          body: endpointList([], { region_errors: [{ region: 'ap-south-1', message: 'AccessDenied' }] })
        })
        .on('GET', 'jobs', {
          body: jobList([], {
            region_errors: [
              { region: 'ap-south-1', message: 'AccessDenied' },
              { region: 'sa-east-1', message: 'could not connect' }
            ]
          })
        })
    );
    const errors = draw(ctx).querySelector('.sm-magics-region-errors');
    expect(text(errors)).toBe('2 regions not listed: ap-south-1, sa-east-1');
    expect(errors?.getAttribute('title')).toBe('ap-south-1: AccessDenied\nsa-east-1: could not connect');
  });

  it('says when there is nothing to show', async () => {
    const root = draw(await loadedContext(serverWith([], [])));
    expect(text(root.querySelector('.sm-magics-endpoints-section .sm-magics-empty'))).toBe('No live endpoints.');
    expect(text(root.querySelector('.sm-magics-jobs-section .sm-magics-empty'))).toBe('No running jobs.');
    expect(text(root.querySelector('.sm-magics-updated'))).toMatch(/^updated \d\d:\d\d:\d\d$/);
  });
});

describe('selecting and deleting', () => {
  const one = endpoint({ name: 'one' });
  const two = endpoint({ name: 'two' });

  it('counts the selection on the bulk delete button and asks the server for a plan on click', async () => {
    const server = serverWith([one, two]).on('POST', 'endpoints/plan', { body: { plans: [] } });
    const ctx = await loadedContext(server);
    let root = draw(ctx);
    expect(root.querySelector<HTMLButtonElement>('.sm-magics-delete-selected')?.disabled).toBe(true);
    const box = row(root, 'one').querySelector<HTMLInputElement>('.sm-magics-select')!;
    box.checked = true;
    box.dispatchEvent(new Event('change'));
    root = draw(ctx);
    const bulk = root.querySelector<HTMLButtonElement>('.sm-magics-delete-selected')!;
    expect(text(bulk)).toBe('Delete 1 selected');
    expect(root.querySelector<HTMLInputElement>('.sm-magics-select-all')?.indeterminate).toBe(true);
    bulk.click();
    await settle();
    expect(server.sent('POST', 'endpoints/plan')[0].body).toEqual({
      endpoints: [{ region: 'us-east-1', name: 'one' }],
      delete_artifacts: true
    });
  });

  it('selects every deletable endpoint with the header checkbox', async () => {
    const ctx = await loadedContext(serverWith([one, two, endpoint({ name: 'going', status: 'Deleting' })]));
    const all = draw(ctx).querySelector<HTMLInputElement>('.sm-magics-select-all')!;
    all.checked = true;
    all.dispatchEvent(new Event('change'));
    const root = draw(ctx);
    expect(text(root.querySelector('.sm-magics-delete-selected'))).toBe('Delete 2 selected');
    expect(root.querySelector<HTMLInputElement>('.sm-magics-select-all')?.checked).toBe(true);
    expect(row(root, 'going').querySelector<HTMLInputElement>('.sm-magics-select')?.disabled).toBe(true);
    expect(row(root, 'going').querySelector<HTMLButtonElement>('.sm-magics-delete')?.disabled).toBe(true);
  });

  it('shows a row being deleted, then a failed delete with its error and a dismiss button', async () => {
    const server = serverWith([one, two])
      .on('POST', 'endpoints/plan', { body: { plans: [] } })
      .on('POST', 'endpoints/delete', {
        body: { results: [{ region: 'us-east-1', name: 'one', ok: false, deleted: [], errors: ['ResourceInUse: busy'] }] }
      });
    const ctx = await loadedContext(server);
    await ctx.model.startDelete([one]);
    const release = server.hold('POST', 'endpoints/delete');
    const deleting = ctx.model.confirmDelete(false);
    let r = row(draw(ctx), 'one');
    expect(text(r.querySelector('.sm-magics-status'))).toBe('Deleting…');
    expect(r.dataset.status).toBe('Deleting');
    expect(r.querySelector<HTMLButtonElement>('.sm-magics-ttl-extend')?.disabled).toBe(true);
    server.on('GET', 'endpoints', { body: endpointList([two]) });
    release();
    await deleting;
    r = row(draw(ctx), 'one');
    expect(r.classList.contains('sm-magics-gone')).toBe(true);
    expect(text(r.querySelector('.sm-magics-status'))).toBe('gone');
    expect(text(r.querySelector('.sm-magics-rate'))).toBe('');
    expect(text(r.querySelector('.sm-magics-row-error-text'))).toBe('ResourceInUse: busy');
    r.querySelector<HTMLButtonElement>('.sm-magics-dismiss')!.click();
    expect(draw(ctx).querySelector('.sm-magics-row[data-name="one"]')).toBeNull();
  });

  it("shows the endpoint's own error from the listing, without a dismiss button", async () => {
    const root = draw(await loadedContext(serverWith([endpoint({ name: 'bad', status: 'Failed', error: 'the container exited' })])));
    const r = row(root, 'bad');
    expect(text(r.querySelector('.sm-magics-row-error-text'))).toBe('the container exited');
    expect(r.querySelector('.sm-magics-dismiss')).toBeNull();
    expect(r.querySelector('.sm-magics-status')?.className).toContain('sm-magics-status-Failed');
  });
});

describe('jobs', () => {
  it('shows a running job with its cost, status and a Stop button that stops it', async () => {
    const server = serverWith([], [job(), job({ name: 'hpo', kind: 'tuning', status: 'Completed', usd_per_hour: null, secondary_status: null })])
      .on('POST', 'jobs/us-east-1/training/job-one/stop', { body: { status: 'Stopping' } });
    const ctx = await loadedContext(server);
    const root = draw(ctx);
    const r = row(root, 'job-one');
    expect(text(r.querySelector('.sm-magics-kind'))).toBe('training');
    expect(text(r.querySelector('.sm-magics-status'))).toBe('InProgress · Training');
    expect(text(r.querySelector('.sm-magics-rate'))).toBe('$0.23/h');
    expect(text(r.querySelector('.sm-magics-so-far'))).toBe('$0.0080 so far');
    expect(text(r.querySelector('.sm-magics-age'))).toBe('2 min');
    expect(text(root.querySelector('.sm-magics-jobs-rate'))).toBe('$0.23/h');
    expect(text(row(root, 'hpo').querySelector('.sm-magics-kind'))).toBe('tuning');
    expect(row(root, 'hpo').querySelector<HTMLButtonElement>('.sm-magics-stop')?.disabled).toBe(true);

    const release = server.hold('POST', 'jobs/us-east-1/training/job-one/stop');
    r.querySelector<HTMLButtonElement>('.sm-magics-stop')!.click();
    const stopping = row(draw(ctx), 'job-one');
    expect(text(stopping.querySelector('.sm-magics-status'))).toBe('Stopping…');
    expect(stopping.querySelector<HTMLButtonElement>('.sm-magics-stop')?.disabled).toBe(true);
    release();
    await settle();
    expect(server.sent('POST', 'jobs/us-east-1/training/job-one/stop')).toHaveLength(1);
  });

  it('shows a refused stop on the job row', async () => {
    const server = serverWith([], [job()]).on('POST', 'jobs/us-east-1/training/job-one/stop', {
      status: 403, body: { message: 'AccessDenied: sagemaker:StopTrainingJob' }
    });
    const ctx = await loadedContext(server);
    await ctx.model.stopJob(ctx.model.jobs!.jobs[0]);
    const r = row(draw(ctx), 'job-one');
    expect(text(r.querySelector('.sm-magics-row-error'))).toBe('AccessDenied: sagemaker:StopTrainingJob');
    expect(r.classList.contains('sm-magics-has-error')).toBe(true);
  });
});

describe('the delete confirmation', () => {
  const plans: IDeletePlan[] = [
    {
      name: 'one', region: 'us-east-1', schedules: ['watch-one'], config: 'one-config', models: ['one-model'],
      artifacts: ['s3://bucket/one/model.tar.gz'], kept: [], errors: []
    },
    {
      name: 'two', region: 'eu-west-1', schedules: [], config: null, models: [],
      artifacts: ['s3://bucket/two/model.tar.gz'], kept: ['two-config (used by endpoint three)'],
      errors: ['DescribeModel: AccessDenied']
    }
  ];

  it('names every endpoint with what goes, what is kept, and the S3 objects on offer', () => {
    const body = new ConfirmBody(plans, trans);
    const node = body.node;
    expect(text(node.querySelector('p'))).toBe('This deletes 2 endpoints and what they serve:');
    const one = node.querySelector<HTMLElement>('.sm-magics-confirm-endpoint[data-name="one"]')!;
    expect(one.dataset.region).toBe('us-east-1');
    expect(Array.from(one.querySelectorAll('.sm-magics-confirm-parts li')).map(text)).toEqual([
      'monitoring schedule watch-one',
      'endpoint config one-config',
      'model one-model'
    ]);
    const two = node.querySelector<HTMLElement>('.sm-magics-confirm-endpoint[data-name="two"]')!;
    expect(text(two.querySelector('.sm-magics-confirm-region'))).toBe('(eu-west-1)');
    expect(text(two.querySelector('.sm-magics-confirm-kept'))).toBe('kept: two-config (used by endpoint three)');
    expect(text(two.querySelector('.sm-magics-confirm-error'))).toBe('DescribeModel: AccessDenied');
    expect(text(node.querySelector('.sm-magics-confirm-artifacts'))).toBe('Also delete these 2 model artifacts in S3:');
    expect(Array.from(node.querySelectorAll('[data-kind="artifact"]')).map(text)).toEqual([
      's3://bucket/one/model.tar.gz',
      's3://bucket/two/model.tar.gz'
    ]);
    expect(body.getValue()).toBe(false); // S3 objects stay unless asked
    node.querySelector<HTMLInputElement>('.sm-magics-delete-artifacts')!.checked = true;
    expect(body.getValue()).toBe(true);
  });

  it('offers no S3 deletion when there is no object to delete', () => {
    const node = new ConfirmBody([{ ...plans[0], artifacts: [], schedules: [] }], trans).node;
    expect(text(node.querySelector('p'))).toBe('This deletes 1 endpoint and what it serves:');
    expect(node.querySelector('.sm-magics-delete-artifacts')).toBeNull();
    expect(node.querySelector('.sm-magics-confirm-artifacts')).toBeNull();
  });
});

describe('the panel widget', () => {
  it('lists when shown, asks before deleting, and deletes what the user confirmed', async () => {
    const one = endpoint({ name: 'one' });
    const server = serverWith([one])
      .on('POST', 'endpoints/plan', {
        body: { plans: [{ name: 'one', region: 'us-east-1', schedules: [], config: 'one', models: ['one'], artifacts: [], kept: [], errors: [] }] }
      })
      .on('POST', 'endpoints/delete', { body: { results: [{ region: 'us-east-1', name: 'one', ok: true, deleted: ['one'], errors: [] }] } });
    const panel = new SageMakerPanel(nullTranslator, undefined, undefined, server.settings);
    Widget.attach(panel, document.body);
    await waitFor(() => !!panel.node.querySelector('.sm-magics-row[data-name="one"]'), 'the listing');
    expect(server.sent('GET', 'endpoints')).toHaveLength(1); // shown: listed at once
    row(panel.node, 'one').querySelector<HTMLButtonElement>('.sm-magics-delete')!.click();
    await waitFor(() => text(document.querySelector('.jp-Dialog-header')) !== '', 'the confirmation');
    const dialog = document.querySelector('.jp-Dialog');
    expect(text(dialog?.querySelector('.jp-Dialog-header') ?? null)).toBe('Delete 1 endpoint?');
    expect(text(dialog?.querySelector('.sm-magics-confirm-parts') ?? null)).toContain('endpoint config one');
    expect(server.sent('POST', 'endpoints/delete')).toHaveLength(0);
    server.on('GET', 'endpoints', { body: endpointList([]) });
    dialog!.querySelector<HTMLButtonElement>('.jp-mod-accept')!.click();
    await waitFor(() => !panel.node.querySelector('.sm-magics-row[data-name="one"]'), 'the row to go');
    expect(server.sent('POST', 'endpoints/delete')[0].body).toEqual({
      endpoints: [{ region: 'us-east-1', name: 'one' }],
      delete_artifacts: false
    });
    expect(panel.node.querySelector('.sm-magics-row[data-name="one"]')).toBeNull();
    expect(text(panel.node.querySelector('.sm-magics-empty'))).toBe('No live endpoints.');
    panel.dispose();
  });

  it('deletes nothing when the user cancels', async () => {
    const server = serverWith([endpoint({ name: 'one' })]).on('POST', 'endpoints/plan', {
      body: { plans: [{ name: 'one', region: 'us-east-1', schedules: [], config: 'one', models: [], artifacts: [], kept: [], errors: [] }] }
    });
    const panel = new SageMakerPanel(nullTranslator, undefined, undefined, server.settings);
    Widget.attach(panel, document.body);
    await waitFor(() => !!panel.node.querySelector('.sm-magics-row[data-name="one"]'), 'the listing');
    row(panel.node, 'one').querySelector<HTMLButtonElement>('.sm-magics-delete')!.click();
    await waitFor(() => !!document.querySelector('.jp-Dialog .jp-mod-reject'), 'the confirmation');
    document.querySelector<HTMLButtonElement>('.jp-Dialog .jp-mod-reject')!.click();
    await waitFor(() => panel.model.deleteFlow === null, 'the flow to close');
    await settle();
    expect(server.sent('POST', 'endpoints/delete')).toHaveLength(0);
    expect(row(panel.node, 'one').dataset.status).toBe('InService');
    panel.dispose();
  });
});
