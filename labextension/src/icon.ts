import { LabIcon } from '@jupyterlab/ui-components';

/** A hexagon holding three connected nodes: a hosted model. Themed through `jp-icon3`. */
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 1.5l9.1 5.25v10.5L12 22.5l-9.1-5.25V6.75L12 1.5zm0 2.31L4.9 7.9v8.2l7.1 4.09 7.1-4.09V7.9L12 3.81z"/>
    <circle cx="12" cy="8" r="1.9"/>
    <circle cx="8.2" cy="14.6" r="1.9"/>
    <circle cx="15.8" cy="14.6" r="1.9"/>
    <path d="M11.45 8.7l1.03.6-3.3 5.6-1.03-.6zM12.55 8.7l3.3 5.6-1.03.6-3.3-5.6zM9.4 14h5.2v1.2H9.4z"/>
  </g>
</svg>`;

export const sagemakerIcon = new LabIcon({ name: 'sm-magics:sagemaker', svgstr });
