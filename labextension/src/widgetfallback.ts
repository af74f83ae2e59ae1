/**
 * Widget outputs that stay true when their model is gone.
 *
 * JupyterLab 4 + ipywidgets 8 render an output holding
 * `application/vnd.jupyter.widget-view+json` with ipywidgets' renderer (rank -10, ahead of
 * `text/html`) whenever the notebook is trusted and a kernel is attached; once the kernel's widgets
 * are restored, a model that is not there (a notebook saved, closed and reopened: widget state is
 * not saved by default) prints "Error displaying widget: model not found".
 *
 * sm_magics' widgets put a static rendering of their state in the same bundle (`text/html` or
 * `image/png`, and `text/plain`) and keep it in a synced trait, `static_bundle`. This plugin wraps
 * the widget-view renderer of every notebook:
 *
 * - the model exists: ipywidgets' live view, and each change of `static_bundle` is copied into the
 *   output's data, so that what JupyterLab saves is the last state;
 * - the model does not exist (or not yet: the kernel's widgets are being restored): the bundle's
 *   static rendering, replaced by the live view if the model turns up.
 *
 * Bundles without a static rendering (other libraries' widgets) keep ipywidgets' own behaviour.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import type { ISignal } from '@lumino/signaling';
import { Panel } from '@lumino/widgets';

const WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json';
/** The static mime types looked for in a widget's bundle, best first (text/plain alone is not one). */
const STATIC_TYPES = ['text/html', 'image/png', 'image/svg+xml'];

/** What this file uses of ipywidgets' WidgetManager (jupyterlab_widgets 3, @jupyter-widgets/base 6). */
interface IWidgetManager {
  has_model(id: string): boolean;
  get_model(id: string): Promise<IWidgetModel>;
  readonly restoredStatus: boolean;
  readonly restored: ISignal<unknown, void>;
}

/** The Backbone side of a widget model. */
interface IWidgetModel {
  get(name: string): unknown;
  on(event: string, callback: () => void, context?: unknown): void;
  off(event: string, callback?: () => void, context?: unknown): void;
}

function staticType(data: IRenderMime.IMimeModel['data']): string | undefined {
  return STATIC_TYPES.find(type => type in data);
}

/** ipywidgets' renderer holds its manager in a promise delegate; null if that is not so (another version). */
async function managerOf(renderer: IRenderMime.IRenderer): Promise<IWidgetManager | null> {
  const delegate = (renderer as unknown as { _manager?: { promise?: Promise<IWidgetManager> } })._manager;
  if (!delegate || !delegate.promise) {
    return null;
  }
  const manager = await delegate.promise;
  return manager && typeof manager.has_model === 'function' ? manager : null;
}

class FallbackRenderer extends Panel implements IRenderMime.IRenderer {
  constructor(
    private readonly _inner: IRenderMime.IRenderer,
    private readonly _rendermime: IRenderMimeRegistry
  ) {
    super();
    this.addClass('sm-magics-WidgetFallback');
    this.addWidget(_inner);
  }

  /**
   * Give the wrapped renderer its notebook's widget manager. ipywidgets does so itself for the
   * renderers it finds directly in output areas once the kernel is ready (outputs of a notebook
   * being opened are rendered before that); a wrapped one is not found there.
   */
  adopt(manager: IWidgetManager): void {
    if (!this._managerKnown && !this.isDisposed) {
      (this._inner as unknown as { manager: IWidgetManager }).manager = manager;
    }
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this._model = model;
    const view = model.data[WIDGET_VIEW] as { model_id?: string } | undefined;
    const id = (view && view.model_id) || '';
    const fallback = staticType(model.data);
    if (id && id === this._live) {
      return; // the live view shows it already (the output's data changed: our own copy, or an update)
    }
    const manager = fallback ? await managerOf(this._inner) : null;
    this._managerKnown = this._managerKnown || manager !== null;
    if (!fallback || !manager) {
      return this._inner.renderModel(model);
    }
    if (id && manager.has_model(id)) {
      return this._showLive(model, manager, id);
    }
    await this._showStatic(model, fallback);
    if (!manager.restoredStatus && id) {
      const onRestored = (): void => {
        manager.restored.disconnect(onRestored);
        if (!this.isDisposed && this._model === model && manager.has_model(id)) {
          void this._showLive(model, manager, id);
        }
      };
      manager.restored.connect(onRestored);
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._unwatch();
    super.dispose();
  }

  private async _showLive(model: IRenderMime.IMimeModel, manager: IWidgetManager, id: string): Promise<void> {
    this._live = id;
    if (this._static) {
      this._static.dispose();
      this._static = null;
    }
    this._inner.show();
    await this._inner.renderModel(model);
    let widgetModel: IWidgetModel;
    try {
      widgetModel = await manager.get_model(id);
    } catch {
      return;
    }
    this._unwatch();
    const copy = (): void => this._copy(widgetModel.get('static_bundle'));
    widgetModel.on('change:static_bundle', copy);
    this._watching = { model: widgetModel, callback: copy };
    copy();
  }

  private async _showStatic(model: IRenderMime.IMimeModel, mimeType: string): Promise<void> {
    this._inner.hide();
    if (this._static) {
      this._static.dispose();
    }
    this._static = this._rendermime.createRenderer(mimeType);
    this.addWidget(this._static);
    await this._static.renderModel(model);
  }

  /** The widget's latest static rendering into the output's data: what the notebook saves. */
  private _copy(bundle: unknown): void {
    const model = this._model;
    if (!model || !bundle || typeof bundle !== 'object') {
      return;
    }
    const entries = Object.entries(bundle as Record<string, unknown>).filter(([, value]) => typeof value === 'string');
    if (!entries.length || entries.every(([type, value]) => model.data[type] === value)) {
      return;
    }
    model.setData({ data: { ...model.data, ...Object.fromEntries(entries) } as IRenderMime.IMimeModel['data'] });
  }

  private _unwatch(): void {
    if (this._watching) {
      this._watching.model.off('change:static_bundle', this._watching.callback);
      this._watching = null;
    }
  }

  private _model: IRenderMime.IMimeModel | null = null;
  private _managerKnown = false;
  private _live = '';
  private _static: IRenderMime.IRenderer | null = null;
  private _watching: { model: IWidgetModel; callback: () => void } | null = null;
}

const wrapped = new WeakSet<IRenderMime.IRendererFactory>();
const patched = new WeakSet<IRenderMimeRegistry>();
/** The wrapped renderers of each notebook's rendermime, for `adopt`. */
const renderers = new WeakMap<IRenderMimeRegistry, Set<FallbackRenderer>>();

/** The manager of a widget-view factory ipywidgets registered for a notebook, to hand to earlier renderers. */
async function adoptAll(factory: IRenderMime.IRendererFactory, rendermime: IRenderMimeRegistry): Promise<void> {
  const probe = factory.createRenderer({ mimeType: WIDGET_VIEW } as IRenderMime.IRendererOptions);
  const manager = await managerOf(probe);
  probe.dispose();
  if (manager) {
    for (const renderer of renderers.get(rendermime) ?? []) {
      renderer.adopt(manager);
    }
  }
}

function wrap(factory: IRenderMime.IRendererFactory, rendermime: IRenderMimeRegistry): IRenderMime.IRendererFactory {
  if (wrapped.has(factory)) {
    return factory;
  }
  const outer: IRenderMime.IRendererFactory = {
    safe: factory.safe,
    mimeTypes: factory.mimeTypes,
    defaultRank: factory.defaultRank,
    createRenderer: options => {
      const renderer = new FallbackRenderer(factory.createRenderer(options), rendermime);
      const known = renderers.get(rendermime) ?? new Set<FallbackRenderer>();
      renderers.set(rendermime, known);
      known.add(renderer);
      renderer.disposed.connect(() => known.delete(renderer));
      return renderer;
    }
  };
  wrapped.add(outer);
  return outer;
}

/**
 * Wrap the widget-view factory of a notebook's rendermime, now and whenever one is added:
 * ipywidgets adds its own once the notebook's kernel is ready, after this runs.
 */
export function patchRendermime(rendermime: IRenderMimeRegistry): void {
  if (patched.has(rendermime)) {
    return;
  }
  patched.add(rendermime);
  const add = rendermime.addFactory.bind(rendermime);
  rendermime.addFactory = (factory: IRenderMime.IRendererFactory, rank?: number): void => {
    if (!factory.mimeTypes.includes(WIDGET_VIEW) || wrapped.has(factory)) {
      return add(factory, rank);
    }
    add(wrap(factory, rendermime), rank);
    void adoptAll(factory, rendermime); // ipywidgets' own, with the notebook's manager (the kernel is ready)
  };
  const existing = rendermime.getFactory(WIDGET_VIEW);
  if (existing && !wrapped.has(existing)) {
    const rank = rendermime.getRank(WIDGET_VIEW);
    rendermime.removeMimeType(WIDGET_VIEW);
    add(wrap(existing, rendermime), rank); // the application's (no manager yet)
  }
}

export const widgetFallbackPlugin: JupyterFrontEndPlugin<void> = {
  id: 'sm-magics:widget-fallback',
  description: 'Widget outputs show their saved static rendering when the widget model is gone.',
  autoStart: true,
  activate: (app: JupyterFrontEnd): void => {
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: (panel: unknown): void => {
        const rendermime = (panel as { content?: { rendermime?: IRenderMimeRegistry } }).content?.rendermime;
        if (rendermime) {
          patchRendermime(rendermime);
        }
      }
    });
  }
};
