/**
 * sm-magics: the SageMaker sidebar panel for JupyterLab 4.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { sagemakerIcon } from './icon';
import { DEFAULT_SETTINGS, IPanelSettings, SageMakerPanel } from './panel';
import { widgetFallbackPlugin } from './widgetfallback';

const PLUGIN_ID = 'sm-magics:plugin';

export namespace CommandIDs {
  export const openPanel = 'sm-magics:open-panel';
}

function readSettings(settings: ISettingRegistry.ISettings): IPanelSettings {
  const regions = settings.get('regions').composite;
  const refreshSeconds = settings.get('refreshSeconds').composite;
  return {
    regions: typeof regions === 'string' ? regions : DEFAULT_SETTINGS.regions,
    refreshSeconds:
      typeof refreshSeconds === 'number' && refreshSeconds > 0
        ? refreshSeconds
        : DEFAULT_SETTINGS.refreshSeconds
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'A sidebar panel listing live SageMaker endpoints and running jobs, with their cost.',
  autoStart: true,
  optional: [ILayoutRestorer, ICommandPalette, ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('sm_magics');

    const settingsLoaded = settingRegistry
      ? settingRegistry.load(PLUGIN_ID)
      : Promise.reject(new Error('no setting registry'));
    const panel = new SageMakerPanel(translator, DEFAULT_SETTINGS, settingsLoaded);
    app.shell.add(panel, 'left', { rank: 950, type: 'SageMaker' });
    if (restorer) {
      restorer.add(panel, 'sm-magics-panel');
    }

    app.commands.addCommand(CommandIDs.openPanel, {
      label: trans.__('Show SageMaker endpoints'),
      caption: trans.__('Open the SageMaker panel: live endpoints, their cost, running jobs'),
      icon: args => (args['isPalette'] ? undefined : sagemakerIcon),
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    if (palette) {
      palette.addItem({
        command: CommandIDs.openPanel,
        category: trans.__('SageMaker')
      });
    }

    settingsLoaded
      .then(settings => {
        panel.configure(readSettings(settings));
        settings.changed.connect(() => panel.configure(readSettings(settings)));
      })
      .catch(reason => {
        if (settingRegistry) {
          console.error('sm-magics: could not load the panel settings.', reason);
        }
      });
  }
};

export default [plugin, widgetFallbackPlugin];
