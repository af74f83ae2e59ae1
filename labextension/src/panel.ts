/**
 * The left-sidebar panel: the widget that ties the model to its views.
 *
 * It owns a `PanelModel`, redraws the views whenever the model changes
 * (keeping the focused control and the scroll position, since the DOM is
 * rebuilt), tells the model when it is shown or hidden so that the refresh
 * poll stands by, and asks the user to confirm when a delete plan is ready.
 */
import { ServerConnection } from '@jupyterlab/services';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { confirmDelete } from './confirm';
import { renderEndpoints } from './endpoints-view';
import { Money } from './format';
import { sagemakerIcon } from './icon';
import { renderJobs } from './jobs-view';
import {
  DEFAULT_SETTINGS,
  DeleteFlow,
  IPanelSettings,
  PanelModel
} from './model';
import { panelCaption, renderHeader, renderSummary } from './summary-view';
import { IViewContext } from './view-common';

export { DEFAULT_SETTINGS, IPanelSettings } from './model';

export class SageMakerPanel extends Widget {
  /**
   * @param settingsReady - the first listing waits for it (settings loading),
   *   so that it asks for the configured regions.
   * @param serverSettings - the Jupyter server to ask; the page's own when left out.
   */
  constructor(
    translator: ITranslator,
    settings: IPanelSettings = DEFAULT_SETTINGS,
    settingsReady: Promise<unknown> = Promise.resolve(),
    serverSettings?: ServerConnection.ISettings
  ) {
    super();
    this._trans = translator.load('sm_magics');
    this._model = new PanelModel({
      trans: this._trans,
      settings,
      settingsReady,
      serverSettings
    });
    this._ctx = {
      model: this._model,
      trans: this._trans,
      money: new Money(translator.languageCode ?? 'en')
    };
    this._model.changed.connect(this._render, this);
    this._model.deleteFlowChanged.connect(this._onDeleteFlow, this);
    this.id = 'sm-magics-panel';
    this.addClass('sm-magics-panel');
    this.title.icon = sagemakerIcon;
    this.title.caption = this._trans.__('SageMaker');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', this._trans.__('SageMaker'));
    this._render();
  }

  /** What the panel shows and does. */
  get model(): PanelModel {
    return this._model;
  }

  /** The settings in force. */
  get settings(): IPanelSettings {
    return this._model.settings;
  }

  /** Applies new settings; a change of regions refreshes at once. */
  configure(settings: Partial<IPanelSettings>): void {
    this._model.configure(settings);
  }

  /** Lists endpoints and jobs again (see `PanelModel.refresh`). */
  refresh(): Promise<void> {
    return this._model.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._model.setVisible(true);
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._model.setVisible(false);
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._model.setVisible(this.isVisible);
  }

  protected onBeforeDetach(msg: Message): void {
    this._model.setVisible(false);
    super.onBeforeDetach(msg);
  }

  /** A delete plan is ready: ask, then go on or cancel. */
  private _onDeleteFlow(_: PanelModel, flow: DeleteFlow | null): void {
    if (flow?.phase !== 'confirming') {
      return;
    }
    void confirmDelete(flow.plans, this._trans).then(answer => {
      if (answer && !this.isDisposed) {
        void this._model.confirmDelete(answer.deleteArtifacts);
      } else {
        this._model.cancelDelete();
      }
    });
  }

  private _render(): void {
    if (this.isDisposed) {
      return;
    }
    const root = this.node;
    const focus = this._focusedControl();
    const scrollTop = root.scrollTop;
    root.replaceChildren(
      renderHeader(this._ctx),
      renderSummary(this._ctx),
      renderEndpoints(this._ctx),
      renderJobs(this._ctx)
    );
    root.scrollTop = scrollTop;
    this._restoreFocus(focus);
    const caption = panelCaption(this._ctx);
    if (caption !== null) {
      this.title.caption = caption;
    }
  }

  /**
   * The focused control as a selector that finds it again after a render
   * (the DOM is rebuilt each time): its row's name and region, its class.
   */
  private _focusedControl(): string | null {
    const active = document.activeElement;
    if (!(active instanceof HTMLElement) || !this.node.contains(active)) {
      return null;
    }
    const control = Array.from(active.classList).find(
      c => c.startsWith('sm-magics-') && c !== 'sm-magics-button' && c !== 'sm-magics-link'
    );
    if (!control) {
      return null;
    }
    const row = active.closest<HTMLElement>('.sm-magics-row');
    const rowPart = row
      ? `.sm-magics-row[data-name="${CSS.escape(row.dataset.name ?? '')}"]` +
        `[data-region="${CSS.escape(row.dataset.region ?? '')}"] `
      : '';
    return `${rowPart}.${CSS.escape(control)}`;
  }

  private _restoreFocus(selector: string | null): void {
    if (selector) {
      this.node.querySelector<HTMLElement>(selector)?.focus();
    }
  }

  private _trans: TranslationBundle;
  private _model: PanelModel;
  private _ctx: IViewContext;
}
