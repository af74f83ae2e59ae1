"""``SMMagicsPanel``: what the server extension lists, set in jupyter_server_config.py or on the command line.

``jupyter lab --SMMagicsPanel.regions=us-east-1,eu-west-1`` or, in
``jupyter_server_config.py``, ``c.SMMagicsPanel.backend = "aws"``. The backend
choice is the magics' own (``auto`` picks AWS when credentials resolve and
the local engine otherwise; ``$SM_MAGICS_BACKEND`` overrides ``auto``).
"""

from __future__ import annotations

from traitlets import Unicode
from traitlets.config import Configurable


class SMMagicsPanel(Configurable):
    backend = Unicode("auto", help="local, aws or auto (as %sm_backend; $SM_MAGICS_BACKEND overrides auto)").tag(config=True)
    profile = Unicode("", help="AWS profile (AWS backend); empty: the default credential chain").tag(config=True)
    region = Unicode("", help="home region; empty: the profile's or us-east-1 locally").tag(config=True)
    regions = Unicode(
        "all", help="regions the panel lists: 'all' (every region the account has enabled) or a comma-separated list"
    ).tag(config=True)
