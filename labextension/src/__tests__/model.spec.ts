/**
 * The panel model against a fake Jupyter server: what it asks, what it keeps,
 * when it polls, and how it walks a delete.
 */
import { PanelModel } from '../model';
import {
  endpoint,
  endpointList,
  FakeServer,
  job,
  jobList,
  serverWith,
  settle,
  TOKEN
} from './fake-server';

function modelOf(server: FakeServer, options: Partial<PanelModel.IOptions> = {}): PanelModel {
  return new PanelModel({ serverSettings: server.settings, ...options });
}

/** Fake timers for the poll; promises and Node's stream plumbing keep running. */
function fakeTimers(): void {
  jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
}

function setPageHidden(hidden: boolean): void {
  Object.defineProperty(document, 'visibilityState', {
    configurable: true,
    get: () => (hidden ? 'hidden' : 'visible')
  });
  Object.defineProperty(document, 'hidden', { configurable: true, get: () => hidden });
  document.dispatchEvent(new Event('visibilitychange'));
}

let models: PanelModel[] = [];
function track(model: PanelModel): PanelModel {
  models.push(model);
  return model;
}

afterEach(() => {
  models.forEach(m => m.dispose());
  models = [];
  setPageHidden(false);
  jest.useRealTimers();
});

describe('listing', () => {
  it('lists endpoints and jobs of the configured regions with the server token', async () => {
    const server = serverWith([endpoint()], [job()]);
    const model = track(modelOf(server, { settings: { regions: 'us-east-1,eu-west-1', refreshSeconds: 30 } }));
    let changes = 0;
    model.changed.connect(() => changes++);
    const loading = model.refresh();
    expect(model.loading).toBe(true);
    await loading;
    expect(model.loading).toBe(false);
    expect(changes).toBeGreaterThanOrEqual(2); // loading shows, then the answer
    expect(server.requests.map(r => [r.method, r.path, r.query.regions])).toEqual([
      ['GET', 'endpoints', 'us-east-1,eu-west-1'],
      ['GET', 'jobs', 'us-east-1,eu-west-1']
    ]);
    expect(server.requests.every(r => r.authorization === `token ${TOKEN}`)).toBe(true);
    expect(model.endpoints?.endpoints.map(e => e.name)).toEqual(['ep-one']);
    expect(model.jobs?.jobs.map(j => j.name)).toEqual(['job-one']);
    expect(model.loadedOnce).toBe(true);
    expect(model.listError).toBeNull();
    expect(model.jobsError).toBeNull();
  });

  it('asks for the server default regions when none are configured', async () => {
    const server = serverWith([]);
    await track(modelOf(server)).refresh();
    expect(server.requests.map(r => r.query)).toEqual([{}, {}]);
  });

  it('waits for the settings before the first listing', async () => {
    const server = serverWith([]);
    let ready!: () => void;
    const settingsReady = new Promise<void>(resolve => (ready = resolve));
    const model = track(modelOf(server, { settingsReady }));
    const loading = model.refresh();
    await settle();
    expect(server.requests).toHaveLength(0);
    model.configure({ regions: 'all' });
    ready();
    await loading;
    expect(server.requests.map(r => r.query.regions)).toEqual(['all', 'all']);
  });

  it('still lists when the settings cannot be loaded', async () => {
    const server = serverWith([endpoint()]);
    const model = track(modelOf(server, { settingsReady: Promise.reject(new Error('no registry')) }));
    await model.refresh();
    expect(model.endpoints?.endpoints).toHaveLength(1);
  });

  it('shares one request between concurrent refreshes and runs once more after a call made meanwhile', async () => {
    const server = serverWith([endpoint()]);
    const release = server.hold('GET', 'endpoints');
    const model = track(modelOf(server));
    const first = model.refresh();
    const second = model.refresh();
    expect(second).toBe(first);
    await settle();
    expect(server.sent('GET', 'endpoints')).toHaveLength(1);
    release();
    await first;
    await settle();
    expect(server.sent('GET', 'endpoints')).toHaveLength(2);
  });

  it('says the server extension is missing when the API answers 404', async () => {
    const server = new FakeServer(); // no routes: every request is a 404
    const model = track(modelOf(server));
    await model.refresh();
    expect(model.listError).toMatch(/server extension is not enabled/);
    expect(model.jobsError).toMatch(/jupyter server extension enable sm_magics/);
    expect(model.endpoints).toBeNull();
    expect(model.loadedOnce).toBe(true);
  });

  it("keeps the server's message of a failed listing and lists jobs anyway", async () => {
    const server = new FakeServer()
      .on('GET', 'endpoints', { status: 403, body: { message: 'AccessDenied: not allowed to ListEndpoints' } })
      .on('GET', 'jobs', { body: jobList([job()]) });
    const model = track(modelOf(server));
    await model.refresh();
    expect(model.listError).toBe('AccessDenied: not allowed to ListEndpoints');
    expect(model.jobs?.jobs).toHaveLength(1);
    expect(model.jobsError).toBeNull();
  });

  it('keeps the last listing when a refresh fails, and clears the error when one succeeds', async () => {
    const server = serverWith([endpoint()]);
    const model = track(modelOf(server));
    await model.refresh();
    server.unreachable('GET', 'endpoints');
    await model.refresh();
    expect(model.listError).toMatch(/Failed to fetch/);
    expect(model.endpoints?.endpoints.map(e => e.name)).toEqual(['ep-one']);
    server.on('GET', 'endpoints', { body: endpointList([]) });
    await model.refresh();
    expect(model.listError).toBeNull();
    expect(model.endpoints?.endpoints).toEqual([]);
  });

  it('reads a plain-text error answer as the message', async () => {
    const server = serverWith([]).on('GET', 'jobs', { status: 502, text: 'Bad gateway: the proxy gave up' });
    const model = track(modelOf(server));
    await model.refresh();
    expect(model.jobsError).toBe('Bad gateway: the proxy gave up');
  });

  it('sums the burn rate and merges region errors of endpoints and jobs', async () => {
    const apSouth = { region: 'ap-south-1', message: 'AccessDenied' };
    const server = new FakeServer()
      .on('GET', 'endpoints', {
        body: endpointList([endpoint({ usd_per_hour: 0.5 }), endpoint({ name: 'b', usd_per_hour: null })], {
          usd_per_hour: null,
          region_errors: [apSouth]
        })
      })
      .on('GET', 'jobs', { body: jobList([], { region_errors: [apSouth, { region: 'sa-east-1', message: 'timeout' }] }) });
    const model = track(modelOf(server));
    await model.refresh();
    expect(model.burnRate()).toBeCloseTo(0.5);
    expect(model.regionErrors().map(e => e.region)).toEqual(['ap-south-1', 'sa-east-1']);
  });
});

describe('polling', () => {
  it('refreshes every refreshSeconds while shown', async () => {
    fakeTimers();
    const server = serverWith([]);
    const model = track(modelOf(server, { settings: { regions: '', refreshSeconds: 10 } }));
    model.setVisible(true); // shown with nothing loaded: lists at once
    await jest.advanceTimersByTimeAsync(0);
    expect(server.sent('GET', 'endpoints')).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(9_000);
    expect(server.sent('GET', 'endpoints')).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1_500);
    expect(server.sent('GET', 'endpoints')).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(server.sent('GET', 'endpoints')).toHaveLength(3);
  });

  it('never polls faster than every 5 seconds', async () => {
    fakeTimers();
    const server = serverWith([]);
    const model = track(modelOf(server, { settings: { regions: '', refreshSeconds: 1 } }));
    model.setVisible(true);
    await jest.advanceTimersByTimeAsync(4_500);
    expect(server.sent('GET', 'endpoints')).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(server.sent('GET', 'endpoints')).toHaveLength(2);
  });

  it('stands by while the panel is hidden and catches up when shown again', async () => {
    fakeTimers();
    const server = serverWith([]);
    const model = track(modelOf(server, { settings: { regions: '', refreshSeconds: 10 } }));
    model.setVisible(true);
    await jest.advanceTimersByTimeAsync(0);
    model.setVisible(false);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(server.sent('GET', 'endpoints')).toHaveLength(1);
    expect(model.pollState.phase).toBe('standby');
    model.setVisible(true);
    await jest.advanceTimersByTimeAsync(0);
    expect(server.sent('GET', 'endpoints')).toHaveLength(2);
  });

  it('shown again before a refresh was missed, it does not ask again', async () => {
    fakeTimers();
    const server = serverWith([]);
    const model = track(modelOf(server, { settings: { regions: '', refreshSeconds: 10 } }));
    model.setVisible(true);
    await jest.advanceTimersByTimeAsync(0);
    model.setVisible(false);
    await jest.advanceTimersByTimeAsync(3_000);
    model.setVisible(true);
    await jest.advanceTimersByTimeAsync(0);
    expect(server.sent('GET', 'endpoints')).toHaveLength(1);
  });

  it('stands by while the browser tab is hidden and refreshes when it shows', async () => {
    fakeTimers();
    const server = serverWith([]);
    const model = track(modelOf(server, { settings: { regions: '', refreshSeconds: 10 } }));
    model.setVisible(true);
    await jest.advanceTimersByTimeAsync(0);
    setPageHidden(true);
    await jest.advanceTimersByTimeAsync(45_000);
    expect(server.sent('GET', 'endpoints')).toHaveLength(1);
    setPageHidden(false);
    await jest.advanceTimersByTimeAsync(0);
    expect(server.sent('GET', 'endpoints')).toHaveLength(2);
  });

  it('does not poll before it is shown, nor after it is disposed', async () => {
    fakeTimers();
    const server = serverWith([]);
    const model = modelOf(server, { settings: { regions: '', refreshSeconds: 5 } });
    await jest.advanceTimersByTimeAsync(60_000);
    expect(server.requests).toHaveLength(0);
    model.setVisible(true);
    await jest.advanceTimersByTimeAsync(0);
    model.dispose();
    await jest.advanceTimersByTimeAsync(60_000);
    expect(server.sent('GET', 'endpoints')).toHaveLength(1);
  });

  it('refreshes at once when the regions change, and polls at the new pace', async () => {
    fakeTimers();
    const server = serverWith([]);
    const model = track(modelOf(server, { settings: { regions: '', refreshSeconds: 30 } }));
    model.setVisible(true);
    await jest.advanceTimersByTimeAsync(0);
    model.configure({ regions: 'eu-west-1', refreshSeconds: 8 });
    await jest.advanceTimersByTimeAsync(0);
    expect(server.sent('GET', 'endpoints').map(r => r.query.regions)).toEqual([undefined, 'eu-west-1']);
    await jest.advanceTimersByTimeAsync(8_100);
    expect(server.sent('GET', 'endpoints')).toHaveLength(3);
  });
});

describe('the delete flow', () => {
  const one = endpoint({ name: 'ep-one' });
  const two = endpoint({ name: 'ep-two', region: 'eu-west-1' });
  const plan = (e: { name: string; region: string }, more = {}) => ({
    name: e.name,
    region: e.region,
    schedules: [],
    config: e.name,
    models: [e.name],
    artifacts: [],
    kept: [],
    errors: [],
    ...more
  });

  async function loaded(server: FakeServer): Promise<PanelModel> {
    const model = track(modelOf(server));
    await model.refresh();
    return model;
  }

  it('plans, waits for the confirmation, deletes, then lists again', async () => {
    const server = serverWith([one, two])
      .on('POST', 'endpoints/plan', req => ({
        body: { plans: (req.body as any).endpoints.map((e: any) => plan(e)) }
      }))
      .on('POST', 'endpoints/delete', req => ({
        body: { results: (req.body as any).endpoints.map((e: any) => ({ ...e, ok: true, deleted: [e.name], errors: [] })) }
      }));
    const model = await loaded(server);
    const phases: Array<string | null> = [];
    model.deleteFlowChanged.connect((_, flow) => phases.push(flow?.phase ?? null));
    model.select([one, two], true);
    expect(model.selectedEndpoints().map(e => e.name)).toEqual(['ep-one', 'ep-two']);

    await model.startDelete(model.selectedEndpoints());
    expect(phases).toEqual(['planning', 'confirming']);
    const flow = model.deleteFlow;
    expect(flow?.phase === 'confirming' && flow.plans.map(p => p.name)).toEqual(['ep-one', 'ep-two']);
    expect(server.sent('POST', 'endpoints/plan')[0].body).toEqual({
      endpoints: [
        { region: 'us-east-1', name: 'ep-one' },
        { region: 'eu-west-1', name: 'ep-two' }
      ],
      delete_artifacts: true
    });
    expect(server.sent('POST', 'endpoints/delete')).toHaveLength(0); // nothing goes before the user says so

    server.on('GET', 'endpoints', { body: endpointList([]) });
    const release = server.hold('POST', 'endpoints/delete');
    const deleting = model.confirmDelete(true);
    expect(model.rowState(one).phase).toBe('deleting');
    expect(model.deletable(one)).toBe(false);
    expect(model.selectedEndpoints()).toEqual([]);
    expect(phases).toEqual(['planning', 'confirming', null]);
    release();
    await deleting;
    expect(server.sent('POST', 'endpoints/delete')[0].body).toEqual({
      endpoints: [
        { region: 'us-east-1', name: 'ep-one' },
        { region: 'eu-west-1', name: 'ep-two' }
      ],
      delete_artifacts: true
    });
    expect(server.sent('GET', 'endpoints')).toHaveLength(2); // listed again after the delete
    expect(model.visibleEndpoints()).toEqual([]);
  });

  it('asks to keep the S3 artifacts when the user leaves the box unchecked', async () => {
    const server = serverWith([one])
      .on('POST', 'endpoints/plan', { body: { plans: [plan(one, { artifacts: ['s3://b/model.tar.gz'] })] } })
      .on('POST', 'endpoints/delete', { body: { results: [{ ...one, ok: true, deleted: [], errors: [] }] } });
    const model = await loaded(server);
    await model.startDelete([one]);
    await model.confirmDelete(false);
    expect((server.sent('POST', 'endpoints/delete')[0].body as any).delete_artifacts).toBe(false);
  });

  it('deletes nothing when cancelled', async () => {
    const server = serverWith([one]).on('POST', 'endpoints/plan', { body: { plans: [plan(one)] } });
    const model = await loaded(server);
    model.select([one], true);
    await model.startDelete([one]);
    model.cancelDelete();
    expect(model.deleteFlow).toBeNull();
    await model.confirmDelete(true); // no flow open: nothing to confirm
    expect(server.sent('POST', 'endpoints/delete')).toHaveLength(0);
    expect(model.isSelected(one)).toBe(true);
    expect(model.rowState(one)).toEqual({});
  });

  it('puts a failed plan on the rows and closes the flow', async () => {
    const server = serverWith([one]).on('POST', 'endpoints/plan', { status: 403, body: { message: 'not allowed to plan' } });
    const model = await loaded(server);
    await model.startDelete([one]);
    expect(model.deleteFlow).toBeNull();
    expect(model.rowState(one).error).toBe('not allowed to plan');
  });

  it('opens one flow at a time', async () => {
    const server = serverWith([one, two]).on('POST', 'endpoints/plan', { body: { plans: [plan(one)] } });
    const model = await loaded(server);
    await model.startDelete([one]);
    await model.startDelete([two]);
    expect(server.sent('POST', 'endpoints/plan')).toHaveLength(1);
    expect(model.deleteFlow?.endpoints.map(e => e.name)).toEqual(['ep-one']);
  });

  it('keeps a failed delete readable on a ghost row until dismissed', async () => {
    const server = serverWith([one, two])
      .on('POST', 'endpoints/plan', { body: { plans: [plan(one), plan(two)] } })
      .on('POST', 'endpoints/delete', {
        body: {
          results: [
            { ...one, ok: false, deleted: ['ep-one'], errors: ['DeleteModel: AccessDenied'] },
            { ...two, ok: true, deleted: ['ep-two'], errors: [] }
          ]
        }
      });
    const model = await loaded(server);
    await model.startDelete([one, two]);
    server.on('GET', 'endpoints', { body: endpointList([]) }); // the endpoint itself went; its model did not
    await model.confirmDelete(false);
    expect(model.visibleEndpoints().map(e => e.name)).toEqual(['ep-one']);
    expect(model.isGhost(one)).toBe(true);
    expect(model.deletable(one)).toBe(false);
    expect(model.rowState(one).error).toBe('DeleteModel: AccessDenied');
    await model.refresh(); // an automatic refresh keeps it
    expect(model.visibleEndpoints().map(e => e.name)).toEqual(['ep-one']);
    model.dismiss(one);
    expect(model.visibleEndpoints()).toEqual([]);
  });

  it('drops ghost rows on a manual refresh', async () => {
    const server = serverWith([one])
      .on('POST', 'endpoints/plan', { body: { plans: [plan(one)] } })
      .on('POST', 'endpoints/delete', { status: 500, body: { message: 'the server broke' } });
    const model = await loaded(server);
    await model.startDelete([one]);
    server.on('GET', 'endpoints', { body: endpointList([]) });
    await model.confirmDelete(false);
    expect(model.rowState(one).error).toBe('the server broke');
    expect(model.isGhost(one)).toBe(true);
    await model.manualRefresh();
    expect(model.visibleEndpoints()).toEqual([]);
  });

  it('says so when the server does not answer for an endpoint', async () => {
    const server = serverWith([one])
      .on('POST', 'endpoints/plan', { body: { plans: [plan(one)] } })
      .on('POST', 'endpoints/delete', { body: { results: [] } });
    const model = await loaded(server);
    await model.startDelete([one]);
    await model.confirmDelete(false);
    expect(model.rowState(one).error).toBe('The server did not answer for this endpoint.');
    expect(model.rowState(one).phase).toBeUndefined();
  });

  it('cannot select an endpoint that is being deleted already', async () => {
    const server = serverWith([endpoint({ status: 'Deleting' })]);
    const model = await loaded(server);
    model.select(model.visibleEndpoints(), true);
    expect(model.selectedEndpoints()).toEqual([]);
  });

  it('forgets the selection of endpoints no longer listed', async () => {
    const server = serverWith([one, two]);
    const model = await loaded(server);
    model.select([one, two], true);
    server.on('GET', 'endpoints', { body: endpointList([two]) });
    await model.refresh();
    expect(model.isSelected(one)).toBe(false);
    expect(model.isSelected(two)).toBe(true);
  });
});

describe('TTL and jobs', () => {
  it('extends the TTL by an hour and shows the new expiry at once', async () => {
    const e = endpoint();
    const server = serverWith([e]).on('PUT', 'endpoints/us-east-1/ep-one/ttl', {
      body: { name: 'ep-one', region: 'us-east-1', expires_at: '2026-12-06T14:05:00+00:00', ttl_seconds_left: 3600, schedule: null }
    });
    const model = track(modelOf(server));
    await model.refresh();
    const release = server.hold('PUT', 'endpoints/us-east-1/ep-one/ttl');
    const changing = model.changeTtl(model.visibleEndpoints()[0], true);
    expect(model.rowState(e).ttlBusy).toBe(true);
    release();
    await changing;
    expect(server.sent('PUT', 'endpoints/us-east-1/ep-one/ttl')[0].body).toEqual({ extend_minutes: 60 });
    expect(model.rowState(e).ttlBusy).toBe(false);
    expect(model.visibleEndpoints()[0].ttl_seconds_left).toBe(3600);
    expect(model.visibleEndpoints()[0].expires_at).toBe('2026-12-06T14:05:00+00:00');
  });

  it('clears the TTL, and shows a refused change on the row', async () => {
    const e = endpoint({ expires_at: '2026-12-06T14:05:00+00:00', ttl_seconds_left: 600 });
    const server = serverWith([e]).on('PUT', 'endpoints/us-east-1/ep-one/ttl', {
      status: 400, body: { message: 'no endpoint ep-one in us-east-1' }
    });
    const model = track(modelOf(server));
    await model.refresh();
    await model.changeTtl(e, false);
    expect(server.sent('PUT', 'endpoints/us-east-1/ep-one/ttl')[0].body).toEqual({ expires_at: null });
    expect(model.rowState(e).error).toBe('no endpoint ep-one in us-east-1');
    expect(model.visibleEndpoints()[0].ttl_seconds_left).toBe(600);
  });

  it('stops a job: Stopping at once, then the listing', async () => {
    const j = job();
    const server = serverWith([], [j]).on('POST', 'jobs/us-east-1/training/job-one/stop', {
      body: { name: 'job-one', region: 'us-east-1', kind: 'training', status: 'Stopping' }
    });
    const model = track(modelOf(server));
    await model.refresh();
    const release = server.hold('POST', 'jobs/us-east-1/training/job-one/stop');
    const stopping = model.stopJob(j);
    expect(model.jobState(j).stopping).toBe(true);
    server.on('GET', 'jobs', { body: jobList([]) });
    release();
    await stopping;
    expect(server.sent('POST', 'jobs/us-east-1/training/job-one/stop')).toHaveLength(1);
    expect(server.sent('GET', 'jobs')).toHaveLength(2);
    expect(model.jobs?.jobs).toEqual([]);
  });

  it('shows a refused stop on the job', async () => {
    const j = job({ kind: 'tuning', name: 'hpo-1' });
    const server = serverWith([], [j]).on('POST', 'jobs/us-east-1/tuning/hpo-1/stop', {
      status: 400, body: { message: 'the job is not running' }
    });
    const model = track(modelOf(server));
    await model.refresh();
    await model.stopJob(j);
    expect(model.jobState(j)).toEqual({ stopping: false, error: 'the job is not running' });
  });
});
